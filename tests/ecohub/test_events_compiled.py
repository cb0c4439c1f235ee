"""The compiled (jsonschema-rs) fast path never accepts what the reference validator refuses.

``validate_event`` trusts the compiled schemas only when they accept; everything else is decided
by the reference ``jsonschema`` validator. So the one property that keeps "nothing is checked
less" true is: compiled accepts => reference accepts. It is checked here on every sample event
and on Hypothesis-made variants of them (one value replaced, removed or added anywhere).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecohub.errors import SchemaValidationError
from ecohub.events import _fast_valid, _reference_problem, to_event, validate_event
from ecohub.normalize import normalize


@pytest.fixture
def events(all_samples: list[Any], sample: Any, pii_key: bytes) -> list[dict[str, Any]]:
    """Every sample's events, plus a delete (data null)."""
    records = [*all_samples, sample("hoip_org", deleted=True, deleted_at="2026-03-03T00:00:00Z")]
    return [to_event(rec, "run-compiled") for r in records for rec in normalize(r, pii_key=pii_key)]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value (dict keys and list indexes), the root excluded."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, inner in items:
        found.append((*prefix, key))
        found += _paths(inner, (*prefix, key))
    return found


def _near_misses(original: Any) -> st.SearchStrategy[Any]:
    """Values a buggy compiled validator could let through: edge strings, numbers, types."""
    text = original if isinstance(original, str) else "x"
    number = original if isinstance(original, int) and not isinstance(original, bool) else 1
    return st.sampled_from([
        "", " ", text + "\n", "\n" + text, text.upper(), text + " ", text[:-1], text * 2,
        number + 1, number - 1, -number, float(number), number + 0.5, 2**70, -(2**70),
        True, False, None, [], {}, [text], {"k": text}, "2026-13-01", "٣",
        "hmac:sha256:" + "A" * 64,
    ]) | st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
        | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                    max_size=3),
        max_leaves=4,
    )


@st.composite
def _variants(draw: st.DrawFn, events: list[dict[str, Any]]) -> dict[str, Any]:
    event = copy.deepcopy(draw(st.sampled_from(events)))
    path = draw(st.sampled_from(_paths(event)))
    parent: Any = event
    for part in path[:-1]:
        parent = parent[part]
    action = draw(st.sampled_from(["replace", "remove", "add"]))
    if action == "remove":
        del parent[path[-1]]
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.text(max_size=6))] = draw(_near_misses(None))
    else:
        parent[path[-1]] = draw(_near_misses(parent[path[-1]]))
    return event


def test_every_sample_event_is_accepted_by_both_validators(events: list[dict[str, Any]]) -> None:
    assert len({e["entitytype"] for e in events}) >= 6
    for event in events:
        assert _reference_problem(event) is None
        assert _fast_valid(event) is True


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_compiled_accepts_only_what_the_reference_accepts(events: list[dict[str, Any]],
                                                          data: st.DataObject) -> None:
    event = data.draw(_variants(events))
    reference = _reference_problem(event)
    if _fast_valid(event):
        assert reference is None
    if reference is None:
        validate_event(event)
    else:
        with pytest.raises(SchemaValidationError) as raised:
            validate_event(event)
        assert raised.value.message == reference


def test_a_refused_event_keeps_the_reference_reason(events: list[dict[str, Any]]) -> None:
    event = copy.deepcopy(events[0])
    event["data"]["portal"] = "elsewhere"
    assert _fast_valid(event) is False
    with pytest.raises(SchemaValidationError, match=r"^data/portal: 'elsewhere' is not one of"):
        validate_event(event)
