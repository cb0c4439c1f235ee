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

from sqlalchemy import Connection, and_, bindparam, delete, or_, select, update

from ecohub.events import content_hash, upgrade_envelope
from ecohub.warehouse.sqlutil import chunks, insert_ignore, upsert
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


def _version_row(event: Mapping[str, Any], loaded_at: datetime) -> dict[str, Any]:
    row = _common(event, loaded_at)
    row.update(
        portal=_portal(event),
        valid_from=version_time(row["entityversion"]),
        valid_to=None,
        is_current=True,
        is_deleted=row["operation"] == "delete",
        content_hash=content_hash(event),
    )
    return row


def _order(row: Mapping[str, Any]) -> tuple[int, int, str]:
    return (row["entityversion"], OPERATION_RANK.get(row["operation"], 9), row["event_id"])


def _restitch(conn: Connection, keys: Iterable[str]) -> int:
    """Recompute valid_to / is_current for every version of ``keys``; returns rows changed."""
    ev = entity_version.c
    changes: list[dict[str, Any]] = []
    for part in chunks(sorted(keys)):
        versions: dict[str, list[Any]] = defaultdict(list)
        query = select(
            ev.version_id,
            ev.entity_key,
            ev.entityversion,
            ev.operation,
            ev.event_id,
            ev.valid_from,
            ev.valid_to,
            ev.is_current,
        ).where(ev.entity_key.in_(list(part)))
        for row in conn.execute(query).mappings():
            versions[row["entity_key"]].append(row)
        for chain in versions.values():
            chain.sort(key=_order)
            for i, row in enumerate(chain):
                last = i == len(chain) - 1
                valid_to = None if last else chain[i + 1]["valid_from"]
                if row["valid_to"] != valid_to or bool(row["is_current"]) != last:
                    changes.append({"vid": row["version_id"], "vt": valid_to, "cur": last})
    if changes:
        stmt = (
            update(entity_version)
            .where(ev.version_id == bindparam("vid"))
            .values(valid_to=bindparam("vt"), is_current=bindparam("cur"))
        )
        conn.execute(stmt, changes)
    return len(changes)


def field_codes(data: Mapping[str, Any] | None) -> list[str]:
    """Canonical S&T field codes of an entity (``data.fields[].code``), unmapped ones skipped."""
    codes = []
    for item in (data or {}).get("fields") or []:
        code = item.get("code") if isinstance(item, Mapping) else None
        if isinstance(code, str) and code and code not in codes:
            codes.append(code)
    return codes


def _refresh_fields(conn: Connection, keys: Iterable[str]) -> None:
    """Rebuild the entity -> field bridge of ``keys`` from their current, undeleted version."""
    ev = entity_version.c
    for part in chunks(sorted(keys)):
        conn.execute(delete(entity_field).where(entity_field.c.entity_key.in_(list(part))))
        current = conn.execute(
            select(ev.entity_key, ev.entity_type, ev.data).where(
                ev.entity_key.in_(list(part)), ev.is_current.is_(True), ev.is_deleted.is_(False)
            )
        )
        rows = [
            {"entity_key": key, "entity_type": etype, "field_code": code}
            for key, etype, data in current
            for code in field_codes(data)
        ]
        insert_ignore(conn, entity_field, rows)


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
    conn: Connection, events: Sequence[Mapping[str, Any]], loaded_at: datetime | None = None
) -> None:
    """Write validated events to history and staging inside the caller's transaction.

    Events of envelope v1 (still on compacted topics) are read as v2 (``upgrade_envelope``)."""
    if not events:
        return
    loaded_at = loaded_at or datetime.now(UTC).replace(tzinfo=None)
    unique = {event["id"]: upgrade_envelope(dict(event)) for event in events}
    rows = [_version_row(event, loaded_at) for event in unique.values()]
    insert_ignore(conn, entity_version, rows)
    keys = {row["entity_key"] for row in rows}
    _restitch(conn, keys)
    _refresh_fields(conn, keys)
    _stage(conn, list(unique.values()), loaded_at)
