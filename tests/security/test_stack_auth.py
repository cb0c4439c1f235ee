"""The local stack runs with authentication: tried as another local process would, over real
connections to the checkout's stack (the one ``make test`` starts).

- Kafka (SASL/SCRAM-SHA-512, StandardAuthorizer): a client without credentials gets no answer to
  any request; a wrong password and an unknown user are refused (the broker logs each failed
  authentication); the publisher and reader principals are refused reading
  ``ecohub.restricted.pii.v1`` while the loader's principal reads it back.
- PostgreSQL (scram-sha-256): no password and a wrong password are refused, the stack's
  password file opens it.
- s3proxy: the old fixed development key pair is refused, the generated pair works.
- The secrets are in private files and not on any process's command line.
Controls (the right credentials succeed) show each refusal is the authentication, not an outage.
"""

from __future__ import annotations

import socket
import stat
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError, TopicAuthorizationFailedError
from sqlalchemy import create_engine, text

from ecohub.events import restricted_topic
from ecohub.kafka import ensure_topics
from ecohub.localstack import LocalStackCredentials
from ecohub.settings import load_settings
from infra import stack as services

pytestmark = pytest.mark.integration

RESTRICTED = restricted_topic("ecohub")
_FAILED_AUTH = "Failed authentication with /127.0.0.1"


@pytest.fixture(scope="module")
def stack() -> services.Stack:
    stack = services.Stack.default()
    rows = services.status(["postgres", "kafka", "s3"], stack)
    down = [r.name for r in rows if not r.ready]
    if down:
        pytest.fail(f"services {down} are not up: `make up`", pytrace=False)
    if not stack.auth or not stack.credentials_file.is_file():
        pytest.fail(f"the stack runs without credentials ({stack.credentials_file} missing): "
                    "restart it (`make down && make up`)", pytrace=False)
    return stack


@pytest.fixture(scope="module")
def creds(stack: services.Stack) -> LocalStackCredentials:
    found = stack.credentials()
    assert found is not None
    return found


def _kafka(stack: services.Stack, role: str, **changes: Any) -> dict[str, Any]:
    return {**services.kafka_client_config(stack, role), **changes,
            "request_timeout_ms": 5000, "bootstrap_timeout_ms": 5000}


