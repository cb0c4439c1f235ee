"""The canonical event envelope: build it, validate it, name its topic.

Why here and not in the publisher: the warehouse loader, the quality gate, replay tools and
downstream apps all need the same envelope rules; the Kafka code only moves bytes. The envelope
is CloudEvents 1.0 plus ecohub extensions (``schemas/envelope.v2.json``); its ``id`` is a UUIDv5
over ``entitykey|entityversion|operation`` so that a replay of the same source state re-sends
the same id and consumers can de-duplicate (docs/events/delivery-semantics.md).

On Kafka an event travels in the CloudEvents Kafka protocol binding's **structured** content
mode: the value is the JSON event, the ``content-type`` header is :data:`CONTENT_TYPE`, and no
header starts with ``ce_`` (which would mean binary mode to every CloudEvents SDK). Extension
attributes are CloudEvents Strings: ``entityversion`` (epoch milliseconds) does not fit the
32-bit CloudEvents Integer, and the source reference is four flat ``source*`` attributes
because an extension cannot be an object. Envelope v1 (integer version, ``sourceref`` object)
may still sit on compacted topics: readers call :func:`upgrade_envelope` first
(docs/events/versioning.md).

Validation is two-step: the envelope schema, then ``data`` against the entity schema named by
``entitytype``, then the cross-field rules JSON Schema cannot say (``type`` agrees with
``entitytype`` and ``operation``, ``subject`` is the key, ``id`` is the deterministic one...).

Why two validators: the reference ``jsonschema`` validator costs ~3 ms an event, a quarter of a
sync's CPU at real scale, while the schemas compiled by ``jsonschema-rs`` (full 2020-12, the
same date-time checker) decide in a few microseconds. The compiled one is a fast path only: an
event it accepts is accepted, anything else goes to the reference validator, which gives the
reason (same message as ever) and has the last word. So nothing is checked less provided the
compiled validator never accepts what the reference rejects, which ``tests/ecohub/test_events.py``
checks on real events and on Hypothesis-made variants of them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker

from ecohub.catalog import SIDE_TOPICS, topic_name
from ecohub.contract import (
    CLOUDEVENTS_CONTENT_TYPE,
    ENTITY_TYPES,
    ENVELOPE_FILE,
    dataschema_url,
    entity_schema,
    load_schema,
)
from ecohub.errors import ConfigError, SchemaValidationError
from ecohub.portals import portal_names
from ecohub.records import CanonicalRecord, SourceRecord

__all__ = [
    "CONTENT_TYPE",
    "DELIVERY_FIELDS",
    "ENVELOPE_SCHEMA",
    "EVENT_NAMESPACE",
    "content_hash",
    "deadletter_topic",
    "event_headers",
    "event_id",
    "quarantine_topic",
    "restricted_topic",
    "schema_id",
    "side_message_validator",
    "source_reference",
    "to_event",
    "topic_for",
    "upgrade_envelope",
    "validate_event",
]

EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://ecohub.hcmc.vn/events")
# Envelope attributes that describe one *delivery* of an event, not the event: a re-read page,
# a full refresh or a replay sends the same event again from another run and landed page.
DELIVERY_FIELDS = frozenset({"runid", "landinguri"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ENVELOPE_SCHEMA = ENVELOPE_FILE
# The structured-mode content type of the CloudEvents JSON event format (Kafka binding 3.2).
CONTENT_TYPE = CLOUDEVENTS_CONTENT_TYPE


def topic_for(entity_type: str, prefix: str = "ecohub") -> str:
    """``<prefix>.<entity_type>.v1``; an unknown entity type is a configuration error."""
    if entity_type not in ENTITY_TYPES:
        raise ConfigError(f"unknown entity type {entity_type!r}; valid: {', '.join(ENTITY_TYPES)}")
    return topic_name(entity_type, prefix)


def deadletter_topic(prefix: str = "ecohub") -> str:
    return topic_name(SIDE_TOPICS["deadletter"], prefix)


def quarantine_topic(prefix: str = "ecohub") -> str:
    return topic_name(SIDE_TOPICS["quarantine"], prefix)


def restricted_topic(prefix: str = "ecohub") -> str:
    return topic_name(SIDE_TOPICS["restricted_pii"], prefix)


def schema_id(entity_type: str, version: int = 1) -> str:
    return f"{entity_type}/v{version}"


# An entity's event is built twice in a sync (checked, then encoded: ecohub.kafka.EventEncoder)
# and its id and time checked once more (_cross_field_problem): three UUIDv5 and three times
# per entity, ~8 % of a worker's CPU (py-spy). Both are pure; the last few are remembered
# (typed: f"{True}" is not f"{1}").
_RECENT = 256


@lru_cache(maxsize=_RECENT, typed=True)
def event_id(entity_key: str, entity_version: int, operation: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{entity_key}|{entity_version}|{operation}"))


def content_hash(event: Mapping[str, Any]) -> str:
    """sha256 of an event without its :data:`DELIVERY_FIELDS`, over canonical JSON.

    Two messages with one ``id`` and one content hash are the same event delivered twice (a
    consumer absorbs the second); one ``id`` with two hashes is a conflicting duplicate.
    Canonical means key order and whitespace do not matter, so the bytes of two copies may
    differ while their hash agrees. A v1 envelope is hashed as its v2 upgrade, so a v2 copy
    of an event loaded as v1 is the same event, not a conflict.
    """
    current = upgrade_envelope(dict(event))
    content = {k: v for k, v in current.items() if k not in DELIVERY_FIELDS}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=_RECENT, typed=True)
def _time(entity_version: int) -> str:
    moment = _EPOCH + timedelta(milliseconds=entity_version)
    millis = moment.microsecond // 1000
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{millis:03d}Z" if millis else f"{stamp}Z"


def _source_attributes(source: SourceRecord) -> dict[str, str]:
    """The source reference as CloudEvents String attributes (no null: absent instead)."""
    attributes = {"sourceportal": source.portal, "sourcestream": source.stream,
                  "sourceid": source.key}
    if source.cursor is not None:
        attributes["sourcecursor"] = str(source.cursor)
    return attributes


def source_reference(event: dict[str, Any]) -> dict[str, Any]:
    """``{portal, stream, id, cursor}`` of an (upgraded) event, for side messages and rows."""
    return {"portal": event["sourceportal"], "stream": event["sourcestream"],
            "id": event["sourceid"], "cursor": event.get("sourcecursor")}


def upgrade_envelope(event: dict[str, Any]) -> dict[str, Any]:
    """An event in the current envelope (v2); a v1 event (integer ``entityversion``,
    ``sourceref`` object) is converted, anything else is returned unchanged.

    Why: entity topics are compacted, so v1 events published before the change stay readable
    for years; every reader of the hub goes through here instead of knowing both shapes.
    The ``id`` does not change (it hashes the same digits).
    """
    ref = event.get("sourceref")
    version = event.get("entityversion")
    if not isinstance(ref, dict) and not (isinstance(version, int) and
                                          not isinstance(version, bool)):
        return event
    upgraded = {k: v for k, v in event.items() if k != "sourceref"}
    if isinstance(version, int) and not isinstance(version, bool):
        upgraded["entityversion"] = str(version)
    if isinstance(ref, dict):
        for name in ("portal", "stream", "id", "cursor"):
            if ref.get(name) is not None:
                upgraded[f"source{name}"] = str(ref[name])
    return upgraded


def to_event(
    rec: CanonicalRecord, run_id: str, pii_key_id: str | None = None
) -> dict[str, Any]:
    """The envelope of one canonical record, exactly as specified (see module doc).

    ``pii_key_id`` (the optional ``piikeyid`` extension) names the key of the record's PII
    tokens, so a rotated key is visible in every event without reloading history."""
    source = rec.source
    event = {
        "specversion": "1.0",
        "id": event_id(rec.entity_key, rec.version, rec.operation),
        "source": f"urn:ecohub:{source.portal}:{source.stream}",
        "type": f"vn.hcmc.ecohub.{rec.entity_type}.{rec.operation}",
        "time": _time(rec.version),
        "subject": rec.entity_key,
        "dataschema": dataschema_url(rec.entity_type),
        "datacontenttype": "application/json",
        "operation": rec.operation,
        "entitytype": rec.entity_type,
        "entitykey": rec.entity_key,
        "entityversion": str(rec.version),
        **_source_attributes(source),
        "landinguri": source.landing_uri,
        "runid": run_id,
        "data": None if rec.operation == "delete" else rec.data,
    }
    if pii_key_id is not None:
        event["piikeyid"] = pii_key_id
    return event


def event_headers(event: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Kafka headers of an event: ``content-type`` (structured mode), ``schema_id`` (of
    ``data``), ``run_id``. Never a ``ce_`` header: that would declare binary mode."""
    return [
        ("content-type", CONTENT_TYPE.encode()),
        ("schema_id", schema_id(str(event["entitytype"])).encode()),
        ("run_id", str(event["runid"]).encode()),
    ]


