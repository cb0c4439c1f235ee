"""The envelope built by ecohub.events, checked with an independent validator."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ecohub.errors import ConfigError, SchemaValidationError
from ecohub.events import (
    event_headers,
    source_reference,
    to_event,
    topic_for,
    upgrade_envelope,
    validate_event,
)
from ecohub.normalize import normalize

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def load(relative: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / relative).read_text(encoding="utf-8"))


def test_every_sample_event_validates_independently(all_samples: list, pii_key: bytes) -> None:
    envelope = Draft202012Validator(load("envelope.v2.json"))
    count = 0
    for record in all_samples:
        for rec in normalize(record, pii_key=pii_key):
            event = to_event(rec, "run-test")
            assert list(envelope.iter_errors(event)) == []
            entity = Draft202012Validator(load(f"entities/{rec.entity_type}.v1.json"))
            assert list(entity.iter_errors(event["data"])) == []
            validate_event(event)
            count += 1
    assert count == 10


def test_envelope_matches_the_contract(sample: Any, pii_key: bytes) -> None:
    (rec,) = normalize(sample("techport_tech"), pii_key=pii_key)
    event = to_event(rec, "run-42")
    expected_id = str(uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_URL, "https://ecohub.hcmc.vn/events"),
                                 "techport:technology_offer:104211|1772332800000|update"))
    assert {k: v for k, v in event.items() if k != "data"} == {
        "specversion": "1.0",
        "id": expected_id,
        "source": "urn:ecohub:techport:cong-nghe",
        "type": "vn.hcmc.ecohub.technology_offer.update",
        "time": "2026-03-01T02:40:00Z",
        "subject": "techport:technology_offer:104211",
        "dataschema": "https://ecohub.hcmc.vn/schemas/entities/technology_offer/v1.json",
        "datacontenttype": "application/json",
        "operation": "update",
        "entitytype": "technology_offer",
        "entitykey": "techport:technology_offer:104211",
        "entityversion": "1772332800000",
        "sourceportal": "techport",
        "sourcestream": "cong-nghe",
        "sourceid": "104211",
        "landinguri": "s3://ecohub-landing/techport/cong-nghe/2026-03-01/run-test/page-1.json.gz",
        "runid": "run-42",
    }
    assert event_headers(event) == [
        ("content-type", b"application/cloudevents+json; charset=utf-8"),
        ("schema_id", b"technology_offer/v1"), ("run_id", b"run-42")]
    assert source_reference(event) == {"portal": "techport", "stream": "cong-nghe",
                                       "id": "104211", "cursor": None}


def test_replay_gives_the_same_id_and_delete_has_null_data(sample: Any, pii_key: bytes) -> None:
    first = to_event(normalize(sample("hoip_org"), pii_key=pii_key)[0], "run-1")
    second = to_event(normalize(sample("hoip_org"), pii_key=pii_key)[0], "run-2")
    assert first["id"] == second["id"]
    (deleted,) = normalize(sample("hoip_org", deleted=True, deleted_at="2026-03-03T00:00:00Z"),
                           pii_key=pii_key)
    event = to_event(deleted, "run-3")
    assert (event["data"], event["operation"], event["type"]) == (
        None, "delete", "vn.hcmc.ecohub.organization.delete")
    validate_event(event)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update(specversion="0.3"), "specversion"),
        (lambda e: e.pop("landinguri"), "'landinguri' is a required property"),
        (lambda e: e.update(landinguri=None), "landinguri"),
        (lambda e: e.update(runid=""), "runid"),
        (lambda e: e.update(type="vn.hcmc.ecohub.person.update"), "type does not match"),
        (lambda e: e.update(subject="x"), "subject must equal entitykey"),
        (lambda e: e.update(entityversion=str(int(e["entityversion"]) + 1)),
         "id is not the UUIDv5"),
        (lambda e: e.update(entityversion=int(e["entityversion"])), "entityversion"),
        (lambda e: e.update(entityversion="017"), "entityversion"),
        (lambda e: e.update(sourcecursor=None), "sourcecursor"),
        (lambda e: e.update(sourceref={"portal": "stinet"}), "sourceref"),
        (lambda e: e.pop("sourceid"), "'sourceid' is a required property"),
        (lambda e: e.update(sourceportal="hoip"), "entitykey must start with"),
        (lambda e: e["data"].update(org_kind="bank"), "data/org_kind"),
        (lambda e: e["data"].pop("name"), "'name' is a required property"),
        (lambda e: e["data"].update(email_token="itb@itb.ac.vn"), "data/email_token"),
        (lambda e: e.update(data=None), "data must be null exactly on delete"),
    ],
)
def test_invalid_events_are_refused_with_a_reason(sample: Any, pii_key: bytes, mutate: Any,
                                                  reason: str) -> None:
    event = copy.deepcopy(to_event(normalize(sample("stinet_org"), pii_key=pii_key)[0], "r"))
    mutate(event)
    with pytest.raises(SchemaValidationError, match=reason.replace("(", r"\(")):
        validate_event(event)


def test_topic_names() -> None:
    assert topic_for("technology_offer") == "ecohub.technology_offer.v1"
    assert topic_for("person", "test1") == "test1.person.v1"
    with pytest.raises(ConfigError, match="unknown entity type 'expert'"):
        topic_for("expert")


def test_events_name_the_key_of_their_pii_tokens(sample: Any, pii_key: bytes) -> None:
    """The key id travels with the tokens: rotating the key shows in every later event, and
    events without one (replays of history) still validate."""
    from ecohub.settings import load_settings

    (rec,) = normalize(sample("techport_tech"), pii_key=pii_key)
    old = load_settings({"ECOHUB_PII_HMAC_KEY": "first-key-0123456789abcdef"})
    new = load_settings({"ECOHUB_PII_HMAC_KEY": "second-key-0123456789abcdef"})
    named = load_settings({"ECOHUB_PII_KEY_ID": "2027-01"})
    ids = [s.pii_key_identifier() for s in (old, new, named)]
    assert ids[0] == old.pii_key_identifier() and ids[0] != ids[1] and ids[2] == "2027-01"
    assert all(len(i) <= 32 for i in ids) and "first-key" not in ids[0]
    for key_id in [*ids, None]:
        event = to_event(rec, "run-42", key_id)
        assert event.get("piikeyid") == key_id
        validate_event(event)
    with pytest.raises(SchemaValidationError):
        validate_event(to_event(rec, "run-42", "not a key id!"))
    with pytest.raises(ConfigError, match="pii_key_id"):
        load_settings({"ECOHUB_PII_KEY_ID": "not a key id!"})


def test_a_v1_envelope_is_read_as_v2_with_the_same_id(sample: Any, pii_key: bytes) -> None:
    """Compacted topics keep v1 events: readers upgrade them, ids and figures unchanged."""
    (rec,) = normalize(sample("techport_tech"), pii_key=pii_key)
    current = to_event(rec, "run-7")
    v1 = {k: v for k, v in current.items() if not k.startswith("source") or k == "source"}
    v1["entityversion"] = int(current["entityversion"])
    v1["sourceref"] = source_reference(current)
    upgraded = upgrade_envelope(v1)
    assert upgraded == current
    validate_event(upgraded)
    assert upgrade_envelope(current) is current  # already v2: untouched


def test_remembered_event_ids_and_times_are_the_computed_ones() -> None:
    import uuid

    from ecohub.events import EVENT_NAMESPACE, _time, event_id

    for _ in range(2):  # computed, then remembered
        assert event_id("stinet:document:x", 1, "update") == str(
            uuid.uuid5(EVENT_NAMESPACE, "stinet:document:x|1|update"))
        # typed: a bool version is spelled "True", never the remembered id of 1
        assert event_id("stinet:document:x", True, "update") == str(  # type: ignore[arg-type]
            uuid.uuid5(EVENT_NAMESPACE, "stinet:document:x|True|update"))
        assert _time(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
        assert _time(1_700_000_000_000) == "2023-11-14T22:13:20Z"