def _broker_log_grows(stack: services.Stack, attempt: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run ``attempt``; return its outcome and the broker's failed-authentication lines it
    caused (waited for: the broker logs asynchronously)."""
    log = stack.log_file("kafka")
    before = log.stat().st_size
    outcome: Any
    try:
        outcome = attempt()
    except Exception as exc:
        outcome = exc
    deadline = time.monotonic() + 10
    while True:
        with log.open("rb") as handle:
            handle.seek(before)
            lines = [ln for ln in handle.read().decode(errors="replace").splitlines()
                     if _FAILED_AUTH in ln]
        if lines or time.monotonic() > deadline:
            return outcome, lines
        time.sleep(0.3)


# --------------------------------------------------------------------------- Kafka


def _metadata_request_v0(correlation: int) -> bytes:
    client = b"probe"
    body = struct.pack(">hhih", 3, 0, correlation, len(client)) + client + struct.pack(">i", 0)
    return struct.pack(">i", len(body)) + body


def test_kafka_answers_no_request_without_authentication(stack):
    """A Metadata request without a SASL handshake: the broker closes the connection without
    an answer (an open broker answers it; the control below shows this one is up)."""
    with socket.create_connection(("127.0.0.1", stack.kafka_port), timeout=10) as sock:
        sock.sendall(_metadata_request_v0(7))
        answer = sock.recv(4096)
    assert answer == b""
    admin = KafkaAdminClient(**_kafka(stack, "publisher"))
    try:
        assert admin.describe_cluster()["brokers"]  # control: the broker answers with SASL
    finally:
        admin.close()


def test_an_unauthenticated_kafka_client_is_refused(stack):
    with pytest.raises(KafkaError):
        KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap, request_timeout_ms=5000,
                         bootstrap_timeout_ms=5000).list_topics()  # fmt: skip


@pytest.mark.parametrize(
    ("username", "password"),
    [("ecohub-publisher", "not-the-password"), ("ecohub-intruder", "any-password")],
    ids=["wrong-password", "unknown-user"],
)
def test_wrong_kafka_credentials_are_refused(stack, creds, username, password):
    config = _kafka(stack, "publisher", sasl_plain_username=username,
                    sasl_plain_password=password)
    outcome, failures = _broker_log_grows(stack, lambda: KafkaAdminClient(**config).list_topics())
    assert isinstance(outcome, KafkaError), outcome
    assert failures, "the broker logged no failed authentication"
    assert all("invalid credentials with SASL mechanism SCRAM-SHA-512" in ln for ln in failures)
    assert password not in "".join(failures)


@pytest.fixture(scope="module")
def restricted_probe(stack) -> Iterator[bytes]:
    """A tombstone under a unique key on the restricted topic (erases nothing real)."""
    settings = load_settings({"ECOHUB_KAFKA__BOOTSTRAP_SERVERS": stack.kafka_bootstrap})
    ensure_topics(settings)
    key = f"security-probe:{uuid.uuid4().hex}".encode()
    producer = KafkaProducer(**_kafka(stack, "publisher"), acks="all")
    try:
        producer.send(RESTRICTED, key=key, value=None).get(timeout=30)
    finally:
        producer.close()
    yield key


def _read_keys(stack: services.Stack, role: str, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(**_kafka(stack, role), group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = consumer.end_offsets(partitions)
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        keys: list[bytes] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            assert time.monotonic() < deadline, "could not read the topic to its end"
            for records in consumer.poll(timeout_ms=1000).values():
                keys += [r.key for r in records]
        return keys
    finally:
        consumer.close()


@pytest.mark.parametrize("role", ["publisher", "reader"])
def test_other_principals_are_refused_reading_the_restricted_topic(stack, restricted_probe, role):
    with pytest.raises(TopicAuthorizationFailedError) as refused:
        _read_keys(stack, role, RESTRICTED)
    assert RESTRICTED in str(refused.value)


def test_the_loader_principal_reads_the_restricted_topic(stack, restricted_probe):
    assert restricted_probe in _read_keys(stack, "loader", RESTRICTED)


def test_the_hub_settings_use_the_loader_principal_for_loading(stack, creds):
    """What the loader's clients get from the settings is the loader's principal, so the ACL
    above is the one the real loader meets."""
    from ecohub.kafka import client_config

    settings = load_settings({"ECOHUB_KAFKA__BOOTSTRAP_SERVERS": stack.kafka_bootstrap})
    loader = client_config(settings.kafka, "loader")
    assert loader["sasl_plain_username"] == creds.principal("loader").username
    assert client_config(settings.kafka)["sasl_plain_username"] == "ecohub-publisher"


# --------------------------------------------------------------------------- PostgreSQL


@pytest.mark.parametrize(
    ("password", "error"),
    [(None, "no password supplied"), ("not-the-password", "password authentication failed")],
    ids=["no-password", "wrong-password"],
)
def test_postgres_refuses_a_missing_or_wrong_password(stack, password, error):
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(host="127.0.0.1", port=stack.pg_port, user="postgres", dbname="ecohub",
                        password=password, passfile="/nonexistent", connect_timeout=5)
    assert error in str(refused.value)


def test_postgres_opens_with_the_stack_password_file(stack, creds):
    assert f"passfile={stack.pgpass_file}" in services.WAREHOUSE_URL
    engine = create_engine(services.WAREHOUSE_URL)
    try:
        with engine.connect() as conn:
            method = conn.execute(text(
                "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid "
                "WHERE rolname = 'postgres'")).scalar()
            hba = conn.execute(text(
                "SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE error IS NULL")).all()
    finally:
        engine.dispose()
    assert method is True
    assert [row[0] for row in hba] == ["scram-sha-256"]


# --------------------------------------------------------------------------- S3


def _s3(stack: services.Stack, access: str, secret: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=stack.s3_endpoint_url, region_name=services.S3_REGION,
                        aws_access_key_id=access, aws_secret_access_key=secret)  # fmt: skip


def test_s3proxy_refuses_the_old_development_keys(stack, creds):
    with pytest.raises(ClientError) as refused:
        _s3(stack, "ecohub", "ecohub-secret").list_buckets()
    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    with pytest.raises(ClientError) as wrong_secret:
        _s3(stack, creds.s3_access_key, "ecohub-secret").list_buckets()
    assert wrong_secret.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    names = [b["Name"] for b in _s3(stack, *stack.s3_keys()).list_buckets()["Buckets"]]
    assert services.LANDING_BUCKET in names


# --------------------------------------------------------------------------- the secrets


def test_the_secrets_are_private_and_on_no_command_line(stack, creds):
    files = [stack.credentials_file, stack.pgpass_file, stack.kafka_dir / "server.properties"]
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(stack.credentials_file.parent.stat().st_mode) == 0o700
    secrets = [s.encode() for s in creds.secret_values()]
    leaks = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            leaks += [proc.name for s in secrets if s in argv]
    assert leaks == []
