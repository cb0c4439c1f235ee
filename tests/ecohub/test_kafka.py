"""One Kafka module: every client the hub builds gets the same connection and security settings
from ``ecohub.kafka``, topic names are spelled once, and no other module imports the client
library. (Broker round trips are in tests/integration/test_kafka_events.py.)"""

from __future__ import annotations

import ast
import contextlib
import socket
from pathlib import Path
from typing import Any

import crc32c
import pytest
from kafka.codec import has_zstd, zstd_decode, zstd_encode
from kafka.errors import KafkaTimeoutError
from kafka.future import Future
from kafka.record.util import calc_crc32c

from ecohub import kafka
from ecohub.catalog import ENTITY_TYPES, SIDE_TOPICS, topic_name
from ecohub.contract import schema_index
from ecohub.doctor import check_kafka
from ecohub.errors import ConfigError, ServiceUnavailable
from ecohub.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
SECURE = {
    "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": "b1:9093,b2:9093",
    "ECOHUB_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
    "ECOHUB_KAFKA__SASL_USERNAME": "hub",
    "ECOHUB_KAFKA__SASL_PASSWORD": "s3cret-kafka",
}


class _Recorder:
    """Stands in for a client class: records the keyword arguments it was built with."""

    built: list[tuple[tuple[Any, ...], dict[str, Any]]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).built.append((args, kwargs))

    def list_topics(self) -> list[str]:
        return ["ecohub.organization.v1", "ecohub.person.v1", "other.topic"]

    def close(self) -> None:
        pass


def _recorder() -> type[_Recorder]:
    return type("Client", (_Recorder,), {"built": []})


def test_client_config_carries_every_security_setting():
    config = kafka.client_config(load_settings(SECURE).kafka)
    assert config == {
        "bootstrap_servers": ["b1:9093", "b2:9093"],
        "security_protocol": "SASL_SSL",
        "bootstrap_timeout_ms": 30_000,
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "hub",
        "sasl_plain_password": "s3cret-kafka",
    }


def test_plaintext_config_has_no_sasl_keys():
    config = kafka.client_config(load_settings({"ECOHUB_STACK_CREDENTIALS": "off"}).kafka)
    assert config == {
        "bootstrap_servers": ["127.0.0.1:9092"],
        "security_protocol": "PLAINTEXT",
        "bootstrap_timeout_ms": 30_000,
    }


def test_bootstrap_timeout_is_a_setting():
    """How long a client waits for a first broker is configurable (kafka-python's default is
    30 s); the loader lowers it to its outage budget."""
    env = {"ECOHUB_STACK_CREDENTIALS": "off", "ECOHUB_KAFKA__BOOTSTRAP_TIMEOUT_S": "2.5"}
    assert kafka.client_config(load_settings(env).kafka)["bootstrap_timeout_ms"] == 2_500


LOADER = {**SECURE, "ECOHUB_KAFKA__SASL_MECHANISM": "SCRAM-SHA-256",
          "ECOHUB_KAFKA__LOADER_SASL_USERNAME": "hub-loader",
          "ECOHUB_KAFKA__LOADER_SASL_PASSWORD": "s3cret-loader"}


@pytest.mark.parametrize(
    ("env", "role", "expected"),
    [
        (LOADER, "default", ("hub", "s3cret-kafka")),
        (LOADER, "loader", ("hub-loader", "s3cret-loader")),
        (SECURE, "loader", ("hub", "s3cret-kafka")),  # no principal of its own: the default one
    ],
)
def test_each_role_gets_its_principal(env, role, expected):
    config = kafka.client_config(load_settings(env).kafka, role)
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == expected
    assert config["sasl_mechanism"] == ("SCRAM-SHA-256" if env is LOADER else "SCRAM-SHA-512")


