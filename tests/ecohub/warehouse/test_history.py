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
