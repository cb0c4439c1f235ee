"""Duplicates are traffic: re-delivered events are absorbed wherever they meet, only a
conflicting duplicate is quarantined, and a poisoned event costs one event (no Kafka here)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select

from ecohub.loader import CONFLICT, REJECTED, Message, process_batch
from ecohub.warehouse.runs import reconcile, record_extract
from ecohub.warehouse.tables import entity_version, load_receipts, quarantine

GROUP = "ecohub-loader-dups"
TOPIC = "ecohub.organization.v1"
RUN_A = "techport-20250305T073000Z-0a1b2c3d"
RUN_B = "techport-20250305T080000Z-9f8e7d6c"


def _tax(code: str) -> dict:
    return {"text": code, "valid": True, "value": code, "parent": code[:10], "branch": None,
            "reason": None}  # fmt: skip


def _orgs(entity, run: str = RUN_A) -> list[dict]:
    rows = [
        ("TP-NCC-0001", "Công ty TNHH Giải pháp Phần mềm Sao Việt", "0301112223"),
        ("TP-NCC-0002", "Trường Đại học Bách khoa - ĐHQG TP.HCM", "0300123456"),
        ("TP-NCC-0003", "Viện Sinh học Nhiệt đới", "0301234560"),
    ]
    events = [entity("organization", sid, name=n, tax_code=_tax(t)) for sid, n, t in rows]
    return [_redelivered(e, run) for e in events]


def _redelivered(event: dict, run: str) -> dict:
    """The same event as another run sends it: other runid and landed page, keys reordered."""
    copy = dict(reversed(list(event.items())))
    copy["runid"] = run
    copy["landinguri"] = f"s3://ecohub-landing/techport/suppliers/2025-03-05/{run}/page-7.json.gz"
    return copy


def _messages(events, start: int = 0, partition: int = 0) -> list[Message]:
    return [
        Message(topic=TOPIC, partition=partition, offset=start + i, value=json.dumps(e).encode())
        for i, e in enumerate(events)
    ]


def _count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _interleave(a: list, b: list) -> list:
    return [x for pair in zip(a, b, strict=True) for x in pair]


def test_copies_in_one_batch_are_absorbed_not_quarantined(engine, entity):
    first, again = _orgs(entity, RUN_A), _orgs(entity, RUN_B)
    assert json.dumps(first[0]) != json.dumps(again[0])  # not byte-identical

    result = process_batch(engine, _messages(_interleave(first, again)), group_id=GROUP)

    assert (result.loaded, result.quarantined, result.absorbed) == (6, 0, 3)
    assert _count(engine, entity_version) == 3
    assert _count(engine, quarantine) == 0
    assert _count(engine, load_receipts, load_receipts.c.outcome == "loaded") == 6


def test_copies_across_batches_and_runs_are_absorbed_and_both_runs_balance(engine, entity):
    process_batch(engine, _messages(_orgs(entity, RUN_A)), group_id=GROUP)
    later = process_batch(engine, _messages(_orgs(entity, RUN_B), start=3), group_id=GROUP)

    assert (later.loaded, later.quarantined, later.absorbed) == (3, 0, 3)
    assert _count(engine, entity_version) == 3
    with engine.connect() as conn:  # history keeps the first delivery's lineage
        assert set(conn.execute(select(entity_version.c.runid)).scalars()) == {RUN_A}
    for run in (RUN_A, RUN_B):
        record_extract(engine, run, "techport", "suppliers", fetched=3, published=3,
                       dead_lettered=0)  # fmt: skip
        balance = reconcile(engine, run, consumer_lag=0)
        assert (balance.status, balance.loaded, balance.quarantined) == ("balanced", 3, 0)


@pytest.mark.parametrize("same_batch", [True, False], ids=["same-batch", "later-batch"])
def test_a_conflicting_duplicate_is_the_only_one_quarantined(engine, entity, same_batch):
    first = _orgs(entity, RUN_A)
    changed = _redelivered(first[1], RUN_B)
    changed["data"] = {**changed["data"], "name": "Trường Đại học Bách khoa (đổi tên)"}
    if same_batch:
        result = process_batch(engine, _messages([*first, changed]), group_id=GROUP)
    else:
        process_batch(engine, _messages(first), group_id=GROUP)
        result = process_batch(engine, _messages([changed], start=3), group_id=GROUP)

    assert result.failed_by_expectation == {CONFLICT: 1}
    with engine.connect() as conn:
        row = conn.execute(select(quarantine)).mappings().one()
        kept = conn.execute(
            select(entity_version.c.data).where(entity_version.c.event_id == first[1]["id"])
        ).scalar_one()
    assert (row["kafka_offset"], row["failed_expectations"]) == (3, [CONFLICT])
    assert kept["name"] == first[1]["data"]["name"]  # the first content stays


def test_a_copy_of_a_quarantined_event_gets_no_second_quarantine_row(engine, entity):
    bad = _orgs(entity, RUN_A)
    bad[0] = {**bad[0], "specversion": "0.3"}
    process_batch(engine, _messages(bad), group_id=GROUP)
    copy = _redelivered(bad[0], RUN_B)
    result = process_batch(engine, _messages([copy], start=3), group_id=GROUP)

    assert (result.quarantined, result.absorbed, result.quarantine) == (1, 1, [])
    assert _count(engine, quarantine) == 1
    record_extract(engine, RUN_B, "techport", "suppliers", fetched=1, published=1,
                   dead_lettered=0)  # fmt: skip
    assert reconcile(engine, RUN_B, consumer_lag=0).quarantined == 1


POISON = [
    pytest.param({"entityversion": "not-a-number"}, "envelope.entityversion.is_decimal",
                 id="word-entityversion"),
    pytest.param({"entityversion": "1.5e12"}, "envelope.entityversion.is_decimal",
                 id="exponent-entityversion"),
    pytest.param({"entityversion": 1.5e12}, "envelope.entityversion.is_string",
                 id="fractional-entityversion"),
    pytest.param({"sourceid": {"id": "42"}}, "envelope.sourceid.is_string", id="sourceid-object"),
    pytest.param({"data": ["a", "list"]}, "envelope.data.is_object_or_null", id="data-list"),
    pytest.param({"entitykey": 42}, "envelope.entitykey.is_string", id="numeric-entitykey"),
]  # fmt: skip


@pytest.mark.parametrize(("damage", "expected"), POISON)
def test_a_wrongly_typed_envelope_costs_one_event(engine, entity, damage, expected):
    events = _orgs(entity)
    events[1] = {**events[1], **damage}

    result = process_batch(engine, _messages(events), group_id=GROUP)

    assert (result.loaded, result.quarantined) == (2, 1)
    with engine.connect() as conn:
        names = conn.execute(select(quarantine.c.failed_expectations)).scalar_one()
    assert expected in names
    assert _count(engine, entity_version) == 2


def test_a_row_the_warehouse_refuses_is_quarantined_and_the_rest_loads(engine, entity, monkeypatch):
    import ecohub.loader as loader

    events = _orgs(entity)
    real = loader.apply_events

    def picky(conn, batch, loaded_at=None, **options):
        if any(e["id"] == events[2]["id"] for e in batch):
            raise ValueError("refused")
        return real(conn, batch, loaded_at, **options)

    monkeypatch.setattr(loader, "apply_events", picky)
    result = process_batch(engine, _messages(events), group_id=GROUP)

    assert (result.loaded, result.quarantined) == (2, 1)
    assert result.failed_by_expectation == {REJECTED: 1}
    assert _count(engine, entity_version) == 2


def test_a_receipt_without_its_row_makes_the_run_unbalanced(engine, entity):
    from ecohub.errors import ReconciliationError

    events = _orgs(entity)
    process_batch(engine, _messages(events), group_id=GROUP)
    record_extract(engine, RUN_A, "techport", "suppliers", fetched=3, published=3,
                   dead_lettered=0)  # fmt: skip
    with engine.begin() as conn:
        conn.execute(delete(entity_version).where(entity_version.c.event_id == events[0]["id"]))

    with pytest.raises(ReconciliationError, match="loaded 2"):
        reconcile(engine, RUN_A, consumer_lag=0)
