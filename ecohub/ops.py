"""Operator commands built from the engine: the demo, ``status``, pending reconciliation and
entity resolution. The CLI and the DAGs call these; each returns an exit code or plain data.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import Engine, func, select

from ecohub import resolve as er
from ecohub.db import get_engine
from ecohub.doctor import check_kafka
from ecohub.errors import ReconciliationError
from ecohub.lineage import traced_reconcile
from ecohub.loader import consume
from ecohub.loader import lag as consumer_lag
from ecohub.pipeline import sync
from ecohub.settings import Settings
from ecohub.warehouse import init_db
from ecohub.warehouse.runs import reconcile
from ecohub.warehouse.tables import run_extracts, runs

__all__ = ["demo", "last_runs", "reconcile_pending", "resolve", "status", "unbalanced_runs"]

log = logging.getLogger(__name__)


def _engine(settings: Settings) -> Engine:
    engine = get_engine(settings.warehouse_url)
    init_db(engine)
    return engine


def _total_lag(settings: Settings, engine: Engine | None = None) -> int | None:
    """Messages on the entity topics not yet loaded; None when Kafka cannot be asked."""
    if not check_kafka(settings).ok:  # fail fast instead of the client's long retry loop
        return None
    try:
        return sum(consumer_lag(settings, engine=engine).values())
    except Exception as exc:  # status must still print what the warehouse knows
        log.warning("consumer lag unavailable: %s", exc)
        return None


@traced_reconcile
def reconcile_pending(settings: Settings) -> list[dict[str, Any]]:
    """Reconcile every run not yet judged balanced; raise if a complete run does not balance."""
    engine = _engine(settings)
    lag = _total_lag(settings, engine)
    done = select(runs.c.run_id).where(runs.c.status == "balanced")
    with engine.connect() as conn:
        pending = (
            conn.execute(
                select(run_extracts.c.run_id).where(run_extracts.c.run_id.not_in(done)).distinct()
            )
            .scalars()
            .all()
        )
    verdicts, failures = [], []
    for run_id in sorted(pending):
        try:
            verdicts.append(reconcile(engine, run_id, consumer_lag=lag).as_dict())
        except ReconciliationError as exc:
            failures.append(str(exc))
    if failures:
        raise ReconciliationError(f"{len(failures)} run(s) do not balance", runs=failures)
    return verdicts


def last_runs(settings: Settings, *, engine: Engine | None = None) -> list[dict[str, Any]]:
    """The newest run of every (portal, stream) with its counts and reconciliation verdict
    (``engine``: the migrated warehouse, when the caller has built it)."""
    engine = engine or _engine(settings)
    e = run_extracts.c
    newest = (
        select(e.portal, e.stream, func.max(e.recorded_at).label("at"))
        .group_by(e.portal, e.stream)
        .subquery()
    )
    query = (
        select(
            e.portal,
            e.stream,
            e.run_id,
            e.fetched,
            e.published,
            e.dead_lettered,
            e.events,
            e.recorded_at,
            runs.c.status,
            runs.c.loaded,
            runs.c.quarantined,
        )
        .join(
            newest,
            (e.portal == newest.c.portal)
            & (e.stream == newest.c.stream)
            & (e.recorded_at == newest.c.at),
        )
        .outerjoin(runs, runs.c.run_id == e.run_id)
        .order_by(e.portal, e.stream)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def unbalanced_runs(settings: Settings, *, engine: Engine | None = None) -> list[dict[str, Any]]:
    """Every run whose last reconciliation did not balance, oldest first, whatever came after:
    a newer run of the same stream balancing does not bring back what an older one lost."""
    engine = engine or _engine(settings)
    r = runs.c
    query = (
        select(r.run_id, r.portal, r.events, r.loaded, r.quarantined, r.message, r.checked_at)
        .where(r.status == "unbalanced")
        .order_by(r.checked_at, r.run_id)
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def status(settings: Settings, *, as_json: bool = False) -> int:
    """Print the last run per portal and stream and every unbalanced run; exit 1 when any run
    does not balance (the newest or an older one)."""
    engine = _engine(settings)  # once for both queries
    rows = last_runs(settings, engine=engine)
    unbalanced = unbalanced_runs(settings, engine=engine)
    lag = _total_lag(settings, engine)
    if as_json:
        print(
            json.dumps(
                {"runs": rows, "unbalanced_runs": unbalanced, "consumer_lag": lag},
                default=str,
                ensure_ascii=False,
            )
        )
    else:
        header = ("portal", "stream", "run", "fetched", "published", "dead", "events", "status")
        print("  ".join(f"{h:>10}" if i > 2 else f"{h:<22}" for i, h in enumerate(header)))
        for r in rows:
            cells = (
                r["portal"],
                r["stream"],
                r["run_id"][-22:],
                r["fetched"],
                r["published"],
                r["dead_lettered"],
                r["events"],
                r["status"] or "pending",
            )
            print("  ".join(f"{c!s:>10}" if i > 2 else f"{c!s:<22}" for i, c in enumerate(cells)))
        print(f"consumer lag: {'unknown' if lag is None else lag}")
        for run in unbalanced:
            print(f"UNBALANCED run {run['run_id']}: {run['message']}")
        if not rows:
            print("no runs yet: `ecohub sync <portal>` then `ecohub consume`")
    return 1 if unbalanced or any(r["status"] == "unbalanced" for r in rows) else 0


def resolve(settings: Settings) -> int:
    """Run entity resolution and print its summary (scoring against simulator truth is
    ``python -m bench.resolution``, outside the runtime package)."""
    engine = _engine(settings)
    summary = er.resolve(engine)
    print(json.dumps(_plain(summary), ensure_ascii=False, default=str))
    return 0


def _plain(obj: Any) -> Any:
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    return obj


def demo(settings: Settings, start_simulator: Callable[[], Any]) -> int:
    """Techport end to end against its simulator; prints per-stage counts that must balance.

    ``start_simulator()`` returns a context manager serving Techport at ``.url``; the CLI
    passes the development simulator (``simulators.start``), which the runtime never imports."""
    with start_simulator() as server:
        portals = dict(settings.portals)
        portals["techport"] = portals["techport"].model_copy(update={"base_url": server.url})
        settings = settings.model_copy(update={"portals": portals})
        reports = sync("techport", settings=settings)
    run_id = reports[0].run_id
    stats = consume(settings, idle_timeout_s=5.0)
    engine = _engine(settings)
    balance = reconcile(engine, run_id, consumer_lag=_total_lag(settings, engine))
    _print_demo(reports, stats, balance)
    return 0 if balance.balanced else 1


def _print_demo(reports: list[Any], stats: Any, balance: Any) -> None:
    print(f"\necohub demo: Techport, run {balance.run_id}\n")
    print(f"{'stream':<26}{'fetched':>9}{'published':>11}{'dead-letter':>13}{'events':>9}")
    for r in reports:
        print(f"{r.stream:<26}{r.fetched:>9}{r.published:>11}{r.dead_lettered:>13}{r.events:>9}")
    b = balance
    print(
        f"{'total':<26}{b.fetched:>9}{b.published:>11}{b.dead_lettered:>13}{b.events:>9}\n\n"
        f"validated ok : {b.loaded}\nquarantined  : {b.quarantined}\nloaded       : {b.loaded}\n"
    )
    reasons: Counter[str] = sum((r.dead_letter_reasons for r in reports), start=Counter())
    for reason, n in reasons.most_common():
        print(f"dead-lettered x{n}: {reason}")
    failed = _plain(stats).get("failed_by_expectation", {}) if stats is not None else {}
    for name, n in sorted(failed.items(), key=lambda kv: -kv[1]):
        print(f"quarantined   x{n}: failed expectation {name}")
    print(
        f"\nfetched {b.fetched} = published {b.published} + dead-lettered {b.dead_lettered}\n"
        f"events {b.events} = validated-ok {b.loaded} + quarantined {b.quarantined}\n"
        f"reconciliation: {b.status}"
    )
    if b.fetched == 0:
        print(
            "\nnothing new since the last demo: the sync is incremental from the cursor saved "
            "in the warehouse; remove var/warehouse.db to watch a full sync again"
        )