def test_the_loader_builds_its_clients_as_the_loader_principal(monkeypatch):
    """Only the loader's principal may read the restricted topic: its consumer, quarantine
    producer and topic check must all use it."""
    from ecohub import loader

    consumers, producers, admins = _recorder(), _recorder(), _recorder()
    monkeypatch.setattr(kafka, "KafkaConsumer", consumers)
    monkeypatch.setattr(kafka, "KafkaProducer", producers)
    monkeypatch.setattr(kafka, "KafkaAdminClient", admins)
    monkeypatch.setattr(kafka, "ensure_topics", lambda s, role="default": admins(role=role))

    settings = load_settings(LOADER)
    loader._quarantine_publisher(settings)
    # the recorders are not real clients: each job fails once it uses one, after building it
    with contextlib.suppress(AttributeError):
        loader.lag(settings)
    with contextlib.suppress(AttributeError, TypeError):
        loader.consume(settings, max_batches=1, idle_timeout_s=0, outage_timeout_s=0)
    users = {kw["sasl_plain_username"] for _a, kw in consumers.built + producers.built}
    assert users == {"hub-loader"}
    assert len(consumers.built) == 2 and len(producers.built) >= 2
    assert {kw["role"] for _a, kw in admins.built} == {"loader"}


@pytest.mark.parametrize("factory", ["producer", "consumer", "admin"])
def test_every_factory_passes_the_security_settings(monkeypatch, factory):
    client_class = {"producer": "KafkaProducer", "consumer": "KafkaConsumer",
                    "admin": "KafkaAdminClient"}[factory]
    recorder = _recorder()
    monkeypatch.setattr(kafka, client_class, recorder)
    settings = load_settings(SECURE)
    if factory == "producer":
        kafka.producer(settings, client_id="t")
    elif factory == "consumer":
        kafka.consumer(settings, "ecohub.person.v1", group_id="g")
    else:
        kafka.admin(settings)
    (_args, kwargs), = recorder.built
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_plain_password"] == "s3cret-kafka"


def test_the_producer_is_idempotent_and_overrides_win(monkeypatch):
    recorder = _recorder()
    monkeypatch.setattr(kafka, "KafkaProducer", recorder)
    kafka.producer(load_settings({}), client_id="t", linger_ms=5)
    (_args, kwargs), = recorder.built
    assert kwargs["acks"] == "all" and kwargs["enable_idempotence"] is True
    assert kwargs["compression_type"] == "zstd" and kwargs["linger_ms"] == 5


def test_the_client_runs_its_native_codec_and_checksum():
    """zstandard (kafka-python's zstd extra) and crc32c: without them the client fails on the
    first zstd batch, or silently checksums in pure Python (as much CPU as compressing)."""
    assert has_zstd()
    payload = b'{"entitykey":"person:1"}' * 100
    assert zstd_decode(zstd_encode(payload)) == payload and len(zstd_encode(payload)) < 100
    assert calc_crc32c.__defaults__ == (crc32c.crc32c,)
    assert calc_crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value


