"""Services that go away: the broker stopped and started during a sync or a load (short and,
in acceptance, long outages; the trials run in :mod:`tests.faults.bounces`, started with the
session), the loader's database connection killed in the middle of a batch transaction
(side by side, each in a temporary database of its own on the shared PostgreSQL), poison
messages on every partition."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from tests.faults import harness
from tests.faults.bounces import bounce_ids
from tests.faults.rig import (
    ACCEPTANCE,
    LOAD_PACE,
    Trial,
    assert_like_reference,
    keyed_side_by_side,
    new_run_id,
    new_trial,
    selected,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]

# loader database connections killed, each in the k-th batch transaction of a load
DB_KILLS = int(os.environ.get("ECOHUB_FAULT_DB_KILLS") or (50 if ACCEPTANCE else 2))
DB_LANES = int(os.environ.get("ECOHUB_FAULT_DB_LANES") or 4)


# --------------------------------------------------------------------------- broker bounces
# (the trials run in tests/faults/bounces.py, started with the session: conftest.py)


@pytest.mark.parametrize("index", bounce_ids("sync")[0], ids=bounce_ids("sync")[1])
def test_broker_bounce_during_a_sync(bounces, index):
    trial = bounces[index].result()  # re-raises what the trial asserted
    assert any("broker stopped" in line for line in trial.log), trial.log


@pytest.mark.parametrize("index", bounce_ids("load")[0], ids=bounce_ids("load")[1])
def test_broker_bounce_during_a_load(bounces, index):
    trial = bounces[index].result()
    assert any("broker stopped" in line for line in trial.log), trial.log


# --------------------------------------------------------------------------- database kills


_HELD = text("SELECT pid, backend_xid IS NOT NULL AS writing FROM pg_stat_activity "
             "WHERE datname = :db AND :me = ANY(pg_blocking_pids(pid))")


def _batch_transactions(url: str, deadline: float, stop: Callable[[], bool],
                        kill: int | None = None) -> tuple[int, int | None]:  # fmt: skip
    """Count the loader's batch transactions, each held at its last write: the watcher keeps
    ``consumer_offsets`` locked (EXCLUSIVE: reads pass, writes wait), so every batch
    transaction waits there after writing its rows; one that has written (a transaction id)
    is counted, then let go (the lock is taken again at once, queued behind it, so no batch
    slips past uncounted). With ``kill``, the ``kill``-th is terminated while it waits:
    mid-transaction by construction, whatever the timing. Until ``stop()`` (the loader
    ended) or ``deadline``; returns the count and which one was killed."""
    from sqlalchemy.engine import make_url

    from tests.fixtures.warehouse_sample import POSTGRES_ADMIN_URL

    database = make_url(url).database
    locker_engine = create_engine(url)
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    count, killed = 0, None
    try:
        with admin.connect() as observer, locker_engine.connect() as locker:
            me = locker.execute(text("SELECT pg_backend_pid()")).scalar_one()
            locker.commit()
            lock = text("LOCK TABLE consumer_offsets IN EXCLUSIVE MODE")
            locker.execute(lock)
            while time.monotonic() < deadline and not stop() and killed is None:
                held = observer.execute(_HELD, {"db": database, "me": me}).all()
                if not held:
                    time.sleep(0.01)
                    continue
                for pid, writing in held:
                    count += writing
                    if writing and count == kill:
                        observer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                        killed = count
                locker.commit()  # let them go: each waiting lock is granted before ours
                if killed is None:
                    locker.execute(lock)
            locker.rollback()
    finally:
        locker_engine.dispose()
        admin.dispose()
    return count, killed


def _load_on_postgres(children: Any, stack: Any, simulator: Any, tmp: Path, url: str,
                      kill: int | None) -> tuple[Trial, int, int | None, int | None]:  # fmt: skip
    """A sync, then a load watched (``kill``: its ``kill``-th batch transaction killed):
    the trial, the batch transactions seen, which one was killed, the loader's exit code."""
    from ecohub.db import get_engine

    trial = new_trial(children, stack, simulator, tmp, url=url)
    assert trial.sync(new_run_id(), retries=2) == 0, trial.log
    get_engine(url).dispose()
    load = trial.start(harness.consume_child, {"idle_timeout_s": 2.0, "batch_size": LOAD_PACE})
    seen, killed = _batch_transactions(url, time.monotonic() + 120, lambda: not load.is_alive(),
                                       kill)  # fmt: skip
    load.join(300)
    trial.log.append(f"batch transactions seen: {seen}, killed: {killed}, "
                     f"loader exit {load.exitcode}")  # fmt: skip
    return trial, seen, killed, load.exitcode


@pytest.fixture(scope="module")
def batch_transactions(children, private_stack, simulator, reference, tmp_path_factory) -> int:
    """How many batch transactions an uninterrupted load on PostgreSQL makes: the range the
    kills are drawn from."""
    from tests.fixtures.warehouse_sample import temporary_postgres_database

    with temporary_postgres_database() as url:
        tmp = tmp_path_factory.mktemp("db-count")
        trial, seen, _, code = _load_on_postgres(children, private_stack, simulator, tmp, url,
                                                 None)  # fmt: skip
        assert code == 0, trial.log
        assert_like_reference(trial, reference)
        from ecohub.db import get_engine

        get_engine(url).dispose()
    print(f"\nan uninterrupted load on PostgreSQL: {seen} batch transactions")
    assert seen >= 1
    return seen


@pytest.fixture(scope="module")
def db_kills(request, children, private_stack, simulator, reference, seed, batch_transactions,
             tmp_path_factory) -> dict[int, Future[Any]]:  # fmt: skip
    """Every selected database kill, side by side on first use, each in a database of its own:
    the k-th batch transaction of the load killed, k drawn over the uninterrupted count."""
    from tests.fixtures.warehouse_sample import temporary_postgres_database

    def one(n: int) -> tuple[Trial, int, int | None, int | None]:
        k = random.Random(f"{seed}:db-kill:{n}").randint(1, batch_transactions)
        with temporary_postgres_database() as url:
            tmp = tmp_path_factory.mktemp(f"db-kill-{n}")
            trial, _, killed, code = _load_on_postgres(children, private_stack, simulator, tmp,
                                                       url, k)  # fmt: skip
            note = (f"db kill {n}: batch transaction {k} of {batch_transactions} drawn, "
                    f"{killed} killed, loader exit {code}")  # fmt: skip
            trial.log.append(note)
            print(f"\n{note}")
            if code == 0 and killed is not None:
                assert_like_reference(trial, reference)
            from ecohub.db import get_engine

            get_engine(url).dispose()
        return trial, k, killed, code

    return keyed_side_by_side(one, selected(request, "db_kills", "n"), DB_LANES)


@pytest.mark.parametrize("n", range(DB_KILLS))
def test_loader_database_connection_killed_mid_transaction(db_kills, n):
    trial, k, killed, code = db_kills[n].result()  # the warehouse is judged in the trial
    assert killed is not None and killed >= k, trial.log  # the k-th (or next) was killed
    assert code == 0, trial.log  # the batch was retried on a new connection


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
