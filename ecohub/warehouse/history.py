"""SCD type 2 history and the per-portal staging layer, written from validated events.

Why history is *re-stitched* rather than appended: events of one entity may arrive out of
order (a late page, a replay, a retried batch). Each distinct event becomes one row keyed by
its deterministic event id (a second copy is a no-op); then the validity chain of every
touched entity is recomputed from ``entityversion`` order, so the result depends only on the
set of events, never on their arrival order. A delete event becomes a tombstone row that
closes the version before it (soft delete).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, or_, select, update

from ecohub.events import content_hash, upgrade_envelope
from ecohub.warehouse.sqlutil import insert_ignore, one_of, upsert
from ecohub.warehouse.tables import entity_field, entity_version, staging_table

__all__ = ["OPERATION_RANK", "apply_events", "field_codes", "version_time"]

OPERATION_RANK = {"create": 0, "update": 1, "delete": 2}


def version_time(entityversion: int) -> datetime:
    """``entityversion`` is the source's updated time in epoch milliseconds (naive UTC)."""
    return datetime.fromtimestamp(entityversion / 1000, tz=UTC).replace(tzinfo=None)


def _event_time(event: Mapping[str, Any]) -> datetime | None:
    raw = event.get("time")
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _common(event: Mapping[str, Any], loaded_at: datetime) -> dict[str, Any]:
    return {
        "entity_type": event["entitytype"],
        "entity_key": event["entitykey"],
        "stream": str(event.get("sourcestream", "")),
        "source_id": str(event.get("sourceid", "")),
        "entityversion": int(event["entityversion"]),
        "operation": event["operation"],
        "event_id": event["id"],
        "runid": event.get("runid"),
        "landinguri": event.get("landinguri"),
        "data": None if event["operation"] == "delete" else event.get("data"),
        "loaded_at": loaded_at,
    }


def _portal(event: Mapping[str, Any]) -> str:
    return str(event.get("sourceportal") or event["entitykey"].split(":", 1)[0])


def _version_row(
    event: Mapping[str, Any], loaded_at: datetime, digest: str | None = None
) -> dict[str, Any]:
    row = _common(event, loaded_at)
    row.update(
        portal=_portal(event),
        valid_from=version_time(row["entityversion"]),
        valid_to=None,
        is_current=True,
        is_deleted=row["operation"] == "delete",
        content_hash=digest or content_hash(event),
    )
    return row


def _order(row: Mapping[str, Any]) -> tuple[int, int, str]:
    return (row["entityversion"], OPERATION_RANK.get(row["operation"], 9), row["event_id"])


def _restitch(conn: Connection, keys: Iterable[str]) -> int:
    """Recompute valid_to / is_current for every version of ``keys``; returns rows changed.

    Set-based (one window-function UPDATE per chunk of keys, on both databases): each
    version's ``valid_to`` is the next version's ``valid_from`` in :func:`_order` order, and
    the last version is current. ``event_id`` breaks ties byte-wise (``COLLATE "C"``), as
    Python compares strings.
    """
    ev = entity_version.c
    rank = case(OPERATION_RANK, value=ev.operation, else_=9)
    event_id = ev.event_id.collate("C" if conn.dialect.name == "postgresql" else "BINARY")
    order = (ev.entityversion, rank, event_id)

    def following(col: Any) -> Any:  # the next version's value, NULL for the last
        return func.lead(col).over(partition_by=ev.entity_key, order_by=order)

    changed = 0
    for among in one_of(conn, ev.entity_key, keys):
        chain = (
            select(
                ev.version_id.label("vid"),
                following(ev.valid_from).label("vt"),
                following(ev.version_id).is_(None).label("cur"),
            )
            .where(among)
            .subquery()
        )
        stmt = (
            update(entity_version)
            .where(
                ev.version_id == chain.c.vid,
                or_(ev.valid_to.is_distinct_from(chain.c.vt), ev.is_current != chain.c.cur),
            )
            .values(valid_to=chain.c.vt, is_current=chain.c.cur)
        )
        changed += conn.execute(stmt).rowcount or 0
    return changed


