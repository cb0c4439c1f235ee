"""Canary secrets: configured once, then searched for in everything ecohub writes.

The CLI runs as an operator would (a child process each: ``sync -v``, ``config``, ``doctor -v``
and failing paths) with distinctive secrets in every secret setting. Afterwards every byte it
produced is searched: stdout and stderr (the logs, botocore's DEBUG log included), every file
under the run's var and landing directories (pages, manifests, the SQLite warehouse that holds
the state rows), and every Kafka message of the run's topics. Control assertions show that the
secrets were really used (the portal received the key, events were published), so an empty
search means masked, not unused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
from hostile import HostilePortal, Out, Req
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

import simulators
import simulators.techport
from infra import stack as services
from tests.fixtures.kafka_topics import kafka_config

pytestmark = pytest.mark.integration

CANARIES = {
    "ECOHUB_PII_HMAC_KEY": "canary-pii-key-Zq81mXw4e7Rt0p",
    "ECOHUB_TECHPORT__API_KEY": "canary-techport-Hk29sLq0",
    "ECOHUB_HOIP__CLIENT_SECRET": "canary-hoip-Vn38tPz1",
    "ECOHUB_LANDING__S3_ACCESS_KEY": "CANARYAKIDQX7MZ2",
    "ECOHUB_LANDING__S3_SECRET_KEY": "canary-s3-secret-Lw56yBn3",
}
PG_PASSWORD = "canary-pg-pass-Ty44"
S3_URL_PASSWORD = "canary-s3-userinfo-Jr72"
ALL = [*CANARIES.values(), PG_PASSWORD, S3_URL_PASSWORD]


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ecohub.cli", *args], env=env, capture_output=True, text=True,
        timeout=240, check=False,
    )


def _kafka_messages(prefix: str) -> list[bytes]:
    """Every key, value and header of every message in the run's topics, read to their ends."""
    consumer = KafkaConsumer(
        **kafka_config(services.KAFKA_BOOTSTRAP), auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None,
    )
    try:
        topics = [t for t in consumer.topics() if t.startswith(prefix + ".")]
        partitions = [TopicPartition(t, p) for t in topics
                      for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        found: list[bytes] = []
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            assert time.monotonic() < deadline, "could not read the run's topics to their end"
            for records in consumer.poll(timeout_ms=1000).values():
                for message in records:
                    found += [message.value or b"", message.key or b""]
                    found += [value for _, value in message.headers or []]
        return found
    finally:
        consumer.close()


def _delete_topics(prefix: str) -> None:
    admin = KafkaAdminClient(**kafka_config(services.KAFKA_BOOTSTRAP), request_timeout_ms=30000)
    try:
        ours = [t for t in admin.list_topics() if t.startswith(prefix + ".")]
        if ours:
            admin.delete_topics(ours)
    finally:
        admin.close()


def _require_kafka() -> None:
    """Fail loudly (never skip) when the stack's Kafka does not answer."""
    try:
        admin = KafkaAdminClient(
            **kafka_config(services.KAFKA_BOOTSTRAP), request_timeout_ms=10000
        )
        admin.close()
    except Exception as exc:
        pytest.fail(f"Kafka does not answer on {services.KAFKA_BOOTSTRAP} ({exc}): `make up`")


@pytest.fixture
def techport(monkeypatch):
    """The Techport simulator, accepting only the canary key."""
    monkeypatch.setattr(simulators.techport, "API_KEYS", frozenset({CANARIES[
        "ECOHUB_TECHPORT__API_KEY"]}))
    server = simulators.start("techport", port=0)
    yield server
    server.stop()


@pytest.fixture
def echoing_portal():
    """A portal that answers 403 and echoes every header it received (our key included)."""
    portal = HostilePortal()

    def echo(req: Req, out: Out) -> None:
        out.reply(403, repr(req.headers).encode())

    portal.routes["/api/v2/cong-nghe"] = echo
    yield portal
    portal.close()


def test_no_secret_reaches_any_output_file_row_or_message(tmp_path, techport, echoing_portal):
    _require_kafka()
    # under "ecohub.": concurrent integration sessions delete every other topic created while
    # they run (their cleanup); this test deletes its own topics at the end
    prefix = f"ecohub.canary{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ECOHUB_")},
        **CANARIES,
        "ECOHUB_VAR_DIR": str(tmp_path / "var"),
        "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/var/warehouse.db",
        "ECOHUB_LANDING__URL": f"file://{tmp_path}/var/landing",
        "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": services.KAFKA_BOOTSTRAP,
        "ECOHUB_KAFKA__TOPIC_PREFIX": prefix,
        "ECOHUB_TECHPORT__BASE_URL": techport.url,
    }
    broken = {
        **env,
        "ECOHUB_WAREHOUSE_URL": (
            f"postgresql+psycopg://ecohub:{PG_PASSWORD}@127.0.0.1:1/ecohub"
            f"?password={PG_PASSWORD}"
        ),
        "ECOHUB_LANDING__URL": "s3://ecohub-landing/canary",
        "ECOHUB_LANDING__S3_ENDPOINT_URL": f"http://user:{S3_URL_PASSWORD}@127.0.0.1:9000",
    }
    hostile = {**env, "ECOHUB_TECHPORT__BASE_URL": echoing_portal.url}
    try:
        runs = {
            "sync -v": _cli(["-v", "sync", "techport", "--stream", "technologies"], env),
            "config": _cli(["config"], broken),
            "doctor -v": _cli(["-v", "doctor"], broken),
            "sync, broken services -v": _cli(["-v", "sync", "techport"], broken),
            "sync, echoing portal -v": _cli(["-v", "sync", "techport"], hostile),
        }
        messages = _kafka_messages(prefix)
    finally:
        _delete_topics(prefix)

    # control: the run really used the secrets and produced what we search
    assert runs["sync -v"].returncode == 0, runs["sync -v"].stderr[-2000:]
    assert messages, "the sync published nothing: the search below would prove nothing"
    assert any(b'"piikeyid": "k-' in m or b'"piikeyid":"k-' in m for m in messages)
    files = [p for p in (tmp_path / "var").rglob("*") if p.is_file()]
    assert any("landing" in p.parts for p in files)
    assert any(p.name == "warehouse.db" for p in files)
    assert echoing_portal.seen and echoing_portal.seen[0].headers["X-API-Key"] == CANARIES[
        "ECOHUB_TECHPORT__API_KEY"]
    # the third-party debug log is on
    assert "DEBUG botocore" in runs["doctor -v"].stderr, runs["doctor -v"].stderr[-2000:]

    # failing paths fail with one classified line, never a traceback
    for name in ("sync, broken services -v", "sync, echoing portal -v"):
        assert runs[name].returncode in (1, 2, 3), (name, runs[name].stderr[-2000:])
        assert "Traceback" not in runs[name].stderr, name
        # one error line; -v DEBUG lines of client threads may come before or after it
        errors = [line for line in runs[name].stderr.splitlines() if line.startswith("ecohub: ")]
        assert len(errors) == 1, (name, runs[name].stderr[-2000:])
    assert runs["doctor -v"].returncode == 3, runs["doctor -v"].stdout[-2000:]

    haystacks = {f"{name} {stream}": getattr(run, stream).encode()
                 for name, run in runs.items() for stream in ("stdout", "stderr")}
    haystacks |= {str(p): p.read_bytes() for p in files}
    haystacks |= {f"kafka message {i}": m for i, m in enumerate(messages)}
    # the local stack's generated secrets too: the runs above used its Kafka principals
    creds = services.Stack.default().credentials()
    secrets = ALL + (creds.secret_values() if creds else [])
    leaks = [(where, secret) for where, data in haystacks.items() for secret in secrets
             if secret.encode() in data]
    assert leaks == []
