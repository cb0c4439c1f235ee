"""Reconciliation of every sync run: nothing fetched may vanish on its way to the warehouse.

Two equations per run, at two grains:

* records: ``fetched = published + dead_lettered`` (reported by the pipeline per stream);
* events: ``events published = loaded + quarantined`` (one source record may yield several
  events; both sides count distinct event ids, and loaded/quarantined only count events whose
  row is really in history or quarantine, so a replay counts nothing twice and a receipt
  cannot hide a missing row).

A run is *complete* once the loader has consumed everything published for it: either the
caller says so (``consumer_lag=0`` from :func:`ecohub.loader.lag`), or the receipts already
cover every published event. An incomplete run is ``pending`` and never raises; a complete run
that does not balance is stored as ``unbalanced`` and raises :class:`ReconciliationError`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, case, exists, func, select

from ecohub.errors import ReconciliationError
from ecohub.warehouse.sqlutil import upsert
from ecohub.warehouse.tables import entity_version, load_receipts, quarantine, run_extracts, runs

__all__ = ["RunBalance", "extract_counts", "load_counts", "reconcile", "record_extract"]


@dataclass(frozen=True)
class RunBalance:
    """The counts of one run and the verdict on them."""

    run_id: str
    portal: str | None
    fetched: int
    published: int
    dead_lettered: int
    events: int
    loaded: int
    quarantined: int
    complete: bool

    @property
    def records_balance(self) -> bool:
        return self.fetched == self.published + self.dead_lettered

    @property
    def events_balance(self) -> bool:
        return self.events == self.loaded + self.quarantined

    @property
    def balanced(self) -> bool:
        return self.records_balance and self.events_balance

    @property
    def status(self) -> str:
        if not self.complete:
            return "pending"
        return "balanced" if self.balanced else "unbalanced"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status, "balanced": self.balanced}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def record_extract(
    engine: Engine | Connection,
    run_id: str,
    portal: str,
    stream: str,
    *,
    fetched: int,
    published: int,
    dead_lettered: int,
    events: int | None = None,
) -> None:
    """Store what a sync run extracted from one stream so far (idempotent per run and stream).

    ``events`` is the number of canonical events published (defaults to ``published`` when
    every record yields one event). Pass a ``Connection`` to write in the caller's transaction:
    the pipeline stores the counts of each page together with the cursor state that page
    moved, so a crash can neither count a page twice nor lose it.
    """
    row = {
        "run_id": run_id,
        "portal": portal,
        "stream": stream,
        "fetched": fetched,
        "published": published,
        "dead_lettered": dead_lettered,
        "events": published if events is None else events,
        "recorded_at": _now(),
    }
    if isinstance(engine, Connection):
        upsert(engine, run_extracts, [row], keys=["run_id", "stream"])
        return
    with engine.begin() as conn:
        upsert(conn, run_extracts, [row], keys=["run_id", "stream"])


def extract_counts(engine: Engine, run_id: str, stream: str) -> dict[str, int] | None:
    """The counts stored so far for (run, stream); a retried task continues from them."""
    c = run_extracts.c
    query = select(c.fetched, c.published, c.dead_lettered, c.events).where(
        (c.run_id == run_id) & (c.stream == stream)
    )
    with engine.connect() as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else dict(row._mapping)


def load_counts(engine: Engine, run_id: str) -> dict[str, int]:
    """Distinct events of one run that are *in* the warehouse: loaded or quarantined.

    Counted from the loader's receipts, one per event id however many copies of it the run
    delivered (a page re-published after a crash is one extraction, not two), and only when
    the row the receipt promises exists: "loaded" needs the event in history, "quarantined"
    a quarantine row for it. So a receipt can never stand in for a missing row, and an event
    the run sent once more with conflicting content still counts once (as loaded).
    Messages without an event id (unreadable bytes) count one each, by their coordinates.
    """
    c = load_receipts.c
    per_event = (
        select(
            c.event_id,
            func.max(case((c.outcome == "loaded", 1), else_=0)).label("loaded"),
        )
        .where((c.runid == run_id) & c.event_id.is_not(None))
        .group_by(c.event_id)
        .subquery()
    )
    in_history = exists().where(entity_version.c.event_id == per_event.c.event_id)
    in_quarantine = exists().where(quarantine.c.event_id == per_event.c.event_id)
    loaded = select(func.count()).where((per_event.c.loaded == 1) & in_history)
    quarantined = select(func.count()).where((per_event.c.loaded == 0) & in_quarantine)
    q = quarantine.c
    unreadable = select(func.count()).where(
        (c.runid == run_id)
        & c.event_id.is_(None)
        & exists().where(
            (q.topic == c.topic)
            & (q.kafka_partition == c.kafka_partition)
            & (q.kafka_offset == c.kafka_offset)
        )
    )
    with engine.connect() as conn:
        n_loaded = int(conn.execute(loaded).scalar_one())
        n_quarantined = int(conn.execute(quarantined).scalar_one())
        n_quarantined += int(conn.execute(unreadable).scalar_one())
    return {"loaded": n_loaded, "quarantined": n_quarantined}


def _extract_totals(engine: Engine, run_id: str) -> tuple[str | None, dict[str, int]]:
    c = run_extracts.c
    query = select(
        func.min(c.portal),
        func.coalesce(func.sum(c.fetched), 0),
        func.coalesce(func.sum(c.published), 0),
        func.coalesce(func.sum(c.dead_lettered), 0),
        func.coalesce(func.sum(c.events), 0),
        func.count(),
    ).where(c.run_id == run_id)
    with engine.connect() as conn:
        portal, fetched, published, dead, events, streams = conn.execute(query).one()
    if not streams:
        raise ReconciliationError("no extract counts recorded for this run", run_id=run_id)
    totals = {"fetched": fetched, "published": published, "dead_lettered": dead, "events": events}
    return portal, {k: int(v) for k, v in totals.items()}


def reconcile(engine: Engine, run_id: str, *, consumer_lag: int | None = None) -> RunBalance:
    """Check and store the balance of ``run_id``; raise if a complete run does not balance.

    Pass ``consumer_lag`` (messages not yet consumed on the entity topics) when known: 0 means
    the run is complete even if events are missing, which is exactly when loss must be loud.
    """
    portal, totals = _extract_totals(engine, run_id)
    loaded = load_counts(engine, run_id)
    consumed = loaded["loaded"] + loaded["quarantined"]
    complete = consumer_lag == 0 if consumer_lag is not None else consumed >= totals["events"]
    balance = RunBalance(run_id=run_id, portal=portal, complete=complete, **totals, **loaded)
    message = None if balance.balanced or not complete else _explain(balance)
    row = {
        "run_id": run_id,
        "portal": portal,
        "status": balance.status,
        **totals,
        **loaded,
        "message": message,
        "checked_at": _now(),
    }
    with engine.begin() as conn:
        upsert(conn, runs, [row], keys=["run_id"])
    if balance.status == "unbalanced":
        raise ReconciliationError(message or "run does not balance", **balance.as_dict())
    return balance


def _explain(b: RunBalance) -> str:
    parts = []
    if not b.records_balance:
        parts.append(
            f"fetched {b.fetched} != published {b.published} + dead-lettered {b.dead_lettered}"
        )
    if not b.events_balance:
        parts.append(f"events {b.events} != loaded {b.loaded} + quarantined {b.quarantined}")
    return "run does not balance: " + "; ".join(parts)
