"""A realistic, deterministic warehouse for report tests, screenshots and demos.

Why here and not under ``tests/``: the unit tests, the headless-browser test and anyone who
wants to look at the report without running the portals build the same warehouse. Rows go
through the real writers where they exist (:func:`ecohub.warehouse.history.apply_events` for
SCD2 history, :func:`ecohub.warehouse.runs.reconcile` for verdicts) and straight into the
ledger tables otherwise, with fixed timestamps so the over-time series are predictable.

The sample has three portals x ``days`` daily runs, dead letters, quarantined events naming
real expectations from ``quality/``, updates and deletes, and resolved organizations and
experts, some present on several portals. Three deliberate faults make every status appear:
one run loses an event (``unbalanced``), the newest run of Techport is half-consumed
(``pending``) and the newest run of H.OIP was never reconciled (``unchecked``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert

from ecohub.catalog import PORTAL_ENTITIES, topic_name
from ecohub.errors import ReconciliationError
from ecohub.quality import SUITES_DIR, load_suite_file
from ecohub.report.data import KEY_ATTRIBUTES
from ecohub.settings import PORTALS
from ecohub.warehouse.history import apply_events
from ecohub.warehouse.runs import reconcile
from ecohub.warehouse.tables import (
    entity_link,
    golden_entity,
    load_receipts,
    quarantine,
    resolution_override,
    run_extracts,
)
from ecohub.warehouse.testing import make_event, sample_data

__all__ = ["SampleSummary", "populate_sample"]

_START = datetime(2025, 3, 1, 1, 30)
_POOL = range(9)  # source ids per portal and entity type: later runs update earlier ones
# Which real-world organizations/experts each portal knows: overlaps make multi-portal records.
_POOLS = {
    ("stinet", "organization"): range(0, 5),
    ("techport", "organization"): range(3, 7),
    ("hoip", "organization"): range(6, 9),
    ("stinet", "person"): range(0, 6),
    ("techport", "person"): range(4, 9),
    ("hoip", "person"): range(0, 2),
}
_ORG_NAMES = (
    "Công ty TNHH Công nghệ Sinh học Phương Nam",
    "Viện Sinh học Nhiệt đới",
    "Trường Đại học Bách khoa - ĐHQG TP.HCM",
    "Công ty Cổ phần Dệt may Gia Định",
    "Trung tâm Khởi nghiệp đổi mới sáng tạo (SIHUB)",
    "Công ty TNHH Cơ khí Bách Việt",
    "Viện Công nghệ Hóa học",
    "Công ty TNHH AgriSense Việt Nam",
    "Trung tâm Thông tin và Thống kê KH&CN",
)
_PERSON_NAMES = (
    "Trần Thị Minh Thư",
    "Lê Quang Huy",
    "Nguyễn Văn Bình",
    "Phạm Thị Lan Anh",
    "Võ Hoàng Nam",
    "Đặng Thu Hà",
    "Huỳnh Tấn Phát",
    "Bùi Ngọc Trâm",
    "Đỗ Minh Khoa",
)


@dataclass
class SampleSummary:
    """What was written, for logs; tests recompute every figure with their own SQL."""

    run_ids: list[str] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)


@dataclass
class _Ctx:
    rng: random.Random
    offsets: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    expectation_names: dict[str, list[str]] = field(default_factory=dict)


def populate_sample(engine: Engine, *, days: int = 6, seed: int = 20250305) -> SampleSummary:
    """Fill an initialized, empty warehouse with ``days`` days of runs of every portal."""
    ctx = _Ctx(rng=random.Random(seed))
    summary = SampleSummary()
    for day in range(days):
        for hour, portal in enumerate(PORTALS):
            started = _START + timedelta(days=day, hours=hour)
            run_id = f"{portal}-{started:%Y%m%dT%H%M%SZ}-{ctx.rng.getrandbits(32):08x}"
            last = day == days - 1
            _write_run(engine, ctx, portal, run_id, started, faults=_faults(portal, day, last))
            summary.run_ids.append(run_id)
            summary.statuses[run_id] = _verdict(engine, run_id, portal, last)
    with engine.begin() as conn:
        _resolve(conn)
    return summary


def _faults(portal: str, day: int, last: bool) -> set[str]:
    faults = set()
    if portal == "stinet" and day == 1:
        faults.add("lose_one_event")
    if portal == "techport" and last:
        faults.add("half_consumed")
    return faults


def _verdict(engine: Engine, run_id: str, portal: str, last: bool) -> str:
    if portal == "hoip" and last:
        return "unchecked"
    # the loader has drained the topics, except for Techport's newest run (still consuming)
    lag = 7 if portal == "techport" and last else 0
    try:
        return reconcile(engine, run_id, consumer_lag=lag).status
    except ReconciliationError:
        return "unbalanced"


# --------------------------------------------------------------------------- one run


def _write_run(
    engine: Engine, ctx: _Ctx, portal: str, run_id: str, started: datetime, faults: set[str]
) -> None:
    extracts, events = [], []
    for i, entity_type in enumerate(PORTAL_ENTITIES[portal]):
        stream = f"{entity_type}s"
        fetched = ctx.rng.randint(6, 14)
        dead = ctx.rng.choice((0, 0, 0, 1, 2))
        batch = [
            _event(ctx, portal, entity_type, run_id, started + timedelta(minutes=i, seconds=n))
            for n in range(fetched - dead)
        ]
        events.extend(batch)
        extracts.append(
            {
                "run_id": run_id,
                "portal": portal,
                "stream": stream,
                "fetched": fetched,
                "published": fetched - dead,
                "dead_lettered": dead,
                "events": len(batch),
                "recorded_at": started + timedelta(minutes=i + 1),
            }
        )
    if "lose_one_event" in faults:
        events = events[1:]
    if "half_consumed" in faults:
        events = events[: len(events) // 2]
    with engine.begin() as conn:
        conn.execute(insert(run_extracts), extracts)
        _load(conn, ctx, events, started + timedelta(minutes=20))


def _event(
    ctx: _Ctx, portal: str, entity_type: str, run_id: str, when: datetime
) -> dict[str, Any]:
    n = ctx.rng.choice(_POOLS.get((portal, entity_type), _POOL))
    source_id = f"{portal[:2].upper()}-{entity_type[:3].upper()}-{n:04d}"
    version = int((when - datetime(1970, 1, 1)).total_seconds() * 1000)
    if ctx.rng.random() < 0.04:
        return make_event(entity_type, source_id, None, portal=portal, version=version,
                          operation="delete", runid=run_id)
    data = sample_data(entity_type, portal, source_id, updated=f"{when:%Y-%m-%dT%H:%M:%S}.000Z")
    for attribute in KEY_ATTRIBUTES[entity_type]:
        if ctx.rng.random() < 0.15:
            data[attribute] = None
    _personalize(data, entity_type, n)
    return make_event(entity_type, source_id, data, portal=portal, version=version, runid=run_id)


def _personalize(data: dict[str, Any], entity_type: str, n: int) -> None:
    """Same pool index = same real-world organization/expert on every portal."""
    if entity_type == "organization":
        data["name"] = _ORG_NAMES[n]
        tax = f"03{n:02d}45678{n % 10}"
        data["tax_code"] = {"text": tax, "valid": True, "value": tax, "parent": tax,
                            "branch": None, "reason": None}
    elif entity_type == "person":
        data["name"] = {"full_name": _PERSON_NAMES[n], "titles": ["TS"],
                        "as_served": f"TS. {_PERSON_NAMES[n]}"}


def _load(conn: Connection, ctx: _Ctx, events: list[dict[str, Any]], at: datetime) -> None:
    """Gate each event like the loader does: receipt always, history or quarantine."""
    passed, receipts, rejected = [], [], []
    for event in events:
        topic = topic_name(event["entitytype"])
        coords = {"topic": topic, "kafka_partition": 0, "kafka_offset": ctx.offsets[topic]}
        ctx.offsets[topic] += 1
        failed = _failures(ctx, event)
        receipts.append({**coords, "event_id": event["id"], "runid": event["runid"],
                         "entity_type": event["entitytype"],
                         "outcome": "quarantined" if failed else "loaded", "received_at": at})
        if failed:
            rejected.append({**coords, "event_id": event["id"], "runid": event["runid"],
                             "entity_type": event["entitytype"], "entity_key": event["entitykey"],
                             "failed_expectations": failed, "event": event, "raw_value": None,
                             "quarantined_at": at})
        else:
            passed.append(event)
    conn.execute(insert(load_receipts), receipts)
    if rejected:
        conn.execute(insert(quarantine), rejected)
    apply_events(conn, passed, loaded_at=at)


def _failures(ctx: _Ctx, event: dict[str, Any]) -> list[str]:
    if event["operation"] == "delete" or ctx.rng.random() >= 0.09:
        return []
    names = _expectation_names(ctx, event["entitytype"])
    # a skewed choice, so that a few expectations dominate the "top failing" table
    first = names[min(int(ctx.rng.expovariate(0.6)), len(names) - 1)]
    extra = [ctx.rng.choice(names)] if ctx.rng.random() < 0.25 else []
    return sorted({first, *extra})


def _expectation_names(ctx: _Ctx, entity_type: str) -> list[str]:
    if entity_type not in ctx.expectation_names:
        suite = load_suite_file(SUITES_DIR / f"{entity_type}.json")
        names = [e["meta"]["name"] for e in suite["expectations"]]
        ctx.expectation_names[entity_type] = names[5:] + names[:5]  # content checks first
    return ctx.expectation_names[entity_type]


# --------------------------------------------------------------------------- resolution


def _resolve(conn: Connection) -> None:
    """Golden records by pool index (tax code for organizations, name for experts)."""
    from sqlalchemy import select

    from ecohub.warehouse.tables import entity_version

    ev = entity_version.c
    keys = conn.execute(
        select(ev.entity_type, ev.entity_key)
        .where(ev.is_current.is_(True), ev.entity_type.in_(("organization", "person")))
        .distinct()
    ).all()
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for entity_type, key in sorted(keys):
        groups[(entity_type, key.rsplit("-", 1)[1])].append(key)
    golden: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for (kind, n), members in sorted(groups.items()):
        if kind == "person" and n == "0008":
            members = members[:1]  # the others stay unresolved on purpose
        golden_id = f"{kind[:3]}-{n}"
        names = _ORG_NAMES if kind == "organization" else _PERSON_NAMES
        golden.append({
            "golden_id": golden_id, "kind": kind, "name": names[int(n)],
            "tax_code": f"03{int(n):02d}45678{int(n) % 10}" if kind == "organization" else None,
            "portals": sorted({m.split(":", 1)[0] for m in members}),
            "member_count": len(members), "attributes": {}, "provenance": {},
            "resolved_at": _START,
        })
        rule, score = ("tax_code", 1.0) if kind == "organization" else ("name_affiliation", 0.92)
        for i, member in enumerate(members):
            links.append({
                "entity_key": member, "kind": kind, "golden_id": golden_id,
                "rule": rule if i else "seed", "score": score if i else 1.0,
                "evidence": {"pool": n},
            })
    conn.execute(insert(golden_entity), golden)
    conn.execute(insert(entity_link), links)
    conn.execute(insert(resolution_override), [{
        "kind": "organization", "action": "split", "entity_key": links[0]["entity_key"],
        "other_entity_key": None, "reason": "Hai đơn vị khác nhau dùng chung mã số thuế cũ",
        "author": "kiem.toan@sokhcn.hcmc.gov.vn", "created_at": _START,
    }])
