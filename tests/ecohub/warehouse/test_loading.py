"""One micro-batch through the quality gate into the warehouse (no Kafka: Message objects)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from ecohub.loader import Message, process_batch
from ecohub.warehouse import checksums
from ecohub.warehouse.offsets import stored_offsets
from ecohub.warehouse.tables import entity_version, load_receipts, quarantine

GROUP = "ecohub-loader-test"
TOPIC = "ecohub.organization.v1"

ORGS = [
    ("TP-NCC-0001", "Công ty TNHH Giải pháp Phần mềm Sao Việt", "0301112223"),
    ("TP-NCC-0002", "Trường Đại học Bách khoa - ĐHQG TP.HCM", "0300123456"),
    ("TP-NCC-0003", "Viện Sinh học Nhiệt đới", "0301234560"),
]


def _messages(events, topic: str = TOPIC, start: int = 0) -> list[Message]:
    return [
        Message(topic=topic, partition=0, offset=start + i, value=json.dumps(e).encode())
        for i, e in enumerate(events)
    ]


def _tax(code: str) -> dict:
    return {
        "text": code,
        "valid": True,
        "value": code,
        "parent": code[:10],
        "branch": None,
        "reason": None,
    }


def _orgs(entity):
    return [entity("organization", sid, name=name, tax_code=_tax(tax)) for sid, name, tax in ORGS]


def _count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_a_clean_batch_loads_every_row_and_stores_the_offset(engine, entity):
    result = process_batch(engine, _messages(_orgs(entity)), group_id=GROUP)

    assert (result.loaded, result.quarantined) == (3, 0)
    assert _count(engine, entity_version, entity_version.c.is_current.is_(True)) == 3
    assert stored_offsets(engine, GROUP) == {(TOPIC, 0): 3}


def test_the_same_batch_twice_leaves_one_copy(engine, entity):
    messages = _messages(_orgs(entity))
    process_batch(engine, messages, group_id=GROUP)
    before = checksums(engine)
    again = process_batch(engine, messages, group_id=GROUP)

    assert (again.skipped, again.loaded) == (3, 0)
    assert _count(engine, entity_version) == 3
    assert _count(engine, load_receipts) == 3
    assert {k: v for k, v in checksums(engine).items() if k != "consumer_offsets"} == {
        k: v for k, v in before.items() if k != "consumer_offsets"
    }


def test_a_replay_with_forgotten_offsets_changes_nothing(engine, entity):
    from ecohub.warehouse.offsets import reset_offsets

    messages = _messages(_orgs(entity))
    process_batch(engine, messages, group_id=GROUP)
    before = checksums(engine)
    reset_offsets(engine, GROUP)
    replay = process_batch(engine, messages, group_id=GROUP)

    assert (replay.skipped, replay.loaded) == (0, 3)
    assert checksums(engine) == before


BAD = [
    pytest.param(
        {"entitykey": "techport:organization:"},
        ["envelope.entitykey.format", "organization.source_id.matches_entitykey"],
        id="entitykey-without-source-id",
    ),
    pytest.param(
        {"type": "vn.hcmc.ecohub.person.update"},
        ["envelope.type.matches_entity_and_operation"],
        id="type-disagrees-with-entitytype",
    ),
    pytest.param(
        {"data": {"name": None, "tax_code": {"text": "031234", "valid": False, "value": "031234"}}},
        [
            "organization.match_key.present",
            "organization.name.present",
            "organization.portal.matches_sourceref",
            "organization.source_id.present",
            "organization.source_id.matches_entitykey",
            "organization.tax_code.format",
        ],
        id="no-name-and-short-tax-code",
    ),
    pytest.param(
        {"operation": "upsert"},
        ["envelope.operation.known", "envelope.type.matches_entity_and_operation"],
        id="unknown-operation",
    ),
]


@pytest.mark.parametrize(("damage", "expected"), BAD)
def test_a_bad_row_is_quarantined_with_its_failed_expectations(engine, entity, damage, expected):
    events = _orgs(entity)
    events[1] = {**events[1], **damage}
    result = process_batch(engine, _messages(events), group_id=GROUP)

    assert (result.loaded, result.quarantined) == (2, 1)
    with engine.connect() as conn:
        row = conn.execute(select(quarantine)).mappings().one()
    assert (row["kafka_offset"], sorted(row["failed_expectations"])) == (1, sorted(expected))
    assert row["event"]["id"] == events[1]["id"]
    assert _count(engine, entity_version) == 2


def test_a_message_that_is_not_json_is_quarantined_with_its_raw_text(engine, entity):
    messages = _messages(_orgs(entity))
    broken = Message(
        topic=TOPIC,
        partition=0,
        offset=3,
        value='{"id": "Công ty'.encode(),
        headers=(("run_id", b"techport-20250305T073000Z-0a1b2c3d"),),
    )
    result = process_batch(engine, [*messages, broken], group_id=GROUP)

    assert (result.loaded, result.quarantined) == (3, 1)
    with engine.connect() as conn:
        row = conn.execute(select(quarantine)).mappings().one()
    assert row["failed_expectations"] == ["envelope.value_is_json_object"]
    assert row["raw_value"] == '{"id": "Công ty'
    assert row["runid"] == "techport-20250305T073000Z-0a1b2c3d"


def test_nul_and_undecodable_bytes_are_kept_as_visible_escapes(engine):
    broken = Message(topic=TOPIC, partition=1, offset=0, value=b"\x00\xff" + b"Cty")
    process_batch(engine, [broken], group_id=GROUP)

    with engine.connect() as conn:
        assert conn.execute(select(quarantine.c.raw_value)).scalar_one() == "\\x00\\xffCty"


def test_quarantined_rows_are_handed_to_the_publisher_before_commit(engine, entity):
    events = _orgs(entity)
    events[0] = {**events[0], "specversion": "0.3"}
    published = []

    def publisher(items):
        published.extend(items)
        assert _count(engine, quarantine) == 0  # not yet committed

    process_batch(engine, _messages(events), group_id=GROUP, publish_quarantine=publisher)

    assert [(q.message.offset, q.expectations) for q in published] == [
        (0, ("envelope.specversion.is_1_0",))
    ]
    value = published[0].as_topic_value()
    assert (value["expectations"], value["event"]["id"]) == (
        ["envelope.specversion.is_1_0"],
        events[0]["id"],
    )
    assert published[0].kafka_key == events[0]["entitykey"].encode()
