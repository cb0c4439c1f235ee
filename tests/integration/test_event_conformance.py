"""The event contract as real clients see it: not the hub's own code, but the clients a
downstream developer would pick from docs/events/ alone.

A small real pipeline run (the Techport simulator, ``ecohub.pipeline.sync`` with one record made
to leak a clear e-mail past normalization so that the PII guard fires, a change step with
deletes, then ``ecohub.loader.consume``, which quarantines what fails the quality gate) fills
every hub topic under a unique prefix on the shared Kafka. Then every message of every topic is
read back with **confluent-kafka** (librdkafka, not the hub's kafka-python) and checked:

* entity topics: the **CloudEvents Python SDK's own Kafka binding** (``from_kafka_event``, which
  picks the content mode from the headers the way the binding spec says) parses every message;
  structured mode is the declared one (``content-type: application/cloudevents+json``, no
  ``ce_`` header); every extension attribute has a CloudEvents type (String, Boolean, 32-bit
  Integer); the key is the ``entitykey``;
* every topic: headers and value validate against the schemas that the committed AsyncAPI
  document (docs/events/asyncapi.yaml) declares for the channel, and ``data`` against its entity
  schema, with **jschon**, a JSON Schema 2020-12 implementation independent of both validators
  the hub uses (jsonschema and jsonschema-rs); the official AsyncAPI parser skips 2020-12
  payloads, so this is where they are really checked;
* dead letters raised by the PII guard say ``stage: pii`` and name the entity key.

The negative cases feed the same checker the previous envelope (v1: a ``ce_type`` header, an
integer ``entityversion`` beyond 32 bits, an object ``sourceref``) and must see it fail.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from cloudevents.core.bindings import kafka as ce_kafka
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition
from jschon import JSON, JSONSchema, create_catalog
from kafka import KafkaAdminClient

from tests.fixtures.kafka_topics import confluent_config, kafka_config

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI = ROOT / "docs" / "events" / "asyncapi.yaml"
SCHEMAS = ROOT / "schemas"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
# CloudEvents core attributes (the SDK types ``time`` as a datetime); anything else is an extension
CE_CORE = {"specversion", "id", "source", "type", "datacontenttype", "dataschema", "subject",
           "time"}
INT32 = range(-(2**31), 2**31)
LEAK = "lien.he.rieng@congty-vidu.vn"
PREFIX_OF: dict[str, str] = {}  # topic -> the run's topic prefix

create_catalog("2020-12")


@dataclass(frozen=True)
class Record:
    """One Kafka message as any client sees it."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        values = [v.decode() for k, v in self.headers if k == name]
        return values[0] if values else None


# --------------------------------------------------------------------------- the contract files
@cache
def asyncapi() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    return loaded


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    target: Any = asyncapi()
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return _resolve(target)


def channel_message(topic: str) -> dict[str, Any]:
    """The message the AsyncAPI document declares for a topic (whatever its prefix: the
    document names the default one, ``ecohub``)."""
    address = "ecohub." + topic.removeprefix(f"{PREFIX_OF[topic]}.")
    for channel in asyncapi()["channels"].values():
        if channel["address"] == address:
            (message,) = channel["messages"].values()
            return _resolve(message)
    raise AssertionError(f"the AsyncAPI document declares no channel {address!r}")


@cache
def _compiled(text: str) -> JSONSchema:
    return JSONSchema({**json.loads(text), "$schema": DRAFT_2020_12})


def schema_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    """jschon's verdict (2020-12), as readable error strings; [] when valid."""
    result = _compiled(json.dumps(schema, sort_keys=True)).evaluate(JSON(instance))
    if result.valid:
        return []
    output = result.output("basic")
    return [f"{e.get('instanceLocation')}: {e.get('error')}" for e in output.get("errors", [])
            if e.get("error")] or ["invalid"]


@cache
def entity_schema(entity_type: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (SCHEMAS / "entities" / f"{entity_type}.v1.json").read_text(encoding="utf-8"))
    return loaded


