from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from connectors.toolkit.state import KeyStore, StateStore
from ecohub.records import SourceRecord


@pytest.fixture
def engine(tmp_path):
    return create_engine(f"sqlite:///{tmp_path}/state.db")


STATE = {
    "v": 1,
    "cursor": "2026-03-01T02:40:00.000000Z",
    "window": {"104211": "2026-03-01T02:40:00.000000Z"},
    "progress": None,
}


def test_state_round_trips_and_is_replaced(engine):
    store = StateStore(engine)
    assert store.get("techport", "technologies") is None
    store.save("techport", "technologies", STATE)
    assert store.get("techport", "technologies") == STATE
    newer = {**STATE, "cursor": "2026-03-02T00:00:00.000000Z"}
    store.save("techport", "technologies", newer)
    assert store.get("techport", "technologies") == newer
    assert store.get("techport", "demands") is None
    assert set(inspect(engine).get_table_names()) >= {"sync_state"}


def test_state_survives_a_new_store_and_an_empty_state_changes_nothing(engine):
    StateStore(engine).save("stinet", "documents", STATE)
    again = StateStore(engine)
    again.save("stinet", "documents", {})
    assert again.get("stinet", "documents") == STATE
    again.reset("stinet", "documents")
    assert again.get("stinet", "documents") is None


def test_key_store_records_updates_and_forgets(engine):
    keys = KeyStore(engine)
    keys.record("techport", "suppliers", ["20417", "20418", "20419"], "run-1")
    keys.record("techport", "suppliers", ["20418", "20420"], "run-2")
    keys.record("techport", "demands", ["7"], "run-2")
    assert keys.keys("techport", "suppliers") == {"20417", "20418", "20419", "20420"}
    keys.forget("techport", "suppliers", ["20417", "99999"])
    assert keys.keys("techport", "suppliers") == {"20418", "20419", "20420"}
    assert keys.keys("techport", "demands") == {"7"}


def test_key_store_applies_a_batch_of_records(engine):
    keys = KeyStore(engine)
    keys.record("stinet", "experts", ["626", "12"], "run-1")
    records = [
        SourceRecord("stinet", "experts", "627", {"id": 627, "full_name": "PGS.TS. Nguyễn Văn An"}),
        SourceRecord("stinet", "experts", "12", {"id": "12"}, deleted=True),
    ]
    keys.apply("stinet", "experts", records, "run-2")
    assert keys.keys("stinet", "experts") == {"626", "627"}


def test_key_store_handles_many_keys(engine):
    keys = KeyStore(engine)
    many = [str(100000 + i) for i in range(2600)]
    keys.record("techport", "technologies", many, "run-1")
    assert len(keys.keys("techport", "technologies")) == 2600
