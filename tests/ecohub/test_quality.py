"""The quality gate: suites on disk, row-level verdicts, severities."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from ecohub.catalog import ENTITY_TYPES
from ecohub.errors import ConfigError
from ecohub.quality import (
    SUITES_DIR,
    flatten_event,
    load_suite_file,
    validate_batch,
    validate_events,
)
from tests.fixtures.warehouse_sample import make_event, sample_data

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _event(entity_type: str, source_id: str = "SRC-0001", portal: str = "hoip", **data):
    return make_event(
        entity_type, source_id, sample_data(entity_type, portal, source_id, **data), portal=portal
    )


def _validator(entity_type: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / "entities" / f"{entity_type}.v1.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(
        schema, registry=Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    )


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_every_entity_type_has_a_suite_with_named_expectations(entity_type):
    suite = load_suite_file(SUITES_DIR / f"{entity_type}.json")

    names = [e["meta"]["name"] for e in suite["expectations"]]
    assert all(name.startswith(f"{entity_type}.") for name in names)
    assert all(e["meta"].get("why") for e in suite["expectations"])


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_the_test_samples_follow_the_event_contract(entity_type):
    data = sample_data(entity_type, "hoip", "SRC-0001")
    errors = [e.message for e in _validator(entity_type).iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_a_clean_event_of_every_type_passes(entity_type):
    verdict = validate_batch(entity_type, [_event(entity_type)])

    assert [f.expectations for f in verdict.failed] == []
    assert len(verdict.passed) == 1


CASES = [
    (
        "organization",
        {
            "tax_code": {
                "text": "0312345678",
                "valid": True,
                "value": "0312345678",
                "parent": "0399999999",
                "branch": None,
                "reason": None,
            }
        },
        ["organization.tax_code.parent_is_prefix"],
    ),
    (
        "organization",
        {"email_token": "nguyen.van.a@hcmut.edu.vn"},
        ["organization.email_token.is_hmac"],
    ),
    (
        "person",
        {"name": {"full_name": "PGS. Trần Văn Khoa", "titles": [], "as_served": "x"}},
        ["person.name.titles_split_out"],
    ),
    (
        "research_project",
        {
            "start_date": {"value": "2025-03-01", "text": "01/03/2025", "precision": "day"},
            "end_date": {"value": "2024-12-31", "text": "31/12/2024", "precision": "day"},
        },
        ["research_project.dates.ordered"],
    ),
    (
        "startup_project",
        {"approved_support_vnd": 2_500_000_000},
        ["startup_project.approved_support.within_caps"],
    ),
    (
        "technology_offer",
        {"title": "Ab", "fields": []},
        ["technology_offer.fields.at_least_one", "technology_offer.title.length"],
    ),
    (
        "support_application",
        {"decided_at": {"value": "2025-01-01T00:00:00.000Z", "text": "x", "precision": "instant"}},
        ["support_application.dates.ordered"],
    ),
]


@pytest.mark.parametrize(("entity_type", "damage", "expected"), CASES)
def test_a_bad_row_names_exactly_the_expectations_it_failed(entity_type, damage, expected):
    good = _event(entity_type, "SRC-0001")
    bad = _event(entity_type, "SRC-0002", **damage)
    verdict = validate_batch(entity_type, [good, bad])

    assert [r["id"] for r in verdict.passed] == [good["id"]]
    assert [(f.row["id"], list(f.expectations)) for f in verdict.failed] == [
        (bad["id"], sorted(expected))
    ]


def test_a_warning_is_reported_but_does_not_block_the_row():
    invalid_tax = {
        "text": "0312345679",
        "valid": False,
        "value": None,
        "parent": None,
        "branch": None,
        "reason": "checksum digit does not match",
    }
    verdict = validate_batch("organization", [_event("organization", tax_code=invalid_tax)])

    assert len(verdict.passed) == 1
    assert verdict.warnings == {0: ["organization.tax_code.valid"]}


def test_delete_events_only_need_a_valid_envelope():
    delete = make_event("technology_offer", "TP-TECH-18600", None, operation="delete")
    broken = make_event("technology_offer", "TP-TECH-18601", None, operation="delete", runid=None)
    verdict = validate_batch("technology_offer", [delete, broken])

    assert [r["id"] for r in verdict.passed] == [delete["id"]]
    assert [list(f.expectations) for f in verdict.failed] == [["envelope.runid.present"]]


def test_an_expectation_that_raises_fails_only_the_rows_that_make_it_raise():
    # a string in a range column makes GX raise inside the metric (reported under the
    # metric's id): the rows are bisected until the culprit stands alone; its neighbours are
    # judged on their own merits, the over-cap one fails the same check the normal way
    good = _event("startup_project", "SRC-0001")
    poison = _event("startup_project", "SRC-0002", approved_support_vnd="hai tỷ")
    over_cap = _event("startup_project", "SRC-0003", approved_support_vnd=3_000_000_000)
    rows = [good, poison, *[_event("startup_project", f"SRC-1{i:03d}") for i in range(5)], over_cap]

    verdict = validate_batch("startup_project", rows)

    assert len(verdict.passed) == 6 and good in verdict.passed
    assert [(f.row["id"], list(f.expectations)) for f in verdict.failed] == [
        (poison["id"], ["startup_project.approved_support.within_caps"]),
        (over_cap["id"], ["startup_project.approved_support.within_caps"]),
    ]
    assert verdict.batch_findings == []


def _mixed_batch() -> list[dict]:
    broken_delete = make_event("person", "ST-EXP-002", None, operation="delete", runid=None)
    return [
        _event("organization", "SRC-0001"),
        _event("organization", "SRC-0002", email_token="nguyen.van.a@hcmut.edu.vn"),
        _event("startup_project", "SRC-0003"),
        _event("startup_project", "SRC-0004", approved_support_vnd=2_500_000_000),
        {**_event("person", "SRC-0005"), "runid": None},
        make_event("technology_offer", "TP-TECH-18600", None, operation="delete"),
        broken_delete,
        make_event("laboratory", "ST-LAB-001", {"name": "Phòng thí nghiệm Vật liệu"}),
        _event("research_project", "SRC-0006"),
    ]


def test_a_mixed_batch_gets_the_verdict_each_type_gets_alone():
    rows = _mixed_batch()

    mixed = validate_events(rows)

    failed = {f.row["entitykey"]: list(f.expectations) for f in mixed.failed}
    assert failed == {
        "hoip:organization:SRC-0002": ["organization.email_token.is_hmac"],
        "hoip:startup_project:SRC-0004": ["startup_project.approved_support.within_caps"],
        "hoip:person:SRC-0005": ["envelope.runid.present"],
        "techport:person:ST-EXP-002": ["envelope.runid.present"],
        "techport:laboratory:ST-LAB-001": ["entitytype.has_a_suite"],
    }
    assert [r["entitykey"] for r in mixed.passed] == [
        "hoip:organization:SRC-0001",
        "hoip:startup_project:SRC-0003",
        "techport:technology_offer:TP-TECH-18600",
        "hoip:research_project:SRC-0006",
    ]
    alone: dict[str, list[str]] = {}
    for entity_type in {r["entitytype"] for r in rows}:
        verdict = validate_batch(entity_type, [r for r in rows if r["entitytype"] == entity_type])
        alone.update({f.row["entitykey"]: list(f.expectations) for f in verdict.failed})
    assert alone == failed


def test_an_entity_type_without_a_suite_fails_every_row():
    event = make_event("laboratory", "ST-LAB-001", {"name": "Phòng thí nghiệm Vật liệu"})
    verdict = validate_batch("laboratory", [event])

    assert [list(f.expectations) for f in verdict.failed] == [["entitytype.has_a_suite"]]


def test_flatten_event_exposes_nested_data_with_dots():
    row = flatten_event(_event("organization", "TP-NCC-0042", portal="techport"))

    assert row["data.tax_code.value"] == "0312345678"
    assert row["data.address.scheme"] == "pre_2025"
    assert row["sourceportal"] == "techport"
    assert (row["entityversion"], row["entityversion_ms"]) == ("1741159800000", 1741159800000)
    assert (row["_key_prefix"], row["_expected_key_prefix"]) == (
        "techport:organization",
        "techport:organization",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"name": "x", "expectations": [{"type": "expect_column_values_to_not_be_null", '
            '"kwargs": {"column": "a"}}]}',
            "unique meta.name",
        ),
        ('{"name": "x"}', "no 'expectations' list"),
        ("{not json", "unreadable"),
    ],
)
def test_a_malformed_suite_file_is_a_config_error(tmp_path, content, message):
    path = tmp_path / "organization.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_suite_file(path)


def test_a_failed_expectation_keeps_its_complete_result_and_later_batches_are_judged_anew():
    # each suite is screened BOOLEAN_ONLY and only its failed expectations run again COMPLETE;
    # GX's metric graphs are reused from batch to batch, never its data or verdicts
    good = [_event("organization", f"SRC-{i:04d}") for i in range(3)]
    bad = _event("organization", "SRC-0100", email_token="nguyen.van.a@hcmut.edu.vn")

    first = validate_batch("organization", good)
    second = validate_batch("organization", [*good, bad])
    third = validate_batch("organization", good)

    assert first.failed == [] and third.failed == []
    assert [list(f.expectations) for f in second.failed] == [["organization.email_token.is_hmac"]]
    results = [r for suite in second.results for r in suite.results]
    failed = [r for r in results if not r.success]
    assert [(r.expectation_config.meta["name"], r.result["unexpected_index_list"])
            for r in failed] == [("organization.email_token.is_hmac", [3])]
    assert len(results) == sum(
        len(load_suite_file(SUITES_DIR / f"{name}.json")["expectations"])
        for name in ("envelope", "organization"))


def test_the_validation_flattening_gives_every_column_a_suite_reads_its_value():
    from ecohub.quality import _flatten, _wanted, portal_names

    event = _event("organization", "SRC-0001")
    event["data"]["tax_code.value"] = "0399999999001"  # a dotted key: the last write wins
    event["data"]["address"] = {"scheme": {"nested": True}, "x.y": {"z": 1}}
    event["data"]["fields"] = ["a", "b"]
    wanted = _wanted(("envelope", "organization"), SUITES_DIR.resolve(), portal_names())
    full, part = flatten_event(event), _flatten(event, wanted)

    assert wanted.names and all(name.startswith("data.") for name in wanted.names)
    for column in {*wanted.names, *(f"len({n})" for n in wanted.names)}:
        assert (column in part, part.get(column)) == (column in full, full.get(column)), column
    assert {k: v for k, v in full.items() if not k.startswith(("data.", "len(data."))} == {
        k: v for k, v in part.items() if not k.startswith(("data.", "len(data."))}