# --------------------------------------------------------------------------- the checks
def declared_problems(record: Record, address: str) -> list[str]:
    """Headers, key and value against what the AsyncAPI document declares for the topic."""
    message = channel_message(address)
    problems = []
    headers = {k: v.decode("utf-8", "replace") for k, v in record.headers}
    problems += [f"headers {e}" for e in schema_errors(_resolve(message["headers"]), headers)]
    if "key" not in message.get("bindings", {}).get("kafka", {}):
        problems.append("no Kafka key binding declared")
    if not record.key:
        problems.append("message without a key")
    if record.value is not None:  # a tombstone has no value to check
        payload = json.loads(record.value)
        problems += [f"value {e}" for e in schema_errors(message["payload"]["schema"], payload)]
    return problems


def binding_problems(record: Record) -> list[str]:
    """Why a message of an entity topic is not a CloudEvent in the declared (structured) mode
    of the Kafka protocol binding, as the CloudEvents SDK reads it; [] when it is."""
    problems = []
    binary = [k for k, _ in record.headers if k.lower().startswith("ce_")]
    if binary:
        problems.append(f"ce_ headers {binary} declare binary mode")
    content_type = record.header("content-type") or ""
    if not content_type.startswith("application/cloudevents+json"):
        problems.append(f"content-type {content_type!r} is not structured mode")
    message = ce_kafka.KafkaMessage(headers=dict(record.headers), key=record.key,
                                    value=record.value or b"")
    try:
        event = ce_kafka.from_kafka_event(message)
    except Exception as exc:  # the SDK's own verdict, whatever its exception type
        return [*problems, f"the CloudEvents SDK refused it: {type(exc).__name__}: {exc}"]
    attributes = event.get_attributes()
    for name, value in attributes.items():
        if name in CE_CORE:
            continue
        if isinstance(value, bool) or isinstance(value, str):
            continue
        if isinstance(value, int) and value in INT32:
            continue
        problems.append(f"extension {name}={value!r} has no CloudEvents type")
    if attributes.get("partitionkey") != attributes.get("entitykey"):
        problems.append("the message key is not the entitykey")
    data = event.get_data()
    if data is not None:
        errors = schema_errors(entity_schema(str(attributes.get("entitytype"))), data)
        problems += [f"data {e}" for e in errors]
    return problems


