"""SCD type 2 history and the staging layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from sqlalchemy import select

from ecohub.warehouse.history import apply_events
from ecohub.warehouse.tables import entity_version, staging_table

V1 = datetime(2025, 3, 5, 7, 30)
V2 = datetime(2025, 6, 1, 2, 0)
V3 = datetime(2026, 1, 15, 9, 45)

ORG_V1 = {"name": "Công ty TNHH Công nghệ Sinh học Phương Nam", "tax_code": "0312345678"}
ORG_V2 = {"name": "Công ty Cổ phần Công nghệ Sinh học Phương Nam", "tax_code": "0312345678"}
ORG_V3 = {"name": "Công ty Cổ phần Sinh học Phương Nam", "tax_code": "0312345678"}


def _history(engine, key: str) -> list[dict]:
    ev = entity_version.c
    query = (
        select(ev.valid_from, ev.valid_to, ev.is_current, ev.is_deleted, ev.operation, ev.data)
        .where(ev.entity_key == key)
        .order_by(ev.valid_from, ev.operation)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _apply(engine, events) -> None:
    with engine.begin() as conn:
        apply_events(conn, events)


def test_update_yields_two_versions_with_adjacent_validity(engine, event):
    create = event("organization", "TP-NCC-0042", ORG_V1, version=V1, operation="create")
    update = event("organization", "TP-NCC-0042", ORG_V2, version=V2, operation="update")
    _apply(engine, [create])
    _apply(engine, [update])

    history = _history(engine, "techport:organization:TP-NCC-0042")
    assert [(h["valid_from"], h["valid_to"], h["is_current"]) for h in history] == [
        (V1, V2, False),
        (V2, None, True),
    ]
    assert [h["data"]["name"] for h in history] == [ORG_V1["name"], ORG_V2["name"]]


def test_delete_closes_the_current_version_with_a_tombstone(engine, event):
    _apply(engine, [event("organization", "TP-NCC-0042", ORG_V1, version=V1, operation="create")])
    _apply(engine, [event("organization", "TP-NCC-0042", None, version=V2, operation="delete")])

    history = _history(engine, "techport:organization:TP-NCC-0042")
    assert [(h["valid_to"], h["is_current"], h["is_deleted"]) for h in history] == [
        (V2, False, False),
        (None, True, True),
    ]
    assert history[1]["data"] is None
    with engine.connect() as conn:
        staged = conn.execute(select(staging_table("techport"))).mappings().one()
    assert (staged["operation"], staged["data"]) == ("delete", None)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_arrival_order_does_not_change_history(engine, event, order):
    versions = [
        event("organization", "HOIP-ORG-7", ORG_V1, portal="hoip", version=V1, operation="create"),
        event("organization", "HOIP-ORG-7", ORG_V2, portal="hoip", version=V2),
        event("organization", "HOIP-ORG-7", ORG_V3, portal="hoip", version=V3),
    ]
    for i in order:
        _apply(engine, [versions[i]])

    history = _history(engine, "hoip:organization:HOIP-ORG-7")
    assert [(h["valid_from"], h["valid_to"], h["is_current"]) for h in history] == [
        (V1, V2, False),
        (V2, V3, False),
        (V3, None, True),
    ]
    with engine.connect() as conn:
        staged = conn.execute(select(staging_table("hoip"))).mappings().one()
    assert staged["data"]["name"] == ORG_V3["name"]


def test_the_same_event_twice_is_a_no_op(engine, event):
    update = event("person", "ST-EXP-0626", {"full_name": "Nguyễn Thị Minh Khai"}, portal="stinet")
    _apply(engine, [update, update])
    _apply(engine, [update])

    assert len(_history(engine, "stinet:person:ST-EXP-0626")) == 1


def test_an_older_version_never_overwrites_staging(engine, event):
    newer = event(
        "document", "oai:stinet:123", {"title": "Báo cáo tổng kết"}, portal="stinet", version=V2
    )
    older = event("document", "oai:stinet:123", {"title": "Bản nháp"}, portal="stinet", version=V1)
    _apply(engine, [newer])
    _apply(engine, [older])

    with engine.connect() as conn:
        staged = conn.execute(select(staging_table("stinet"))).mappings().one()
    assert staged["data"] == {"title": "Báo cáo tổng kết"}
    assert len(_history(engine, "stinet:document:oai:stinet:123")) == 2


def _many(event) -> list[dict]:
    """150 events of 50 organizations: create, update, and a delete or a second update;
    two versions share a timestamp (create and update), so the tie-break is exercised."""
    events = []
    for n in range(50):
        key = f"TP-NCC-{n:04d}"
        fields = [{"code": str(1 + n % 6)}, {"code": f"{1 + n % 6}0{n % 3 + 1}"}]
        events.append(event("organization", key, {**ORG_V1, "fields": fields}, version=V1,
                            operation="create"))  # fmt: skip
        events.append(event("organization", key, {**ORG_V2, "fields": fields[:1]},
                            version=V1 if n % 5 == 0 else V2))  # fmt: skip
        last = None if n % 4 == 0 else {**ORG_V3, "fields": fields[1:]}
        events.append(event("organization", key, last, version=V3,
                            operation="delete" if last is None else "update"))  # fmt: skip
    return events


def _data_tables(engine) -> dict[str, str]:
    from ecohub.warehouse import checksums

    names = {"entity_version", "entity_field", "stg_techport"}
    return {k: v for k, v in checksums(engine).items() if k in names}


def test_one_large_batch_writes_what_events_one_by_one_write(engine, event):
    # a batch this large takes the bulk path on PostgreSQL (COPY into a temporary table, one
    # merge per table) and the set-based restitch; one event at a time takes the plain path
    from sqlalchemy import delete

    from ecohub.warehouse.sqlutil import COPY_MIN_ROWS
    from ecohub.warehouse.tables import entity_field

    events = _many(event)
    assert len(events) >= 2 * COPY_MIN_ROWS
    _apply(engine, events[::2])
    _apply(engine, events[1::2])
    in_batches = _data_tables(engine)
    with engine.begin() as conn:
        for table in (entity_version, entity_field, staging_table("techport")):
            conn.execute(delete(table))
    for one in reversed(events):
        _apply(engine, [one])

    assert _data_tables(engine) == in_batches
    history = _history(engine, "techport:organization:TP-NCC-0004")
    assert [(h["valid_to"], h["is_current"], h["is_deleted"]) for h in history] == [
        (V2, False, False),
        (V3, False, False),
        (None, True, True),
    ]
    with engine.connect() as conn:
        current = conn.execute(select(entity_version.c.entity_key)
                               .where(entity_version.c.is_current.is_(True))).scalars().all()
        bridge = conn.execute(select(entity_field.c.entity_key, entity_field.c.field_code)).all()
    assert len(current) == 50
    # the bridge follows the current version: none for a delete, its one field otherwise
    assert sorted(bridge) == [
        (f"techport:organization:TP-NCC-{n:04d}", f"{1 + n % 6}0{n % 3 + 1}")
        for n in range(50)
        if n % 4
    ]
