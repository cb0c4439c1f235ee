"""The peers ecohub is measured against, each on the same data and the same services.

- Kafka: ecohub's :class:`~ecohub.kafka.Publisher`, a bare kafka-python producer, a bare
  confluent-kafka (librdkafka) producer and Kafka's own ``ProducerPerformance`` (Java), all
  with the hub's producer settings (:data:`KAFKA_SETTINGS`: acks=all, idempotence, the hub's
  codec at each client's default level, linger 20 ms, 256 KiB batches) on the same payloads.
- PostgreSQL: ecohub's loader (GX + SCD2 history + staging + receipts + offsets) against a
  plain ``COPY`` of the same events into an unindexed table.

Each function returns ``(items, seconds, cpu_seconds_of_this_process)``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ecohub.kafka import PRODUCER_DEFAULTS

__all__ = [
    "KAFKA_SETTINGS",
    "bare_confluent",
    "bare_kafka_python",
    "copy_rows",
    "ecohub_publisher",
    "kafka_tools_classpath",
    "librdkafka_security",
    "producer_performance",
    "timed",
]

ROOT = Path(__file__).resolve().parents[1]
KAFKA_SETTINGS = {"acks": "all", "idempotence": True,
                  "compression": PRODUCER_DEFAULTS["compression_type"],
                  "linger_ms": PRODUCER_DEFAULTS["linger_ms"], "batch_bytes": 256 * 1024}
"""The hub's producer settings (``ecohub.kafka``), which every peer uses: a peer on another
codec or linger would measure something else."""

Payload = tuple[str, bytes, bytes]  # topic, key, value


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def librdkafka_security(security: dict[str, Any]) -> dict[str, Any]:
    """kafka-python connection settings (``ecohub.kafka.client_config``) in librdkafka's and
    the Java client's property names."""
    out: dict[str, Any] = {"bootstrap.servers": ",".join(security["bootstrap_servers"]),
                           "security.protocol": security["security_protocol"]}
    if "sasl_mechanism" in security:
        out |= {"sasl.mechanism": security["sasl_mechanism"],
                "sasl.username": security["sasl_plain_username"],
                "sasl.password": security["sasl_plain_password"]}
    return out


def bare_kafka_python(security: dict[str, Any], payloads: Sequence[Payload]) -> None:
    """``security``: the hub's connection settings (``ecohub.kafka.client_config``)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        **security, acks="all", enable_idempotence=True,
        compression_type=KAFKA_SETTINGS["compression"], linger_ms=KAFKA_SETTINGS["linger_ms"],
        batch_size=KAFKA_SETTINGS["batch_bytes"],
    )
    for topic, key, value in payloads:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def ecohub_publisher(settings: Any, messages: Sequence[Any]) -> None:
    """The hub's :class:`~ecohub.kafka.Publisher` sending prepared messages
    (:class:`~ecohub.kafka.OutMessage`, with their event headers): what a sync's main process
    does, the events being built and checked in worker processes (``ecohub.prepare``)."""
    from ecohub.kafka import Publisher

    publisher = Publisher(settings, run_id="bench-peers")
    for message in messages:
        publisher.send(message)
    counts = publisher.flush()
    publisher.close()
    if counts.published != len(messages):
        raise RuntimeError(f"Publisher: {counts.published} of {len(messages)} acknowledged")


def bare_confluent(security: dict[str, Any], payloads: Sequence[Payload]) -> None:
    from confluent_kafka import KafkaException, Producer

    failures: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    producer = Producer({
        **librdkafka_security(security), "acks": "all", "enable.idempotence": True,
        "compression.type": KAFKA_SETTINGS["compression"],
        "linger.ms": KAFKA_SETTINGS["linger_ms"], "batch.size": KAFKA_SETTINGS["batch_bytes"],
    })
    for topic, key, value in payloads:
        while True:
            try:
                producer.produce(topic, key=key, value=value, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(60) or failures:
        raise KafkaException(f"confluent-kafka: {len(failures)} failed, first {failures[:1]}")


def kafka_tools_classpath(work: Path) -> str | None:
    """The kafka-tools jars (infra/kafka-tools/pom.xml, bench-only), fetched by Maven once."""
    lib = work / "kafka-tools-lib"
    if not any(lib.glob("kafka-tools-*.jar")):
        if not shutil.which("mvn"):
            return None
        done = subprocess.run(
            ["mvn", "-B", "-q", "-f", str(ROOT / "infra" / "kafka-tools" / "pom.xml"),
             "dependency:copy-dependencies", "-DincludeScope=runtime",
             f"-DoutputDirectory={lib}"],
            capture_output=True, text=True, check=False, timeout=600,
        )
        if done.returncode != 0:
            print(f"kafka-tools not fetched: {(done.stdout + done.stderr)[-500:]}")
            return None
    return f"{lib}/*"


def producer_performance(
    classpath: str, security: dict[str, Any], topic: str, payloads: Sequence[Payload]
) -> tuple[int, float]:
    """Kafka's ProducerPerformance sending the same values (``--payload-file``); returns
    (records, records/s as it reports them). The connection settings go in a private
    ``--producer.config`` file: a SASL password never appears on the command line."""
    with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as handle:
        for _topic, _key, value in payloads:
            handle.write(value.replace(b"\n", b" ") + b"\n")
    props = librdkafka_security(security)
    if "sasl.username" in props:
        module = "scram.ScramLoginModule" if props["sasl.mechanism"].startswith("SCRAM") else (
            "plain.PlainLoginModule")
        props["sasl.jaas.config"] = (
            f"org.apache.kafka.common.security.{module} required "
            f'username="{props.pop("sasl.username")}" password="{props.pop("sasl.password")}";')
    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as config:
        config.write("".join(f"{k}={v}\n" for k, v in props.items()))  # 0600: mkstemp
    cmd = [
        "java", "-cp", classpath, "org.apache.kafka.tools.ProducerPerformance",
        "--topic", topic, "--num-records", str(len(payloads)), "--payload-file", handle.name,
        "--throughput", "-1", "--producer.config", config.name, "--producer-props", "acks=all",
        "enable.idempotence=true", f"compression.type={KAFKA_SETTINGS['compression']}",
        f"linger.ms={KAFKA_SETTINGS['linger_ms']}",
        f"batch.size={KAFKA_SETTINGS['batch_bytes']}",
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=900)
    finally:
        Path(handle.name).unlink(missing_ok=True)
        Path(config.name).unlink(missing_ok=True)
    sent = [line for line in done.stdout.splitlines() if "records sent" in line]
    if not sent or sent[-1].startswith("0 records"):
        print(f"ProducerPerformance: {done.stdout[-500:]} {done.stderr[-1000:]}")
    if not sent:
        raise RuntimeError("ProducerPerformance printed no summary")
    last = sent[-1]
    records, _, rest = last.partition(" records sent, ")
    return int(records), float(rest.split(" ", 1)[0])


def copy_rows(url: str, table: str, events: Sequence[dict[str, Any]]) -> None:
    """COPY the events (key, version, type, JSON) into a fresh unindexed table."""
    import json

    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (entitykey text, entityversion bigint, "
                     "entitytype text, event jsonb)")
        with conn.cursor() as cur, cur.copy(
            f"COPY {table} (entitykey, entityversion, entitytype, event) FROM STDIN"
        ) as copy:
            for e in events:
                copy.write_row((e["entitykey"], e["entityversion"], e["entitytype"],
                                json.dumps(e, ensure_ascii=False)))
        conn.commit()