# --------------------------------------------------------------------------- a real run
def read_topic(bootstrap: str, topic: str) -> list[Record]:
    """Every message of a topic with confluent-kafka, from the beginning to the current end."""
    consumer = Consumer({**confluent_config(bootstrap), "group.id": f"conf-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                for p in partitions}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        remaining = {p for p, end in ends.items() if end > 0}
        records: list[Record] = []
        empty_polls = 0
        while remaining and empty_polls < 60:
            polled = consumer.poll(1.0)
            if polled is None:
                empty_polls += 1
                continue
            if polled.error():
                raise KafkaException(polled.error())
            records.append(Record(topic, polled.key(), polled.value(),
                                  tuple(polled.headers() or ())))
            if polled.offset() + 1 >= ends[polled.partition()]:
                remaining.discard(polled.partition())
        assert not remaining, f"{topic}: partitions {remaining} not read to their end"
        return records
    finally:
        consumer.close()


def _leaky_normalize(real: Any, leaked: dict[str, str]) -> Any:
    """``normalize`` that lets one clear e-mail through in one technology offer's description,
    as a mapping bug would: only the publisher's PII guard stands between it and the topic."""

    def normalize(record: Any, *, pii_key: bytes) -> Any:
        entities = real(record, pii_key=pii_key)
        for entity in entities:
            description = (entity.data or {}).get("description")
            if not leaked and entity.entity_type == "technology_offer" and description:
                entity.data["description"] = f"{description} Liên hệ: {LEAK}"
                leaked["entitykey"] = entity.entity_key
        return entities

    return normalize


@pytest.fixture(scope="module")
def run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    import simulators
    from ecohub import prepare
    from ecohub.kafka import ensure_topics
    from ecohub.loader import consume
    from ecohub.pipeline import sync
    from ecohub.settings import load_settings

    root = tmp_path_factory.mktemp("conformance")
    # Under "ecohub." so that the session cleanup of a concurrent test run (which removes the
    # topics created meanwhile, except the hub's) leaves them alone; deleted here at the end.
    tag = f"ecohub.conformance{uuid.uuid4().hex[:8]}"
    leaked: dict[str, str] = {}
    patch = pytest.MonkeyPatch()
    with simulators.start("techport", scale="small", seed=7, port=0) as server:
        settings = load_settings({
            "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
            "ECOHUB_KAFKA__TOPIC_PREFIX": tag,
            "ECOHUB_KAFKA__CONSUMER_GROUP": f"{tag}-loader",
            "ECOHUB_KAFKA__PARTITIONS": "2",
            "ECOHUB_WAREHOUSE_URL": f"sqlite:///{root}/wh.db",
            "ECOHUB_LANDING__URL": f"file://{root}/landing",
            "ECOHUB_TECHPORT__BASE_URL": server.url,
        })
        topics = ensure_topics(settings)
        PREFIX_OF.update(dict.fromkeys(topics, tag))
        try:
            # the leak is patched where the pipeline looks normalize up, and in this process
            # (normalize_workers=0): a worker process would import the real one
            patch.setattr(prepare, "normalize", _leaky_normalize(prepare.normalize, leaked))
            sync("techport", ["technologies", "consultants"],
                 settings=settings.model_copy(update={"normalize_workers": 0}))
            patch.undo()
            requests.post(f"{server.url}/_admin/advance", json={"steps": 3},
                          timeout=60).raise_for_status()
            sync("techport", ["technologies"], settings=settings, reconcile_deletes=True)
            consume(settings, idle_timeout_s=1.0)
            messages = {topic: read_topic(kafka_bootstrap, topic) for topic in topics}
            yield {"settings": settings, "messages": messages, "leaked": leaked}
        finally:
            patch.undo()
            admin = KafkaAdminClient(**kafka_config(kafka_bootstrap))
            try:
                admin.delete_topics(topics)
            finally:
                admin.close()


def _entity_topics(run: dict) -> list[str]:
    prefix = run["settings"].kafka.topic_prefix
    side = {f"{prefix}.deadletter.v1", f"{prefix}.quarantine.v1", f"{prefix}.restricted.pii.v1"}
    return [t for t in run["messages"] if t not in side]


# --------------------------------------------------------------------------- the tests
def test_the_run_fills_every_kind_of_topic(run):
    prefix = run["settings"].kafka.topic_prefix
    counts = Counter({t: len(m) for t, m in run["messages"].items()})
    assert counts[f"{prefix}.technology_offer.v1"] > 10
    for side in ("deadletter", "quarantine", "restricted.pii"):
        assert counts[f"{prefix}.{side}.v1"] >= 1, side
    deletes = [r for t in _entity_topics(run) for r in run["messages"][t]
               if json.loads(r.value or b"{}").get("operation") == "delete"]
    assert deletes, "the change step must delete something for the delete shape to be checked"


def test_the_cloudevents_sdk_parses_every_entity_message_in_structured_mode(run):
    checked, wrong = 0, []
    for topic in _entity_topics(run):
        for record in run["messages"][topic]:
            checked += 1
            problems = binding_problems(record) + declared_problems(record, topic)
            if problems:
                wrong.append((topic, record.key, problems[:3]))
    assert checked > 20
    assert wrong == []


def test_an_sdk_event_carries_the_documented_attributes(run):
    prefix = run["settings"].kafka.topic_prefix
    record = run["messages"][f"{prefix}.technology_offer.v1"][0]
    event = ce_kafka.from_kafka_event(
        ce_kafka.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value))
    attributes = event.get_attributes()
    assert attributes["specversion"] == "1.0"
    assert attributes["partitionkey"] == attributes["entitykey"] == attributes["subject"]
    assert attributes["entityversion"].isdigit()
    assert attributes["sourceportal"] == "techport"
    assert attributes["sourcestream"] == "technologies"
    assert attributes["time"].tzinfo is not None
    assert event.get_data()["portal"] == "techport"


@pytest.mark.parametrize("side", ["deadletter", "quarantine", "restricted.pii"])
def test_side_topic_messages_match_their_declared_headers_key_and_payload(run, side):
    topic = f"{run['settings'].kafka.topic_prefix}.{side}.v1"
    wrong = [(r.key, declared_problems(r, topic)) for r in run["messages"][topic]
             if declared_problems(r, topic)]
    assert run["messages"][topic]
    assert wrong == []


def test_a_pii_guard_dead_letter_says_stage_pii_and_names_the_entity(run):
    topic = f"{run['settings'].kafka.topic_prefix}.deadletter.v1"
    letters = [(r, json.loads(r.value)) for r in run["messages"][topic]]
    pii = [(r, letter) for r, letter in letters if letter["stage"] == "pii"]
    assert run["leaked"], "the leaky normalization found no technology offer to leak into"
    assert len(pii) == 1
    record, letter = pii[0]
    assert letter["entitykey"] == run["leaked"]["entitykey"]
    assert letter["error"] == "ClearPersonalData"
    assert record.header("stage") == "pii"
    assert LEAK not in record.value.decode("utf-8")  # the dead letter itself is scrubbed
    for topic_records in run["messages"].values():
        assert all(LEAK.encode() not in (r.value or b"") for r in topic_records)


# --------------------------------------------------------------------------- negative cases
def _as_v1(record: Record) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """The same event in the previous envelope: integer version, sourceref object."""
    event = json.loads(record.value or b"{}")
    ref = {"portal": event.pop("sourceportal"), "stream": event.pop("sourcestream"),
           "id": event.pop("sourceid"), "cursor": event.pop("sourcecursor", None)}
    event["entityversion"] = int(event["entityversion"])
    event["sourceref"] = ref
    return event, [h for h in record.headers if h[0] != "content-type"]


def _technology_offer(run: dict) -> Record:
    prefix = run["settings"].kafka.topic_prefix
    return run["messages"][f"{prefix}.technology_offer.v1"][0]


def test_the_previous_envelope_fails_the_binding_check(run):
    """v1 as it was sent: a ce_type header (binary mode to the SDK) over a structured value."""
    event, headers = _as_v1(_technology_offer(run))
    old = Record("t", event["entitykey"].encode(), json.dumps(event).encode(),
                 (("ce_type", event["type"].encode()), *headers))
    problems = binding_problems(old)
    assert any("declare binary mode" in p for p in problems)
    assert any("CloudEvents SDK refused it" in p for p in problems)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(lambda e: e.update(entityversion=int(e["entityversion"])),
                     "extension entityversion=", id="integer-beyond-32-bits"),
        pytest.param(lambda e: e.update(sourceref={"portal": e["sourceportal"]}),
                     "extension sourceref=", id="object-extension"),
    ],
)
def test_an_envelope_change_that_breaks_the_binding_is_caught(run, change, expected):
    """Structured mode kept, but an extension that CloudEvents cannot type: the SDK reads it
    without complaint, the conformance check must not."""
    record = _technology_offer(run)
    event = json.loads(record.value or b"{}")
    change(event)
    changed = Record(record.topic, record.key, json.dumps(event).encode(), record.headers)
    assert binding_problems(record) == []
    assert any(p.startswith(expected) for p in binding_problems(changed))


