"""Every mapped field of every stream accepts any JSON value (issue #14, point 4).

A record as the simulators serve it is taken for each of the 15 streams; Hypothesis replaces
one of its fields (or an element inside a list/object field) by an arbitrary JSON value:
strings (very long ones too), numbers, booleans, null, lists, objects. The only exceptions that
may escape are the data-quality errors that dead-letter the record with a reason
(:class:`NormalizationError`, and :class:`SchemaValidationError` from the publisher's check);
anything else would stop the stream. A value that is mapped must never reach the event as a
Python repr (``{'a': 1}``, ``True``).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulators
from ecohub.errors import DataQualityError, NormalizationError
from ecohub.events import to_event, validate_event
from ecohub.normalize import normalize
from ecohub.records import SourceRecord

STREAMS = [
    ("stinet", "tasks"), ("stinet", "experts"), ("stinet", "laboratories"),
    ("stinet", "organizations"), ("techport", "cong-nghe"), ("techport", "nhu-cau"),
    ("techport", "nha-cung-cap"), ("techport", "tu-van"), ("techport", "tim-doi-tac"),
    ("hoip", "startup-projects"), ("hoip", "organizations"), ("hoip", "programs"),
    ("hoip", "challenges"), ("hoip", "support-applications"),
]
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
           | st.text(max_size=30) | st.text(min_size=2000, max_size=6000))
ANY_JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, min_size=1, max_size=3)
    | st.dictionaries(st.text(max_size=6), children, min_size=1, max_size=3),
    max_leaves=6,
)


@cache
def _portal(portal: str) -> Any:
    return simulators.build_portal(portal, scale="small", seed=42)


@cache
def served(portal: str, stream: str) -> dict[str, Any]:
    """A live, defect-free record of ``stream`` exactly as the simulator serves it."""
    resource = _portal(portal).resources[stream]
    i = next(i for i in range(len(resource.state)) if not resource.state.deleted[i]
             and not resource.defect(i))
    return resource.build(i)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _replace(data: dict[str, Any], path: list[Any], value: Any) -> None:
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[list[Any]]:
    """Every field, and every element of list/object fields (one level down)."""
    found: list[list[Any]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        found.append([*prefix, key])
        if isinstance(value, dict | list) and len(prefix) < 2:
            found += _paths(value, (*prefix, key))
    return found


def _check(record: SourceRecord, injected: Any) -> None:
    try:
        entities = normalize(record, pii_key=b"k")
    except NormalizationError as exc:
        assert exc.message  # the dead letter says why
        return
    forbidden = repr(injected) if isinstance(injected, dict | list | bool) else None
    for entity in entities:
        try:
            validate_event(to_event(entity, "run-test"))
        except DataQualityError as exc:  # dead-lettered by the publisher, with its reason
            assert exc.message
        if forbidden is not None:
            published = {k: v for k, v in entity.data.items() if k != "issues"}  # raw JSON kept
            for text in _strings(published):
                assert forbidden not in text, f"Python repr published: {text[:120]}"
        json.dumps(entity.data)


@pytest.mark.parametrize(("portal", "stream"), STREAMS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=ANY_JSON)
def test_json_stream_field_accepts_any_json_value(portal: str, stream: str, data: Any,
                                                  value: Any) -> None:
    row = copy.deepcopy(served(portal, stream))
    path = data.draw(st.sampled_from(_paths(row)))
    _replace(row, path, value)
    _check(SourceRecord(portal, stream, "1", row), value)  # the key comes from the connector


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), value=ANY_JSON)
def test_oai_document_field_accepts_any_json_value(sample: Any, data: Any, value: Any) -> None:
    record = copy.deepcopy(sample("stinet_doc").data)
    path = data.draw(st.sampled_from(_paths(record)))
    _replace(record, path, value)
    _check(SourceRecord("stinet", "documents", "oai:stinet.gov.vn:doc/1", record), value)


@pytest.mark.parametrize(("value", "json_type"), [
    ({"ho_ten": "Nguyễn Văn A"}, "object"), (["Nguyễn Văn A"], "array"), (True, "boolean")])
def test_person_field_of_the_wrong_type_is_an_issue_not_a_crash(value: Any,
                                                                json_type: str) -> None:
    row = copy.deepcopy(served("stinet", "tasks"))
    row["principal_investigator"] = value
    (task,) = normalize(SourceRecord("stinet", "tasks", str(row["id"]), row), pii_key=b"k")
    assert task.data["principal_investigator"] is None
    assert {"field": "principal_investigator", "kind": "type",
            "reason": f"expected text, got a JSON {json_type}",
            "value": json.dumps(value, ensure_ascii=False)} in task.data["issues"]


def test_object_in_a_text_field_is_not_published_as_its_repr() -> None:
    row = copy.deepcopy(served("techport", "cong-nghe"))
    row["mo_ta"] = {"vi": "Mô tả"}
    (offer,) = normalize(SourceRecord("techport", "cong-nghe", "1", row), pii_key=b"k")
    assert offer.data["description"] is None
    assert [i["kind"] for i in offer.data["issues"] if i["field"] == "mo_ta"] == ["type"]


def test_object_as_a_required_title_dead_letters_the_record_with_its_reason() -> None:
    row = copy.deepcopy(served("techport", "cong-nghe"))
    row["ten_cong_nghe"] = ["Máy sấy"]
    with pytest.raises(NormalizationError, match="'ten_cong_nghe' must be text, got a JSON array"):
        normalize(SourceRecord("techport", "cong-nghe", "1", row), pii_key=b"k")