# --------------------------------------------------------------------------- validation
def _format_checker() -> FormatChecker:
    """Only the formats our schemas use, checked without optional packages."""
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or _is_date_time(value)

    return checker


def _is_date_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _validator(relative: str) -> Draft202012Validator:
    """Built once per schema and set of registered portals (their enums and key patterns)."""
    return _validator_for(relative, portal_names())


@cache
def _validator_for(relative: str, portals: tuple[str, ...]) -> Draft202012Validator:
    """Checking the schema itself costs more than validating an event: once per key."""
    schema = load_schema(relative)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_format_checker())


def _entity_validator(entity_type: str) -> Draft202012Validator:
    entity_schema(entity_type)  # raises ConfigError on unknown types
    return _validator(f"entities/{entity_type}.v1.json")


def side_message_validator(stem: str) -> Draft202012Validator:
    """Validator of a side-topic message: ``deadletter``, ``restricted_pii``, ``quarantine``."""
    return _validator(f"{stem}.v1.json")


def _compiled(relative: str) -> Any:
    """The schema compiled by jsonschema-rs, with the reference validator's format checks."""
    return _compiled_for(relative, portal_names())


@cache
def _compiled_for(relative: str, portals: tuple[str, ...]) -> Any:
    """Compiled once per schema and set of registered portals."""
    return jsonschema_rs.validator_for(
        load_schema(relative), formats={"date-time": _is_date_time}, validate_formats=True
    )


