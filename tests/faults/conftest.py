"""Fixtures of the fault-injection suite: a private Kafka broker, a Techport simulator, a
forkserver for killable children, and the uninterrupted reference run.

Faults are injected into services this suite owns: its own single-node Kafka on 19092/19093
(under a temporary folder, never the shared stack, so stopping it disturbs nobody), SQLite
warehouses per trial, and for the database fault a temporary database on the local
PostgreSQL whose connections only the loader under test uses.

Kill points come from one random seed, printed at the start and in every failure message;
``ECOHUB_FAULT_SEED=<seed>`` replays a failure exactly. ``ECOHUB_ACCEPTANCE=1`` (``make
acceptance``) raises the trial counts to 50 per scenario and adds the long broker outage.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults import harness
from tests.faults.rig import SEED, Reference, Trial, new_run_id, new_trial

KAFKA_PORT, CONTROLLER_PORT = 19092, 19093


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
    started = time.monotonic()
    assert trial.sync(new_run_id()) == 0
    sync_s = time.monotonic() - started
    started = time.monotonic()
    assert trial.consume() == 0
    consume_s = time.monotonic() - started
    assert trial.lag() == 0
    verdicts = trial.verdicts()
    assert [v["status"] for v in verdicts] == ["balanced"]
    found = trial.fingerprint()
    assert found["counts"]["current"] > 90 and found["duplicated_keys"] == []
    return Reference(fingerprint=found, sync_s=sync_s, consume_s=consume_s)


@pytest.fixture
def trial(children: Any, private_stack: Any, simulator: Any, tmp_path: Path, seed: int) -> Trial:
    return new_trial(children, private_stack, simulator, tmp_path)


@pytest.fixture
def run_id() -> Any:
    return new_run_id
