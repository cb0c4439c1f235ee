"""Services that go away: the private broker stopped and started during a sync or a load
(short and, in acceptance, long outages), the loader's database connection killed in the
middle of a transaction, poison messages on every partition."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from tests.faults import harness
from tests.faults.rig import ACCEPTANCE, LOAD_PACE, Trial, assert_like_reference, new_trial

pytestmark = [pytest.mark.integration, pytest.mark.faults]

# (outage seconds, trial): a bounce costs ~40 s (stop, outage, a JVM start), so acceptance runs
# 3 short ones at random points and the long one once, per phase
OUTAGES = [pytest.param(10, n, id=f"short-10s-{n}") for n in range(3 if ACCEPTANCE else 1)]
if ACCEPTANCE:
    OUTAGES.append(pytest.param(65, 0, id="long-65s"))


def _bounce(stack, seconds: float, during: Any, trial: Trial) -> None:
    """Stop the private broker, keep it down ``seconds``, start it again; assert the child
    ``during`` was still running when the broker had stopped (else nothing was tested)."""
    from infra.stack import down, up

    started = time.monotonic()
    down(["kafka"], stack)
    stopped = time.monotonic()
    overlapped = during.is_alive()
    time.sleep(seconds)
    up(["kafka"], stack)
    note = (f"broker stopped in {stopped - started:.1f}s with the child "
            f"{'running' if overlapped else 'already ended'}, down {seconds}s, back and "
            f"ready in {time.monotonic() - stopped - seconds:.1f}s")  # fmt: skip
    trial.log.append(note)
    print(f"\n{note}")
    assert overlapped, trial.log


def _outcome(trial: Trial, child: Any, what: str) -> None:
    back = time.monotonic()
    child.join(400)
    note = f"{what} during the bounce: exit {child.exitcode}, {time.monotonic() - back:.1f}s " \
           "after the broker was back"  # fmt: skip
    trial.log.append(note)
    print(note)


@pytest.mark.parametrize(("outage_s", "n"), OUTAGES)
def test_broker_bounce_during_a_sync(trial, reference, private_stack, rng, run_id, outage_s, n):
    run = run_id()
    trial.env["ECOHUB_TECHPORT__RATE_LIMIT"] = "2"  # ~20 pages: ~10 s, the broker stops mid-way
    sync = trial.start(harness.sync_child, run, False)
    trial.env["ECOHUB_TECHPORT__RATE_LIMIT"] = "1000"
    time.sleep(rng.uniform(0.5, 4.0))
    _bounce(private_stack, outage_s, sync, trial)
    _outcome(trial, sync, "sync")
    assert trial.sync(run, retries=2) == 0  # the retried task republishes what was unacked
    assert trial.consume() == 0
    assert_like_reference(trial, reference)


@pytest.mark.parametrize(("outage_s", "n"), OUTAGES)
def test_broker_bounce_during_a_load(synced, reference, private_stack, rng, outage_s, n):
    trial = synced
    patience = 120.0 if outage_s < 60 else 30.0
    options = {"idle_timeout_s": 2.0, "drain_timeout_s": 90.0, "outage_timeout_s": patience,
               "batch_size": LOAD_PACE}  # fmt: skip
    load = trial.start(harness.consume_child, options)
    time.sleep(rng.uniform(0.0, reference.load.first))  # stopped as the first batches land
    _bounce(private_stack, outage_s, load, trial)
    _outcome(trial, load, "load")
    if outage_s < 60:
        assert load.exitcode == 0, trial.log  # retried with backoff through a short outage
    else:
        assert trial.consume() == 0  # past its patience it stopped (exit 3); a rerun finishes
    assert_like_reference(trial, reference)


def _terminate_loader_connections(admin_url: str, database: str, deadline: float) -> int:
    """Kill the loader's backends of ``database`` as soon as one is inside a transaction."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    killed = 0
    try:
        with admin.connect() as conn:
            while time.monotonic() < deadline and not killed:
                killed = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid() "
                        "AND backend_xid IS NOT NULL"  # a transaction that has written
                    ),
                    {"db": database},
                ).scalar_one()
                time.sleep(0.02)
    finally:
        admin.dispose()
    return killed


def test_loader_database_connection_killed_mid_transaction(
    children, private_stack, simulator, tmp_path, reference, run_id
):
    from sqlalchemy.engine import make_url

    from tests.fixtures.warehouse_sample import POSTGRES_ADMIN_URL, temporary_postgres_database

    with temporary_postgres_database() as url:
        trial: Trial = new_trial(children, private_stack, simulator, tmp_path, url=url)
        assert trial.sync(run_id(), retries=2) == 0
        load = trial.start(harness.consume_child, {"idle_timeout_s": 2.0, "batch_size": 20})
        killed = _terminate_loader_connections(
            POSTGRES_ADMIN_URL, make_url(url).database or "", time.monotonic() + 120
        )
        load.join(300)
        assert killed >= 1
        assert load.exitcode == 0  # the batch was retried on a new connection
        assert_like_reference(trial, reference)
        from ecohub.db import get_engine

        get_engine(url).dispose()


def test_poison_messages_are_quarantined_and_every_partition_moves(
    trial, reference, private_stack, run_id
):
    from kafka import KafkaProducer

    from ecohub.kafka import ensure_topics
    from ecohub.warehouse.tables import quarantine
    from tests.fixtures.warehouse_sample import make_event, sample_data

    assert trial.sync(run_id(), retries=2) == 0
    settings = trial.settings
    ensure_topics(settings)
    topic = f"{settings.kafka.topic_prefix}.organization.v1"
    def poisons(partition: int) -> list[bytes]:
        sid = f"TP-NCC-99{partition}"  # one event per partition: copies would be absorbed
        good = make_event("organization", sid, sample_data("organization", "techport", sid))
        return [
            b"not json at all \xff",
            b"[1, 2, 3]",
            json.dumps({"id": 5, "entitytype": ["organization"]}).encode(),
            json.dumps({**good, "entityversion": "not-a-number"}).encode(),
        ]

    producer = KafkaProducer(bootstrap_servers=private_stack.kafka_bootstrap, acks="all")
    coordinates = set()
    for partition in range(3):
        for n, value in enumerate(poisons(partition)):
            key = f"poison-{partition}-{n}".encode()  # entity topics are compacted: keyed
            meta = producer.send(topic, key=key, value=value, partition=partition).get(timeout=30)
            coordinates.add((meta.topic, meta.partition, meta.offset))
    producer.close()

    assert trial.consume() == 0
    assert trial.lag() == 0  # every partition moved past its poison
    trial.verdicts()
    with create_engine(trial.url).connect() as conn:
        rows = conn.execute(
            select(quarantine.c.topic, quarantine.c.kafka_partition, quarantine.c.kafka_offset,
                   quarantine.c.failed_expectations)
        ).all()  # fmt: skip
    poisoned = {(t, p, o): names for t, p, o, names in rows if (t, p, o) in coordinates}
    assert set(poisoned) == coordinates
    assert all(poisoned.values())  # each with the names of the checks it failed
    found, expected = trial.fingerprint(), reference.fingerprint
    for part in ("current", "history", "staging"):
        assert found[part] == expected[part], part
    assert found["counts"]["quarantine"] == expected["counts"]["quarantine"] + len(coordinates)