def field_codes(data: Mapping[str, Any] | None) -> list[str]:
    """Canonical S&T field codes of an entity (``data.fields[].code``), unmapped ones skipped."""
    codes = []
    for item in (data or {}).get("fields") or []:
        code = item.get("code") if isinstance(item, Mapping) else None
        if isinstance(code, str) and code and code not in codes:
            codes.append(code)
    return codes


def _refresh_fields(
    conn: Connection, keys: Iterable[str], loaded: Mapping[str, Mapping[str, Any]]
) -> None:
    """Rebuild the entity -> field bridge of ``keys`` whose current version changed.

    ``loaded`` holds the version rows just written, by event id. Writing versions can only
    make one of them current (an older, late event leaves the current version as it was),
    so the bridge of a key changes only when its current version is in ``loaded``, and that
    version's fields are at hand: no JSON is read back.
    """
    ev = entity_version.c
    fresh: dict[str, Mapping[str, Any]] = {}
    for among in one_of(conn, ev.entity_key, keys):
        current = conn.execute(
            select(ev.entity_key, ev.event_id, ev.content_hash).where(
                among, ev.is_current.is_(True)
            )
        )
        for key, event_id, digest in current:
            row = loaded.get(event_id)
            if row is not None and row["content_hash"] == digest:
                fresh[key] = row
            elif row is not None:  # an older copy of this id stayed: read what it holds
                fresh[key] = _stored_version(conn, event_id)
    for among in one_of(conn, entity_field.c.entity_key, fresh):
        conn.execute(delete(entity_field).where(among))
    rows = [
        {"entity_key": key, "entity_type": row["entity_type"], "field_code": code}
        for key, row in fresh.items()
        if not row["is_deleted"]
        for code in field_codes(row["data"])
    ]
    insert_ignore(conn, entity_field, rows)


def _stored_version(conn: Connection, event_id: str) -> Mapping[str, Any]:
    ev = entity_version.c
    query = select(ev.entity_type, ev.is_deleted, ev.data).where(ev.event_id == event_id)
    return dict(conn.execute(query).mappings().one())


def _latest_per_key(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    latest: dict[str, Mapping[str, Any]] = {}
    for event in events:
        key = event["entitykey"]
        if key not in latest or _order(_common(event, datetime.min)) > _order(
            _common(latest[key], datetime.min)
        ):
            latest[key] = event
    return list(latest.values())


def _stage(conn: Connection, events: Sequence[Mapping[str, Any]], loaded_at: datetime) -> None:
    """Upsert the newest event per key into ``stg_<portal>``; older versions never win."""
    by_portal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in _latest_per_key(events):
        row = _common(event, loaded_at)
        row["event_time"] = _event_time(event)
        by_portal[_portal(event)].append(row)
    for portal, rows in by_portal.items():
        table = staging_table(portal)

        def newer(excluded: Any, table: Any = table) -> Any:
            return or_(
                excluded.entityversion > table.c.entityversion,
                and_(
                    excluded.entityversion == table.c.entityversion,
                    excluded.operation == "delete",
                    table.c.operation != "delete",
                ),
            )

        upsert(conn, table, rows, keys=["entity_key"], where=newer)


def apply_events(
    conn: Connection,
    events: Sequence[Mapping[str, Any]],
    loaded_at: datetime | None = None,
    *,
    hashes: Mapping[str, str] | None = None,
) -> None:
    """Write validated events to history and staging inside the caller's transaction.

    Events of envelope v1 (still on compacted topics) are read as v2 (``upgrade_envelope``).
    ``hashes``: :func:`~ecohub.events.content_hash` by event id where the caller has it
    already (the loader hashes every message to fold duplicates), so it is not hashed twice.
    """
    if not events:
        return
    loaded_at = loaded_at or datetime.now(UTC).replace(tzinfo=None)
    unique = {event["id"]: upgrade_envelope(dict(event)) for event in events}
    known = hashes or {}
    rows = [_version_row(e, loaded_at, known.get(i)) for i, e in unique.items()]
    insert_ignore(conn, entity_version, rows)
    keys = {row["entity_key"] for row in rows}
    _restitch(conn, keys)
    _refresh_fields(conn, keys, {row["event_id"]: row for row in rows})
    _stage(conn, list(unique.values()), loaded_at)
