"""ecohub benchmarks: ecohub and its peers side by side in one run (``make bench``).

What one run measures, on the portal simulators (own processes, faults off, rate limits
lifted) and the local Kafka / PostgreSQL:

1. **end to end**: ``ecohub.pipeline.sync`` of every stream of the chosen portals, then
   ``ecohub.loader.consume`` into a fresh warehouse database: records/s, peak RSS; then the
   **replay of the landing zone** that sync left (``ecohub.pipeline.replay_streams`` of every
   stream, no portal involved) to new topics and its consume into another fresh database;
2. **stage breakdown** on the same records, one stage at a time: fetch + land (connector
   read, file landing), normalize + validate (schemas, PII scan), publish (Kafka),
   quality gate (Great Expectations), load (SCD2 history, staging, receipts, offsets);
3. **peers**: the same event payloads through a bare kafka-python producer, a bare
   confluent-kafka producer and Kafka's own ``ProducerPerformance``; the same events COPYed
   into an unindexed table; and, when installed (``bench/requirements.txt``), a dlt pipeline
   loading the same simulators into its own database.

It writes ``docs/performance.md`` (table, ratios, the command, an SVG chart) unless
``--no-write``. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import peers, report
from infra.stack import WAREHOUSE_URL

ROOT = Path(__file__).resolve().parents[1]
# the local stack's server, its password file named (an authenticated stack)
PG_ADMIN_URL = WAREHOUSE_URL.replace("postgresql+psycopg://", "postgresql://").replace(
    "/ecohub", "/postgres", 1)
LIFTED = {"rate_limit": {"per_second": 100000, "burst": 100000}}
PUBLISHER_PEER = report.PUBLISHER_PEER


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="real", help="simulator scale (default real)")
    parser.add_argument("--portals", default="all",
                        help="comma-separated portals, or 'all' (default: the whole dataset, as "
                             "the throughput goal is stated; 14 min for make bench at real scale)")
    parser.add_argument("--kafka-records", type=int, default=40_000,
                        help="messages per producer run (payloads repeated to this count)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser


class Simulators:
    """The chosen portals' simulators, each in its own process (as the portals are)."""

    def __init__(self, portals: list[str], scale: str) -> None:
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.urls: dict[str, str] = {}
        for portal in portals:
            proc = subprocess.Popen(
                [sys.executable, "-m", "simulators", "--portal", portal, "--scale", scale,
                 "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=ROOT,
            )
            self.procs[portal] = proc
            assert proc.stdout is not None
            for line in proc.stdout:
                if "listening at " in line:
                    self.urls[portal] = line.split("listening at ", 1)[1].split()[0]
                if line.strip() == "ready":
                    break
            if portal not in self.urls:
                self.close()
                raise RuntimeError(f"{portal} simulator did not start")
            _post(self.urls[portal] + "/_admin/faults", LIFTED)

    def close(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            proc.wait(30)


def _post(url: str, body: dict[str, Any]) -> None:
    import requests

    requests.post(url, json=body, timeout=30).raise_for_status()


_CREATED: list[str] = []


def _fresh_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    _CREATED.append(name)
    return WAREHOUSE_URL.replace("/ecohub", f"/{name}", 1)


def _settings(sims: Simulators, prefix: str, warehouse: str, landing: str) -> Any:
    from ecohub.settings import load_settings

    return load_settings(_env(sims, prefix, warehouse, landing))


def _env(sims: Simulators, prefix: str, warehouse: str, landing: str) -> dict[str, str]:
    """The bench's ECOHUB_* settings, as variables (a sync subprocess gets them too)."""
    env = {
        "ECOHUB_KAFKA__TOPIC_PREFIX": prefix,
        "ECOHUB_KAFKA__CONSUMER_GROUP": f"{prefix}-loader",
        "ECOHUB_WAREHOUSE_URL": warehouse,
        "ECOHUB_LANDING__URL": f"file://{landing}",
        "ECOHUB_LOG_LEVEL": "WARNING",
    }
    for portal, url in sims.urls.items():
        env[f"ECOHUB_{portal.upper()}__BASE_URL"] = url
        env[f"ECOHUB_{portal.upper()}__RATE_LIMIT"] = "100000"
    return env


def _end_to_end(settings: Any, portals: list[str]) -> dict[str, Any]:
    from ecohub.kafka import ensure_topics
    from ecohub.loader import consume
    from ecohub.pipeline import sync

    idle = 5.0
    t0 = time.perf_counter()
    fetched = 0
    sync_seconds: dict[str, float] = {}
    for portal in portals:
        ensure_topics(settings)  # concurrent test sessions may delete others' topics
        t = time.perf_counter()
        fetched += sum(r.fetched for r in sync(portal, settings=settings, full_refresh=True))
        sync_seconds[portal] = time.perf_counter() - t
    ensure_topics(settings)
    t_load = time.perf_counter()
    stats = consume(settings, idle_timeout_s=idle)
    load_seconds = time.perf_counter() - t_load - idle  # consume waits `idle` s to see the end
    return {"records": fetched, "events": stats.loaded + stats.quarantined,
            "seconds": time.perf_counter() - t0 - idle, "sync_seconds": sync_seconds,
            "load_seconds": load_seconds}


def _side_by_side(env: dict[str, str], portals: list[str], *,
                  full_refresh: bool = True) -> dict[str, Any]:
    """Every portal's ``ecohub sync`` in its own process, all at once, while the loader
    consumes (in this process) what they publish: how the DAGs run them (a sync task per
    portal, the load on its own worker), both cores busy. The loader runs until every sync has
    ended and the lag is 0; its idle wait at the end is not counted."""
    from ecohub.kafka import ensure_topics
    from ecohub.loader import LoadStats, consume
    from ecohub.settings import load_settings

    settings = load_settings(env)
    ensure_topics(settings)
    idle = 5.0
    t0 = time.perf_counter()
    logs = {portal: tempfile.TemporaryFile("w+") for portal in portals}  # a pipe could fill
    procs = {portal: subprocess.Popen(
        [sys.executable, "-c", "from ecohub.cli import main; raise SystemExit(main())",
         "sync", portal, *(["--full-refresh"] if full_refresh else [])],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=logs[portal], text=True) for portal in portals}
    ended: dict[str, float] = {}

    def wait(portal: str, proc: subprocess.Popen[str]) -> None:
        proc.wait()
        ended[portal] = time.perf_counter() - t0

    waiters = [threading.Thread(target=wait, args=item, daemon=True) for item in procs.items()]
    for waiter in waiters:
        waiter.start()
    stats = LoadStats()
    while True:
        done = len(ended) == len(procs)
        # one consume to the end of what is published so far; again while a sync runs
        stats.merge(consume(settings, idle_timeout_s=idle))
        if done:
            break
    seconds = time.perf_counter() - t0 - idle
    failed = {p: _tail(logs[p]) for p, proc in procs.items() if proc.returncode != 0}
    for log in logs.values():
        log.close()
    if failed:
        raise RuntimeError(f"sync failed: {failed}")
    records = _published_records(settings, portals)
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"records": records, "events": stats.loaded + stats.quarantined,
            "seconds": seconds, "sync_seconds": ended, "peak_rss_mb": max(child, _peak_rss_mb())}


def _tail(log: Any) -> str:
    log.seek(0)
    return str(log.read()[-2000:])


def _published_records(settings: Any, portals: list[str]) -> int:
    """Source records the newest run of each portal's streams fetched (the sync subprocesses
    report them in the warehouse's run table, as ``ecohub status`` reads them)."""
    from ecohub.ops import last_runs

    return sum(row["fetched"] for row in last_runs(settings) if row["portal"] in portals)


def _replay(settings: Any, portals: list[str]) -> dict[str, Any]:
    """Replay every landed stream of ``portals`` (re-parse, normalize, check, publish), then
    consume the replayed events into the settings' (fresh) warehouse."""
    from ecohub.kafka import ensure_topics
    from ecohub.loader import consume
    from ecohub.pipeline import replay_streams

    idle = 5.0
    ensure_topics(settings)
    t0 = time.perf_counter()
    records = sum(r.fetched for portal in portals
                  for r in replay_streams(portal, settings=settings))
    replay_seconds = time.perf_counter() - t0
    ensure_topics(settings)
    t_load = time.perf_counter()
    stats = consume(settings, idle_timeout_s=idle)
    load_seconds = time.perf_counter() - t_load - idle
    return {"records": records, "events": stats.loaded + stats.quarantined,
            "seconds": replay_seconds + load_seconds, "replay_seconds": replay_seconds,
            "load_seconds": load_seconds}


def _read_all(settings: Any, portals: list[str], landing: str) -> list[Any]:
    from connectors import get_connector
    from ecohub.landing import Landing

    store = Landing.from_settings(settings.landing.model_copy(update={"url": f"file://{landing}"}))
    records = []
    for portal in portals:
        connector = get_connector(portal, settings)
        for stream in connector.stream_names:
            for batch in connector.read(stream, state=None, run_id=f"bench-{portal}",
                                        landing=store):
                records.extend(batch.records)
    return records


def _stages(settings: Any, portals: list[str], work: Path) -> dict[str, Any]:
    """Each stage alone over the same records: (items, seconds, cpu seconds)."""
    import ecohub.loader as loader
    from ecohub.db import get_engine
    from ecohub.errors import DataQualityError
    from ecohub.events import to_event
    from ecohub.kafka import Publisher, ensure_topics
    from ecohub.prepare import normalize_checked
    from ecohub.warehouse import init_db

    out: dict[str, Any] = {}
    wall, cpu, records = peers.timed(lambda: _read_all(settings, portals, str(work / "land2")))
    out["fetch + land"] = (len(records), wall, cpu)
    key = settings.pii_hmac_key.get_secret_value().encode()
    publisher = Publisher(settings, run_id="bench-stages")

    def normalize() -> list[Any]:
        canon = []
        for record in records:
            try:
                canon.extend(normalize_checked(record, key, publisher))
            except DataQualityError:
                continue
        return canon

    wall, cpu, canon = peers.timed(normalize)
    out["normalize + validate"] = (len(records), wall, cpu)

    ensure_topics(settings)

    def publish() -> None:
        for rec in canon:
            publisher.publish(rec, checked=True)
        publisher.close()

    wall, cpu, _ = peers.timed(publish)
    out[report.PUBLISH_STAGE] = (len(canon), wall, cpu)
    events = [to_event(rec, "bench-stages") for rec in canon]
    out["_events"] = events
    out["_canon"] = canon
    # quality gate and load: the loader's own batch function on messages built from events
    engine = get_engine(_fresh_database(
        settings.kafka.topic_prefix.replace("ecohub.", "").rstrip("s") + "_stages"))
    init_db(engine)
    messages = _messages(events, settings.kafka.topic_prefix)
    gx = {"seconds": 0.0, "cpu": 0.0}
    # the gate row times Great Expectations alone (the loader's validate_events call);
    # decoding, content hashes and the warehouse's known-event lookups are the load's work
    validate = loader.validate_events

    def timed_validate(*args: Any, **kwargs: Any) -> Any:
        wall, cpu, result = peers.timed(lambda: validate(*args, **kwargs))
        gx["seconds"] += wall
        gx["cpu"] += cpu
        return result

    loader.validate_events = timed_validate  # type: ignore[assignment]
    try:
        def load() -> None:
            size = loader.BATCH_SIZE  # the micro-batch consume() gathers
            for i in range(0, len(messages), size):
                loader.process_batch(engine, messages[i:i + size], group_id="bench")

        wall, cpu, _ = peers.timed(load)
    finally:
        loader.validate_events = validate  # type: ignore[assignment]
    out["quality gate (GX)"] = (len(messages), gx["seconds"], gx["cpu"])
    out["load (PostgreSQL)"] = (len(messages), wall - gx["seconds"], cpu - gx["cpu"])
    out["_load_url"] = str(engine.url.render_as_string(hide_password=False))
    engine.dispose()
    return out


def _messages(events: list[dict[str, Any]], prefix: str) -> list[Any]:
    import json

    from ecohub.events import event_headers, topic_for
    from ecohub.loader import Message

    offsets: dict[str, int] = {}
    out = []
    for event in events:
        topic = topic_for(event["entitytype"], prefix)
        offsets[topic] = offsets.get(topic, -1) + 1
        out.append(Message(topic, 0, offsets[topic], json.dumps(event).encode(),
                           event["entitykey"].encode(), tuple(event_headers(event))))
    return out


def _kafka_peers(settings: Any, events: list[dict[str, Any]], count: int,
                 work: Path) -> dict[str, Any]:
    import json

    from ecohub.events import event_headers
    from ecohub.kafka import OutMessage, client_config, ensure_topics

    security = client_config(settings.kafka)
    ensure_topics(settings)
    # one plain (not compacted) topic for all producers: ProducerPerformance sends no keys,
    # which a compacted entity topic refuses
    topic = _plain_topic(settings, f"{settings.kafka.topic_prefix}.producers")
    values = [json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode() for e in events]
    payloads = [(topic, events[i % len(events)]["entitykey"].encode(), values[i % len(values)])
                for i in range(count)]
    # the Publisher's messages: the same keys and values, with the headers every event carries
    headers = [event_headers(e) for e in events]
    messages = [OutMessage(topic, key.decode(), value, headers[i % len(events)],
                           f"event:{events[i % len(events)]['entitytype']}")
                for i, (_topic, key, value) in enumerate(payloads)]
    out: dict[str, Any] = {"_bytes": sum(len(v) for _, _, v in payloads) / len(payloads),
                           "_codec": peers.KAFKA_SETTINGS["compression"]}
    runs: dict[str, list[tuple[float, float]]] = {"kafka-python (bare)": [],
                                                   PUBLISHER_PEER: [],
                                                   "confluent-kafka (bare)": []}
    # The bench's heap (every record, event and payload of the run) is frozen while the
    # producers run: one full collection of it cost 0.3 s of a 0.65 s producer run and
    # fell on whichever producer crossed the collector's threshold, not on its own work.
    gc.collect()
    gc.freeze()
    try:
        _producers(security, settings, payloads, messages, runs)
    finally:
        gc.unfreeze()
    for name, timings in runs.items():
        wall, cpu = min(timings)
        out[name] = (count, wall, cpu)
    classpath = peers.kafka_tools_classpath(work)
    if classpath and _java_ok():  # best of two as well (its first run also warms the JIT)
        records, rate = max(peers.producer_performance(classpath, security, topic, payloads)
                            for _ in range(2))
        if records and rate > 0:
            out["Kafka ProducerPerformance (Java)"] = (records, records / rate, None)
        else:
            print(f"ProducerPerformance sent {records} records at {rate}/s: not counted")
    return out


def _producers(security: dict[str, Any], settings: Any, payloads: list[Any],
               messages: list[Any], runs: dict[str, list[tuple[float, float]]]) -> None:
    for _ in range(2):  # interleaved A/B, best of two each
        wall, cpu, _ = peers.timed(lambda: peers.bare_kafka_python(security, payloads))
        runs["kafka-python (bare)"].append((wall, cpu))
        wall, cpu, _ = peers.timed(lambda: peers.ecohub_publisher(settings, messages))
        runs[PUBLISHER_PEER].append((wall, cpu))
        try:
            wall, cpu, _ = peers.timed(lambda: peers.bare_confluent(security, payloads))
            runs["confluent-kafka (bare)"].append((wall, cpu))
        except ImportError:
            runs.pop("confluent-kafka (bare)", None)
            print("confluent-kafka not installed: bench/requirements.txt")


def _plain_topic(settings: Any, name: str) -> str:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    from ecohub.kafka import client_config

    admin = KafkaAdminClient(**client_config(settings.kafka))
    try:
        if name not in admin.list_topics():
            admin.create_topics([NewTopic(name, settings.kafka.partitions, 1)])
    finally:
        admin.close()
    return name


def _delete_topics(prefix: str) -> None:
    from kafka import KafkaAdminClient

    from ecohub.kafka import client_config
    from ecohub.settings import load_settings

    admin = KafkaAdminClient(**client_config(load_settings({}).kafka))
    try:
        mine = [t for t in admin.list_topics() if t.startswith(f"{prefix}")]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()


def _java_ok() -> bool:
    import shutil

    return shutil.which("java") is not None


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from ecohub.kafka import ensure_topics
    from ecohub.portals import portal_names

    portals = list(portal_names()) if args.portals == "all" else args.portals.split(",")
    tag = uuid.uuid4().hex[:6]
    # "ecohub." first: the integration suite's session cleanup deletes every other topic
    # created while it ran, including a concurrent bench's; the bench deletes its own at the end
    prefix = f"ecohub.bench{tag}"
    work = Path(tempfile.mkdtemp(prefix="ecohub-bench-"))
    started = datetime.now(UTC)
    sims = Simulators(portals, args.scale)
    try:
        warehouse = _fresh_database(f"bench{tag}_e2e")
        settings = _settings(sims, prefix, warehouse, str(work / "landing"))
        ensure_topics(settings)
        print(f"end to end: sync {','.join(portals)} at {args.scale} scale, then consume ...",
              flush=True)
        e2e = _end_to_end(settings, portals)
        e2e["peak_rss_mb"] = _peak_rss_mb()
        print(f"  {e2e['records']} records in {e2e['seconds']:.1f} s", flush=True)
        print("end to end side by side: every portal's sync and the loader at once ...",
              flush=True)
        side_env = _env(sims, f"{prefix}p", _fresh_database(f"bench{tag}_side"),
                        str(work / "landing-side"))
        side = _side_by_side(side_env, portals)
        print(f"  {side['records']} records in {side['seconds']:.1f} s", flush=True)
        print("incremental: one simulated hour of changes (~1.4 % of the records), then "
              "the same ...", flush=True)
        for url in sims.urls.values():
            _post(url + "/_admin/advance", {"steps": 1})
        incremental = _side_by_side(side_env, portals, full_refresh=False)
        print(f"  {incremental['records']} records in {incremental['seconds']:.1f} s",
              flush=True)
        print("replay of the landing zone, then consume ...", flush=True)
        replay = _replay(_settings(sims, f"{prefix}r", _fresh_database(f"bench{tag}_replay"),
                                   str(work / "landing")), portals)
        print(f"  {replay['records']} records in {replay['seconds']:.1f} s", flush=True)
        print("stages, one at a time ...", flush=True)
        stage_settings = _settings(sims, f"{prefix}s", warehouse, str(work / "landing2"))
        ensure_topics(stage_settings)
        stages = _stages(stage_settings, portals, work)
        events = stages.pop("_events")
        stages.pop("_canon")
        load_url = stages.pop("_load_url")
        print("peers: Kafka producers, COPY ...", flush=True)
        kafka = _kafka_peers(settings, events, args.kafka_records, work)
        wall, cpu, _ = peers.timed(lambda: peers.copy_rows(load_url, "bench_copy", events))
        copy = (len(events), wall, cpu)
        dlt = _dlt(sims, portals, f"bench{tag}")
    finally:
        sims.close()
        _delete_topics(prefix)
        _drop_databases()
    results = report.Results(
        command=" ".join(["make bench"] + ([f"BENCH_ARGS='{' '.join(argv)}'"] if argv else [])),
        started=started, scale=args.scale, portals=portals, e2e=e2e, stages=stages,
        kafka=kafka, copy=copy, dlt=dlt, replay=replay, side=side, incremental=incremental,
        machine=f"{platform.node()}: {os.cpu_count()} cores, load average "
                f"{os.getloadavg()[0]:.1f} at the end, Python {platform.python_version()}",
    )
    text = report.markdown(results)
    print(text)
    if not args.no_write:
        (ROOT / "docs" / "performance.md").write_text(text, encoding="utf-8")
        (ROOT / "docs" / "performance.svg").write_text(report.svg(results), encoding="utf-8")
    return 0


def _drop_databases() -> None:
    """The bench's databases go with it, as its topics do (a run left ~1 GB behind)."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        while _CREATED:
            conn.execute(f'DROP DATABASE IF EXISTS "{_CREATED.pop()}" WITH (FORCE)')


def _dlt(sims: Simulators, portals: list[str], prefix: str) -> dict[str, Any] | None:
    """The dlt peer in its own process (bench venv), or None when dlt is not installed."""
    import importlib.util

    if importlib.util.find_spec("dlt") is None:
        print("dlt not installed (bench/requirements.txt): peer skipped")
        return None
    from bench import dlt_peer

    url = _fresh_database(f"{prefix}_dlt")
    return dlt_peer.run(sims.urls, portals, url)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