def _compiled_accepts(relative: str, instance: Any) -> bool:
    """True only when the compiled validator accepts; any doubt (error) means False."""
    try:
        return bool(_compiled(relative).is_valid(instance))
    except Exception:  # e.g. a value it cannot convert: the reference decides
        return False


def _fast_valid(event: Any) -> bool:
    """The whole event check (envelope, cross-field rules, data) on the compiled schemas."""
    if not (isinstance(event, dict) and _compiled_accepts(ENVELOPE_SCHEMA, event)):
        return False
    if _cross_field_problem(event) is not None:
        return False
    data = event["data"]
    return data is None or (
        event["entitytype"] in ENTITY_TYPES
        and _compiled_accepts(f"entities/{event['entitytype']}.v1.json", data)
    )


def _first_error(validator: Draft202012Validator, instance: Any, where: str) -> str | None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    error = errors[0]
    path = "/".join(str(p) for p in error.absolute_path) or "(root)"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}/{path}: {error.message}{more}"


def _time_matches(event: dict[str, Any]) -> bool:
    try:
        return bool(event["time"] == _time(int(event["entityversion"])))
    except (OverflowError, ValueError):  # a version beyond datetime's range has no time
        return False


def _cross_field_problem(event: dict[str, Any]) -> str | None:
    entity_type, operation, key = event["entitytype"], event["operation"], event["entitykey"]
    portal, version = event["sourceportal"], int(event["entityversion"])
    checks = [
        (event["type"] == f"vn.hcmc.ecohub.{entity_type}.{operation}",
         "type does not match entitytype and operation"),
        (event["subject"] == key, "subject must equal entitykey"),
        (key.startswith(f"{portal}:{entity_type}:"),
         "entitykey must start with <portal>:<entitytype>:"),
        (event["dataschema"] == dataschema_url(entity_type),
         "dataschema does not name the entity schema"),
        (event["source"] == f"urn:ecohub:{portal}:{event['sourcestream']}",
         "source does not match sourceportal and sourcestream"),
        (event["id"] == event_id(key, version, operation),
         "id is not the UUIDv5 of entitykey|entityversion|operation"),
        (_time_matches(event), "time does not match entityversion"),
        ((event["data"] is None) == (operation == "delete"), "data must be null exactly on delete"),
    ]
    for ok, why in checks:
        if not ok:
            return why
    return None


def _reference_problem(event: dict[str, Any]) -> str | None:
    """The first reason an event is not valid per the reference validator, or ``None``."""
    problem = _first_error(_validator(ENVELOPE_SCHEMA), event, "envelope")
    if problem is None:
        problem = _cross_field_problem(event)
    if problem is None and event["data"] is not None:
        problem = _first_error(_entity_validator(event["entitytype"]), event["data"], "data")
    return problem


def validate_event(event: dict[str, Any]) -> None:
    """Raise :class:`SchemaValidationError` with the first reason an event is not valid
    (against the current envelope: readers :func:`upgrade_envelope` first)."""
    if _fast_valid(event):
        return
    problem = _reference_problem(event)
    if problem is not None:
        raise SchemaValidationError(
            problem,
            entitykey=event.get("entitykey") if isinstance(event, dict) else None,
            schema=schema_id(str(event.get("entitytype"))) if isinstance(event, dict) else None,
        )
