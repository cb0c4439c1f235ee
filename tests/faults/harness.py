"""What the fault-injection suite runs in child processes, and how it judges a warehouse.

Children (a sync, a loader) are forked from a multiprocessing *forkserver* that imported
ecohub and built the Great Expectations context once (:mod:`tests.faults._preload`), so a
child is killable within milliseconds of its start and a trial costs the work, not the
imports. The children take plain environment mappings: each trial has its own topics,
consumer group, landing folder and warehouse.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["consume_child", "fingerprint", "replay_child", "sync_child", "warm"]

PORTAL = "techport"
STREAMS = ["suppliers", "partner_projects"]  # 100 records, 10 pages of 10, one dead letter
ENTITY_TYPES = ("organization", "technology_demand")


def warm(_env: Mapping[str, str] | None = None) -> None:
    """Import everything a child needs and build the GX suites it will use."""
    import connectors  # noqa: F401
    import ecohub.loader
    import ecohub.pipeline  # noqa: F401
    from ecohub.quality import SUITES_DIR, _gx

    gx = _gx()
    for name in (*ENTITY_TYPES, "delete"):
        gx.suite(name, SUITES_DIR.resolve())


def sync_child(env: Mapping[str, str], run_id: str, full_refresh: bool = False) -> None:
    from ecohub.pipeline import sync
    from ecohub.settings import load_settings

    sync(PORTAL, STREAMS, run_id=run_id, settings=load_settings(env), full_refresh=full_refresh)


def replay_child(env: Mapping[str, str], source_run_id: str) -> None:
    from ecohub.pipeline import replay
    from ecohub.settings import load_settings

    for stream in STREAMS:
        replay(PORTAL, stream, source_run_id=source_run_id, settings=load_settings(env))


def consume_child(env: Mapping[str, str], options: Mapping[str, Any]) -> None:
    from ecohub.loader import consume
    from ecohub.settings import load_settings

    consume(load_settings(env), **dict(options))


def _digest(rows: list[Any]) -> str:
    lines = sorted(json.dumps(r, sort_keys=True, default=str, ensure_ascii=False) for r in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def fingerprint(url: str) -> dict[str, Any]:
    """Checksums of current rows, history, staging and quarantine, without what legitimately
    differs between two runs of the same data: run ids, landed pages, load times, Kafka
    coordinates. Plus the keys, to name what was lost or duplicated."""
    from sqlalchemy import select

    from ecohub.db import get_engine
    from ecohub.warehouse.tables import entity_version, quarantine, staging_table

    engine = get_engine(url)
    q, stg = quarantine.c, staging_table(PORTAL).c
    with engine.connect() as conn:
        history = [
            [r.entity_key, r.entityversion, r.operation, r.event_id, r.valid_from.isoformat(),
             r.valid_to.isoformat() if r.valid_to else None, bool(r.is_current),
             bool(r.is_deleted), r.data, r.content_hash]
            for r in conn.execute(select(entity_version))
        ]  # fmt: skip
        current = [h for h in history if h[6]]
        staging = [
            [r.entity_key, r.entityversion, r.operation, r.event_id, r.data]
            for r in conn.execute(select(stg.entity_key, stg.entityversion, stg.operation,
                                         stg.event_id, stg.data))
        ]  # fmt: skip
        quarantined = [
            [r.event_id, r.entity_key, sorted(r.failed_expectations), r.content_hash]
            for r in conn.execute(select(q.event_id, q.entity_key, q.failed_expectations,
                                         q.content_hash))
        ]  # fmt: skip
    keys = [row[0] for row in current]
    return {
        "current": _digest(current),
        "history": _digest(history),
        "staging": _digest(staging),
        "quarantine": _digest(quarantined),
        "counts": {"current": len(current), "history": len(history),
                   "quarantine": len(quarantined)},
        "keys": sorted(set(keys)),
        "duplicated_keys": sorted({k for k in keys if keys.count(k) > 1}),
    }
