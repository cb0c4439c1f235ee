"""H.OIP pushes and lineage: figures for the issue notes (``python -m bench.push``).

- push latency: one change at the H.OIP simulator (small scale) -> signed webhook -> ecohub's
  receiver (land, normalize, publish) -> loader (GX, warehouse). Seconds from the admin change
  to the delivery's acceptance, and to the new version in the warehouse (polled every 20 ms),
  over ``--changes`` changes made one after the other; median, p90, max. Side by side: the
  same change brought by an incremental pull (the hourly path), change -> warehouse.
- lineage cost: the same incremental-from-scratch sync of H.OIP ``organizations`` with the
  OpenLineage transport ``off`` and ``file`` (START/COMPLETE, schema and derived column
  lineage), seconds and ratio.

Local Kafka (127.0.0.1:9092, own topic prefix), SQLite warehouse and landing in a temp dir.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text


def _settings(tmp: Path, base_url: str, transport: str = "off") -> Any:
    from ecohub.settings import load_settings

    tag = uuid.uuid4().hex[:8]
    return load_settings({
        "ECOHUB_VAR_DIR": str(tmp), "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp}/wh-{tag}.db",
        "ECOHUB_LANDING__URL": f"file://{tmp}/landing-{tag}",
        # "ecohub." keeps concurrent test sessions' topic clean-up off them; removed at the end
        "ECOHUB_KAFKA__TOPIC_PREFIX": f"ecohub.bench{tag}",
        "ECOHUB_KAFKA__CONSUMER_GROUP": f"bp-{tag}",
        "ECOHUB_KAFKA__PARTITIONS": "1", "ECOHUB_HOIP__BASE_URL": base_url,
        "ECOHUB_WEBHOOKS__SECRET": f"bench-secret-{tag}", "ECOHUB_LINEAGE__TRANSPORT": transport,
    })


def _versions(settings: Any, key: str) -> int:
    from ecohub.db import get_engine

    with get_engine(settings.warehouse_url).connect() as conn:
        return int(conn.execute(text(
            "select count(*) from entity_version where portal='hoip' and source_id=:k"
        ), {"k": key}).scalar_one())


def _wait(predicate: Any, limit: float = 120.0) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > limit:
            raise TimeoutError("gave up waiting")
        time.sleep(0.02)
    return time.perf_counter() - start


def _change(url: str, key: str) -> None:
    requests.post(f"{url}/_admin/change", json={"resource": "organizations", "key": key,
                                                "op": "update"}, timeout=10).raise_for_status()


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return (f"median {statistics.median(ordered):.2f} s, p90 {p90:.2f} s, "
            f"max {ordered[-1]:.2f} s (n={len(ordered)})")


def push_latency(changes: int) -> None:
    import simulators
    from ecohub.loader import consume
    from ecohub.pipeline import sync
    from ecohub.webhooks import ReceiverServer, subscribe

    tmp = Path(tempfile.mkdtemp(prefix="bench-push-"))
    keys = [f"org_{i:07d}" for i in range(10, 10 + changes)]
    with simulators.start("hoip", scale="small", seed=9, port=0) as sim:
        settings = _settings(tmp, sim.url)
        sync("hoip", ["organizations"], settings=settings)
        loader = threading.Thread(target=consume, args=(settings,),
                                  kwargs={"idle_timeout_s": 60.0}, daemon=True)
        loader.start()
        _wait(lambda: _versions(settings, keys[0]) == 1, 300)
        accepted, stored = [], []
        with ReceiverServer(settings, host="127.0.0.1", port=0) as server:
            subscribe(settings, resources=["organizations"], callback_url=server.url)
            for n, key in enumerate(keys, start=1):
                start = time.perf_counter()
                _change(sim.url, key)
                _wait(lambda n=n: server.receiver.health()["accepted"] == n)
                accepted.append(time.perf_counter() - start)
                _wait(lambda key=key: _versions(settings, key) == 2)
                stored.append(time.perf_counter() - start)
        print(f"push: change -> receiver accepted    {_summary(accepted)}", flush=True)
        print(f"push: change -> warehouse version    {_summary(stored)}", flush=True)
        pulled = []
        for key in keys[:3]:  # the pull path, for comparison: change, then an incremental sync
            start = time.perf_counter()
            _change(sim.url, key)
            sync("hoip", ["organizations"], settings=settings)
            _wait(lambda key=key: _versions(settings, key) == 3)
            pulled.append(time.perf_counter() - start)
        loader.join(timeout=180)
    print(f"pull: change -> sync -> warehouse    {_summary(pulled)} (plus up to the schedule, "
          "hourly)")


def lineage_cost(rounds: int) -> None:
    import simulators
    from ecohub.pipeline import sync

    tmp = Path(tempfile.mkdtemp(prefix="bench-lineage-"))
    timings: dict[str, list[float]] = {"off": [], "file": []}
    with simulators.start("hoip", scale="small", seed=9, port=0) as sim:
        sync("hoip", ["organizations"], settings=_settings(tmp, sim.url))  # warm-up, not timed
        for n in range(rounds):
            for transport in (("off", "file") if n % 2 == 0 else ("file", "off")):
                settings = _settings(tmp, sim.url, transport)
                start = time.perf_counter()
                sync("hoip", ["organizations"], settings=settings)
                timings[transport].append(time.perf_counter() - start)
    off, on = statistics.median(timings["off"]), statistics.median(timings["file"])
    print(f"sync hoip/organizations, lineage off : median {off:.2f} s ({rounds} runs)")
    print(f"sync hoip/organizations, lineage file: median {on:.2f} s ({rounds} runs)")
    print(f"lineage cost ratio file/off: {on / off:.2f}")


def _drop_bench_topics() -> None:
    from kafka import KafkaAdminClient

    from ecohub.kafka import client_config
    from ecohub.settings import load_settings

    admin = KafkaAdminClient(**client_config(load_settings().kafka))
    try:
        ours = [t for t in admin.list_topics() if t.startswith("ecohub.bench")]
        if ours:
            admin.delete_topics(ours)
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.push", description=__doc__)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--only", choices=["push", "lineage"], help="run one of the two")
    args = parser.parse_args(argv)
    try:
        if args.only != "lineage":
            push_latency(args.changes)
        if args.only != "push":
            lineage_cost(args.rounds)
    finally:
        _drop_bench_topics()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
