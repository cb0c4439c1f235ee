"""SIGKILL at random points: a sync or a loader killed and run again ends exactly like an
uninterrupted run (checksums, no lost or duplicated key, balanced runs, lag 0)."""

from __future__ import annotations

import time

import pytest

from tests.faults import harness
from tests.faults.rig import TRIALS, assert_like_reference

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.mark.parametrize("n", range(TRIALS))
def test_sync_killed_at_a_random_point_then_rerun(trial, reference, rng, run_id, n):
    run = run_id()
    trial.sync(run, kill_after=rng.uniform(0.0, reference.sync_s * 1.1))
    assert trial.sync(run, retries=2) == 0  # the retried task resumes its run (same run id)
    assert trial.consume() == 0
    assert_like_reference(trial, reference)


@pytest.mark.parametrize("n", range(TRIALS))
def test_consume_killed_at_a_random_point_then_rerun(trial, reference, rng, run_id, n):
    assert trial.sync(run_id()) == 0
    trial.consume(kill_after=rng.uniform(0.0, reference.consume_s * 1.1))
    assert trial.consume() == 0  # takes over the dead member's partitions, ends at lag 0
    assert_like_reference(trial, reference)


@pytest.mark.parametrize("loaders", [2, 3])
def test_loaders_in_one_group_one_killed(trial, reference, rng, run_id, loaders):
    assert trial.sync(run_id()) == 0
    options = {"idle_timeout_s": 2.0, "drain_timeout_s": 90.0, "batch_size": 20}
    members = [trial.start(harness.consume_child, options) for _ in range(loaders)]
    victim = rng.randrange(loaders)
    time.sleep(rng.uniform(0.5, reference.consume_s))
    members[victim].kill()
    for member in members:
        member.join(300)
    survivors = [m.exitcode for i, m in enumerate(members) if i != victim]
    assert survivors == [0] * (loaders - 1)  # they waited for the victim's partitions
    assert_like_reference(trial, reference)