# --------------------------------------------------------------------------- the example app
class _Delivered:
    """A record as confluent-kafka's ``Message`` shows it to examples/consumer_app.py."""

    def __init__(self, record: Record) -> None:
        self._record = record

    def value(self) -> bytes | None:
        return self._record.value

    def key(self) -> bytes | None:
        return self._record.key

    def headers(self) -> list[tuple[str, bytes]]:
        return list(self._record.headers)


def test_the_example_consumer_built_from_the_docs_keeps_the_live_offers(run):
    import importlib.util

    spec = importlib.util.spec_from_file_location("consumer_app",
                                                  ROOT / "examples" / "consumer_app.py")
    assert spec is not None and spec.loader is not None
    app = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = app  # its dataclasses look their module up
    spec.loader.exec_module(app)
    prefix = run["settings"].kafka.topic_prefix
    offers = run["messages"][f"{prefix}.technology_offer.v1"]
    catalogue = app.Catalogue()
    for record in [*run["messages"][f"{prefix}.organization.v1"], *offers, *offers]:
        catalogue.apply(_Delivered(record))
    latest: dict[str, dict[str, Any]] = {}
    for record in offers:
        event = json.loads(record.value or b"{}")
        key = event["entitykey"]
        if key not in latest or int(event["entityversion"]) > int(latest[key]["entityversion"]):
            latest[key] = event
    live = {k for k, e in latest.items() if e["operation"] != "delete"}
    assert set(catalogue.offers) == live
    assert catalogue.skipped >= len(offers)  # the second pass is all duplicates
