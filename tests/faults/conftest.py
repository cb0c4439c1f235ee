"""Fixtures of the fault-injection suite: a private Kafka broker, a Techport simulator, a
forkserver for killable children, and the uninterrupted reference run.

Faults are injected into services this suite owns: its own single-node Kafka on 19092/19093
(under a temporary folder, never the shared stack, so stopping it disturbs nobody;
``ECOHUB_FAULT_PORT_BASE=<port>`` moves it to <port>/<port + 1>, so two fault runs can share
a machine), SQLite warehouses per trial, and for the database fault a temporary database on
the local PostgreSQL whose connections only the loader under test uses.

Kill points come from one random seed, printed at the start and in every failure message;
``ECOHUB_FAULT_SEED=<seed>`` replays a failure exactly. ``ECOHUB_ACCEPTANCE=1`` (``make
acceptance``) raises the trial counts to 50 per scenario: kills of a sync and of a loader,
groups with a member killed, database connections killed in the k-th batch transaction of a
load, and broker bounces during a sync and during a load, 50 short (10 s) and 50 long (65 s)
each. ``ECOHUB_FAULT_TRIALS=<n>`` sets the number of kills of a sync and of a loader (a soak,
or 1 for a quick replay), ``ECOHUB_FAULT_BOUNCES`` / ``ECOHUB_FAULT_DB_KILLS`` the bounces per
phase and outage and the database kills; ``ECOHUB_FAULT_LANES`` / ``ECOHUB_FAULT_BOUNCE_LANES``
/ ``ECOHUB_FAULT_DB_LANES`` how many of their trials run side by side. Broker bounces run on
brokers of their own (lanes, see ``test_outages.py``) on the ports after the base, never on
the broker of the other scenarios.

Scenarios whose fault is in the load start from the reference's own sync (``synced``): its
topics and a copy of its warehouse as the sync left it, with a consumer group of their own.
"""

from __future__ import annotations

import multiprocessing
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults import bounces as bouncing
from tests.faults import harness
from tests.faults.rig import (
    LOAD_PACE,
    PORT_BASE,
    SEED,
    SYNC_PACE,
    Reference,
    Trial,
    after_sync,
    new_run_id,
    new_trial,
    selected,
)

KAFKA_PORT, CONTROLLER_PORT = PORT_BASE, PORT_BASE + 1


@pytest.fixture(scope="session")
def seed() -> int:
    print(f"\nfault injection seed: {SEED} (replay with ECOHUB_FAULT_SEED={SEED})")
    return SEED


@pytest.fixture
def rng(seed: int, request: pytest.FixtureRequest) -> random.Random:
    """One generator per test, derived from the session seed and the test's name."""
    return random.Random(f"{seed}:{request.node.nodeid}")


@pytest.fixture(scope="session")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from infra.stack import Stack, down, up

    root = tmp_path_factory.mktemp("faults-stack")
    stack = Stack(root=Path(root), kafka_port=KAFKA_PORT, kafka_controller_port=CONTROLLER_PORT)
    up(["kafka"], stack)
    try:
        yield stack
    finally:
        down(["kafka"], stack)


@pytest.fixture(scope="session")
def simulator() -> Iterator[Any]:
    import simulators

    with simulators.start(harness.PORTAL, scale="small", port=0) as server:
        yield server


@pytest.fixture(scope="session")
def children() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.faults._preload"])
    return ctx


@pytest.fixture(scope="session")
def reference(children: Any, private_stack: Any, simulator: Any,
              tmp_path_factory: pytest.TempPathFactory) -> Reference:  # fmt: skip
    trial = new_trial(children, private_stack, simulator, tmp_path_factory.mktemp("reference"))
    assert trial.run(harness.warm) == 0  # starts the forkserver outside the timings
    # paced as the runs a fault hits, and watched: when did the work happen?
    sync = trial.watch(harness.sync_child, new_run_id(), False, probe=trial.published,
                       env={**trial.env, "ECOHUB_TECHPORT__RATE_LIMIT": SYNC_PACE})
    synced = Path(trial.url.removeprefix("sqlite:///")).with_name("synced.db")
    shutil.copyfile(trial.url.removeprefix("sqlite:///"), synced)  # the sync's child has ended
    options = {"idle_timeout_s": 2.0, "drain_timeout_s": 90.0, "batch_size": LOAD_PACE}
    load = trial.watch(harness.consume_child, options, probe=trial.loaded)
    assert trial.lag() == 0
    verdicts = trial.verdicts()
    assert [v["status"] for v in verdicts] == ["balanced"]
    found = trial.fingerprint()
    assert found["counts"]["current"] > 90 and found["duplicated_keys"] == []
    print(f"\nreference run: sync {sync}, load {load}, {found['counts']}")
    return Reference(fingerprint=found, sync=sync, load=load,
                     topic_prefix=trial.env["ECOHUB_KAFKA__TOPIC_PREFIX"], synced_warehouse=synced)


@pytest.fixture
def trial(children: Any, private_stack: Any, simulator: Any, tmp_path: Path, seed: int) -> Trial:
    return new_trial(children, private_stack, simulator, tmp_path)


@pytest.fixture
def synced(children: Any, private_stack: Any, simulator: Any, tmp_path: Path,
           reference: Reference) -> Trial:  # fmt: skip
    """A trial whose sync already ran, uninterrupted (:func:`~tests.faults.rig.after_sync`):
    for the scenarios whose fault is in the load."""
    return after_sync(children, private_stack, simulator, tmp_path, reference)


@pytest.fixture
def run_id() -> Any:
    return new_run_id


@pytest.fixture(scope="session")
def bounces(request: pytest.FixtureRequest, children: Any, simulator: Any, reference: Reference,
            seed: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:  # fmt: skip
    """The session's broker bounces (:mod:`tests.faults.bounces`), by index: futures."""
    futures, close = bouncing.start(selected(request, "bounces", "index"), children, simulator,
                                     reference, seed, tmp_path_factory.mktemp)  # fmt: skip
    try:
        yield futures
    finally:
        close()


@pytest.fixture(scope="session", autouse=True)
def _bounces_alongside(request: pytest.FixtureRequest) -> None:
    """Start the bounces with the session when it has any: they stop and start brokers of
    their own (lanes), so they run alongside the other scenarios instead of after them, and
    mostly wait while those work."""
    if selected(request, "bounces", "index"):
        request.getfixturevalue("bounces")
