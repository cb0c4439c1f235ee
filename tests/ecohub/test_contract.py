"""Schema files, the BACKWARD compatibility gate and the AsyncAPI document."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from ecohub.contract import (
    ENTITY_TYPES,
    asyncapi_document,
    asyncapi_yaml,
    check_compatibility,
    check_directory,
    schema_index,
    validate_asyncapi,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"


def load(relative: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / relative).read_text(encoding="utf-8"))


@pytest.mark.parametrize("relative", ["envelope.v1.json", "envelope.v2.json", "deadletter.v1.json",
                                      "restricted_pii.v1.json", "quarantine.v1.json",
                                      *[f"entities/{t}.v1.json" for t in ENTITY_TYPES]])
def test_schema_files_are_valid_2020_12_schemas(relative: str) -> None:
    schema = load(relative)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_committed_schemas_are_backward_compatible_with_the_released_snapshot() -> None:
    assert check_directory(SCHEMAS) == {}


def test_index_is_up_to_date() -> None:
    assert load("index.json") == schema_index(SCHEMAS)


def test_removed_required_field_is_breaking() -> None:
    old = load("entities/organization.v1.json")
    new = copy.deepcopy(old)
    del new["properties"]["tax_code"]
    new["required"].remove("tax_code")
    assert check_compatibility(old, new) == ["$.tax_code: required field removed"]


def test_added_optional_field_is_compatible() -> None:
    old = load("entities/organization.v1.json")
    new = copy.deepcopy(old)
    new["properties"]["linkedin_url"] = {"type": ["string", "null"]}
    assert check_compatibility(old, new) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda s: (s["properties"].update(nickname={"type": "string"}),
                    s["required"].append("nickname")),
         "$.nickname: new required field without a default"),
        (lambda s: s["properties"].update(website={"type": "string"}),
         "$.website: type narrowed (no longer accepts null)"),
        (lambda s: s["properties"]["org_kind"]["enum"].remove("investor"),
         "$.org_kind: enum values removed ['investor']"),
        (lambda s: s["$defs"]["address"]["properties"].update(text={"type": "string",
                                                                    "maxLength": 200}),
         "$.address<anyOf0>.text: maxLength lowered"),
        (lambda s: s["$defs"]["taxCode"]["properties"]["value"].update(pattern=r"^\d{10}$"),
         "$.tax_code<anyOf0>.value: pattern added or changed"),
    ],
)
def test_breaking_changes_are_reported(change: Any, problem: str) -> None:
    old = load("entities/organization.v1.json")
    new = copy.deepcopy(old)
    change(new)
    assert check_compatibility(old, new) == [problem]


def test_new_required_field_with_default_is_compatible() -> None:
    old = load("envelope.v1.json")
    new = copy.deepcopy(old)
    new["properties"]["tenant"] = {"type": "string", "default": "hcmc"}
    new["required"].append("tenant")
    assert check_compatibility(old, new) == []


def test_committed_asyncapi_document_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "events" / "asyncapi.yaml").read_text(encoding="utf-8")
    hint = "run: python -m ecohub.contract asyncapi > docs/events/asyncapi.yaml"
    assert committed == asyncapi_yaml(), hint


def test_asyncapi_document_validates_against_the_asyncapi_3_schema() -> None:
    document = yaml.safe_load((ROOT / "docs" / "events" / "asyncapi.yaml").read_text())
    assert document["asyncapi"] == "3.0.0"
    assert validate_asyncapi(document) == []
    assert {c["address"] for c in document["channels"].values()} == {
        *(f"ecohub.{t}.v1" for t in ENTITY_TYPES), "ecohub.deadletter.v1",
        "ecohub.quarantine.v1", "ecohub.restricted.pii.v1"}


@pytest.mark.parametrize(
    ("message", "content_type", "headers"),
    [
        ("organization", "application/cloudevents+json", {"content-type", "schema_id", "run_id"}),
        ("deadletter", "application/json", {"schema_id", "run_id", "stage"}),
        ("quarantine", "application/json", {"failed_expectations"}),
        ("restricted_pii", "application/json", {"schema_id", "run_id"}),
    ],
)
def test_every_message_declares_its_headers_and_key(message: str, content_type: str,
                                                    headers: set[str]) -> None:
    document = asyncapi_document()
    declared = document["components"]["messages"][message]
    header_schema = declared["headers"]
    if "$ref" in header_schema:
        header_schema = document["components"]["schemas"][header_schema["$ref"].split("/")[-1]]
    assert declared["contentType"] == content_type
    assert set(header_schema["required"]) == set(header_schema["properties"]) == headers
    assert not any(h.startswith("ce_") for h in header_schema["properties"])
    assert declared["bindings"]["kafka"]["key"]["type"] == "string"


def test_entity_payloads_are_envelope_v2_with_string_extensions() -> None:
    payload = asyncapi_document()["components"]["messages"]["person"]["payload"]["schema"]
    assert payload["properties"]["entityversion"]["type"] == "string"
    assert "sourceref" not in payload["properties"]
    extensions = set(payload["properties"]) - {
        "specversion", "id", "source", "type", "time", "subject", "dataschema",
        "datacontenttype", "data"}
    assert all(payload["properties"][name].get("type", "string") == "string"
               for name in extensions)


def test_asyncapi_validation_detects_an_invalid_document() -> None:
    document = asyncapi_document()
    del document["info"]["title"]
    document["operations"]["publish_person"]["action"] = "publish"
    problems = validate_asyncapi(document)
    assert "info: 'title' is a required property" in problems
    assert any(p.startswith("operations/publish_person") for p in problems)
