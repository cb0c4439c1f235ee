"""Report queries on hand-built warehouses: definitions at their edges."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite

from ecohub.report.data import KEY_ATTRIBUTES, UNKNOWN_PORTAL, _expectations_query, collect
from ecohub.warehouse import init_db
from ecohub.warehouse.history import apply_events
from ecohub.warehouse.tables import load_receipts, quarantine, run_extracts
from tests.fixtures.warehouse_sample import (
    make_event,
    postgres_schema_engine,
    sample_data,
    sqlite_engine,
)

NOW = datetime(2025, 3, 7, 9, 0)


@pytest.fixture
def engine(tmp_path):
    engine = sqlite_engine(tmp_path / "warehouse.db")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ((), 1.0),
        (("website",), 4 / 5),
        (("tax_code", "address", "head"), 2 / 5),
        (tuple(KEY_ATTRIBUTES["organization"]), 0.0),
    ],
)
def test_completeness_counts_json_null_as_missing(engine, missing, expected):
    data = sample_data("organization", "stinet", "ST-ORG-0042")
    assert all(data[a] is not None for a in KEY_ATTRIBUTES["organization"])
    for attribute in missing:
        data[attribute] = None
    with engine.begin() as conn:
        apply_events(conn, [make_event("organization", "ST-ORG-0042", data, portal="stinet")])
    (row,) = collect(engine, NOW).entities
    assert row["completeness"] == pytest.approx(expected)
    assert (row["portal"], row["entity_type"], row["current"]) == ("stinet", "organization", 1)


def test_receipts_of_a_run_without_extract_counts_show_as_unknown_portal(engine):
    with engine.begin() as conn:
        conn.execute(insert(run_extracts), [{
            "run_id": "hoip-20250305T033000Z-8089ac98", "portal": "hoip", "stream": "programmes",
            "fetched": 2, "published": 2, "dead_lettered": 0, "events": 2,
            "recorded_at": datetime(2025, 3, 5, 3, 31)}])
        conn.execute(insert(load_receipts), [
            {"topic": "ecohub.programme.v1", "kafka_partition": 0, "kafka_offset": i,
             "event_id": f"e{i}", "runid": runid, "entity_type": "programme",
             "outcome": "loaded", "received_at": datetime(2025, 3, 5, 3, 40)}
            for i, runid in enumerate(["hoip-20250305T033000Z-8089ac98",
                                       "hoip-20250305T033000Z-8089ac98",
                                       "replay-hoip-20250306T000000Z-00000000"])
        ])
    data = collect(engine, NOW)
    by_portal = {p["portal"]: p for p in data.portals}
    assert by_portal["hoip"]["loaded"] == 2
    assert by_portal[UNKNOWN_PORTAL]["loaded"] == 1
    assert by_portal[UNKNOWN_PORTAL]["runs"] == 0
    assert data.headline["loaded"] == 3


def test_failed_expectation_names_are_counted_per_quarantined_row(engine):
    rows = [
        ["technology_offer.title.present", "technology_offer.price.format"],
        ["technology_offer.title.present"],
        ["envelope.id.is_uuid"],
    ]
    with engine.begin() as conn:
        conn.execute(insert(quarantine), [
            {"topic": "ecohub.technology_offer.v1", "kafka_partition": 1, "kafka_offset": i,
             "event_id": None, "runid": "techport-20250305T023000Z-15c0e81a",
             "entity_type": "technology_offer",
             "entity_key": f"techport:technology_offer:TP-{i:06d}",
             "failed_expectations": names, "event": None, "raw_value": None,
             "quarantined_at": datetime(2025, 3, 5, 2, 50)}
            for i, names in enumerate(rows)
        ])
    data = collect(engine, NOW)
    assert [(r["expectation"], r["failures"]) for r in data.expectations] == [
        ("technology_offer.title.present", 2),
        ("envelope.id.is_uuid", 1),
        ("technology_offer.price.format", 1),
    ]
    assert data.quarantine == [{"portal": "techport", "entity_type": "technology_offer",
                                "rows": 3, "latest": datetime(2025, 3, 5, 2, 50)}]


@pytest.mark.parametrize(
    ("dialect", "function"),
    [(postgresql.dialect(), "json_array_elements_text"), (sqlite.dialect(), "json_each")],
)
def test_failed_names_unnest_with_the_dialects_json_function(dialect, function):
    sql = str(_expectations_query(dialect.name).compile(dialect=dialect))
    assert f"{function}(" in sql


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path / "warehouse.db")
        init_db(engine)
        yield engine
        engine.dispose()
        return
    with postgres_schema_engine(request.getfixturevalue("postgres_database")) as engine:
        init_db(engine)
        yield engine


def _with_issues(source_id: str, portal: str, issues: list[dict]) -> dict:
    data = sample_data("organization", portal, source_id)
    data["issues"] = issues
    return make_event("organization", source_id, data, portal=portal)


def test_field_issues_are_counted_per_portal_and_kind_on_current_entities(any_engine):
    isbn = {"field": "dc:identifier", "kind": "isbn", "reason": "isbn: check digit", "value": "1"}
    date = {"field": "founded_date", "kind": "date", "reason": "not a valid date", "value": "x"}
    old = {"field": "end_date", "reason": "written before issues had a kind", "value": "y"}
    with any_engine.begin() as conn:
        apply_events(conn, [
            _with_issues("ORG-1", "stinet", [isbn, date]),
            _with_issues("ORG-2", "stinet", [date]),
            _with_issues("ORG-3", "hoip", [old]),
            _with_issues("ORG-4", "hoip", []),
        ])
    rows = {(r["portal"], r["kind"]): (r["issues"], r["entities"])
            for r in collect(any_engine, NOW).field_issues}
    assert rows == {("stinet", "date"): (2, 2), ("stinet", "isbn"): (1, 1),
                    ("hoip", "unspecified"): (1, 1)}