def test_doctor_uses_the_security_settings(monkeypatch):
    """Doctor used to build a bare admin client: a SASL cluster looked unreachable."""
    recorder = _recorder()
    monkeypatch.setattr(kafka, "KafkaAdminClient", recorder)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        env = {**SECURE, "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}
        check = check_kafka(load_settings(env))
    assert check.ok, check.detail
    assert "2 ecohub topics" in check.detail
    (_args, kwargs), = recorder.built
    assert kwargs["security_protocol"] == "SASL_SSL" and kwargs["sasl_plain_username"] == "hub"


def test_topic_names_are_spelled_once():
    settings = load_settings({"ECOHUB_KAFKA__TOPIC_PREFIX": "t1"})
    assert kafka.entity_topic("person", settings) == "t1.person.v1" == topic_name("person", "t1")
    assert kafka.entity_topics(settings) == [f"t1.{e}.v1" for e in ENTITY_TYPES]
    assert kafka.restricted_topic("t1") == "t1.restricted.pii.v1"
    index = schema_index(prefix="t1")
    assert {s: v["topic"] for s, v in index["topics"].items()} == {
        stem: topic_name(name, "t1") for stem, name in SIDE_TOPICS.items()
    }
    assert set(kafka.topic_plan(settings)) == {
        *(topic_name(e, "t1") for e in ENTITY_TYPES),
        *(topic_name(name, "t1") for name in SIDE_TOPICS.values()),
    }


def _imports_kafka_library(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name == "kafka" or a.name.startswith("kafka.") for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and (
            node.module == "kafka" or node.module.startswith("kafka.")
        ):
            return True
    return False


def test_only_ecohub_kafka_imports_the_client_library():
    """bench/ is left out: its peers are the bare clients ecohub is measured against."""
    shipped = [p for folder in ("ecohub", "connectors", "dags", "examples")
               for p in sorted((ROOT / folder).rglob("*.py"))]
    offenders = [str(p.relative_to(ROOT)) for p in shipped if _imports_kafka_library(p)]
    assert offenders == ["ecohub/kafka.py"]


@pytest.mark.parametrize(("outage_s", "expected_s"), [(1.0, 1.0), (0.2, 1.0), (120.0, 30.0)])
def test_the_loader_bounds_each_bootstrap_by_its_outage_budget(outage_s, expected_s):
    """A broker that is down is retried for ``outage_timeout_s``: one client's first
    connection must not wait longer than that on its own."""
    from ecohub import loader

    settings = load_settings({"ECOHUB_STACK_CREDENTIALS": "off"})
    bounded = loader._bootstrap_within(settings, outage_s)
    assert bounded.kafka.bootstrap_timeout_s == expected_s
    assert settings.kafka.bootstrap_timeout_s == 30.0  # the caller's settings are not changed
    assert bounded.kafka.bootstrap_servers == settings.kafka.bootstrap_servers


class _AckingProducer:
    """Stands in for KafkaProducer: each send's future is settled at flush, as the broker's
    acknowledgement would; a message whose key starts with ``bad`` is refused."""

    def __init__(self, **_config: Any) -> None:
        self.futures: list[tuple[Future, bytes]] = []

    def send(self, topic: str, *, key: bytes, value: bytes | None,
             headers: list[tuple[str, bytes]]) -> Future:
        future = Future()
        self.futures.append((future, key))
        return future

    def flush(self, timeout: float | None = None) -> None:
        for future, key in self.futures:
            if key.startswith(b"bad"):
                future.failure(KafkaTimeoutError("Batch expired"))
            else:
                future.success(None)
        self.futures = []

    def close(self, timeout: float | None = None) -> None:
        pass


def test_the_publisher_counts_what_the_broker_acknowledged_at_each_flush(monkeypatch):
    monkeypatch.setattr(kafka, "KafkaProducer", _AckingProducer)
    publisher = kafka.Publisher(load_settings({}), run_id="r1")
    out = [kafka.OutMessage("t.person", f"person:{i}", b"{}", [], "event:person")
           for i in range(3)]
    out += [kafka.OutMessage("t.restricted", "person:1", None, [], "restricted:tombstone"),
            kafka.OutMessage("t.deadletter", "x:1", b"{}", [], "deadletter:pii")]
    for message in out:
        publisher.send(message)
    counts = publisher.flush()
    assert (counts.published, counts.restricted, counts.dead_lettered) == (3, 1, 1)
    assert counts.by_entity_type == {"person": 3} and counts.dead_letter_reasons == {"pii": 1}

    publisher.send(kafka.OutMessage("t.person", "person:9", b"{}", [], "event:person"))
    publisher.send(kafka.OutMessage("t.person", "bad:1", b"{}", [], "event:person"))
    with pytest.raises(ServiceUnavailable) as raised:
        publisher.flush()
    assert "1 message(s) not acknowledged" in str(raised.value)
    assert raised.value.context["first"] == "event:person: KafkaTimeoutError: Batch expired"
    assert publisher.flush().by_entity_type == {"person": 4}  # the acknowledged one counted


def test_a_missing_codec_library_is_a_config_error_saying_what_to_install(monkeypatch):
    def refuses(**_config: Any) -> None:
        raise RuntimeError("Libraries for zstd compression codec not found")

    monkeypatch.setattr(kafka, "KafkaProducer", refuses)
    with pytest.raises(ConfigError) as raised:
        kafka.producer(load_settings({}), client_id="t")
    assert str(raised.value) == ("Libraries for zstd compression codec not found: install "
                                 "requirements.txt (make venv) (compression_type='zstd')")
