"""SIGKILL at random points: a sync or a loader killed and run again ends exactly like an
uninterrupted run (checksums, no lost or duplicated key, balanced runs, lag 0)."""

from __future__ import annotations

import random
import time

import pytest

from tests.faults import harness
from tests.faults.rig import (
    ACCEPTANCE,
    LOAD_PACE,
    TRIALS,
    Trial,
    after_sync,
    assert_like_reference,
    side_by_side,
)

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.mark.parametrize("n", range(TRIALS))
def test_sync_killed_at_a_random_point_then_rerun(trial, reference, rng, run_id, n):
    run = run_id()
    trial.sync(run, kill_after=reference.sync.kill_point(rng), paced=True)
    trial.position()
    assert trial.sync(run, retries=2) == 0  # the retried task resumes its run (same run id)
    assert trial.consume() == 0
    assert_like_reference(trial, reference)


@pytest.fixture(scope="module")
def loader_kills(children, private_stack, simulator, reference, seed, tmp_path_factory):
    """Every trial of a loader killed then rerun, started side by side on first use; each
    starts from the reference's sync with a consumer group and a warehouse of its own."""

    def one(n: int) -> tuple[Trial, int | None]:
        tmp = tmp_path_factory.mktemp(f"loader-kill-{n}")
        trial = after_sync(children, private_stack, simulator, tmp, reference)
        rng = random.Random(f"{seed}:loader-kill:{n}")
        trial.consume(kill_after=reference.load.kill_point(rng), paced=True)
        trial.position()
        return trial, trial.consume()

    return side_by_side(one, TRIALS)


@pytest.mark.parametrize("n", range(TRIALS))
def test_consume_killed_at_a_random_point_then_rerun(loader_kills, reference, n):
    trial, rerun = loader_kills[n].result()
    assert rerun == 0, trial.log  # took over the dead member's partitions, ended at lag 0
    assert_like_reference(trial, reference)


GROUPS = [(size, n) for size in (2, 3) for n in range(25 if ACCEPTANCE else 1)]


@pytest.fixture(scope="module")
def group_kills(children, private_stack, simulator, reference, seed, tmp_path_factory):
    """Every trial of a group of loaders with one member killed, side by side on first use."""

    def one(index: int) -> tuple[Trial, list[int | None]]:
        loaders, n = GROUPS[index]
        tmp = tmp_path_factory.mktemp(f"group-kill-{loaders}-{n}")
        trial = after_sync(children, private_stack, simulator, tmp, reference)
        rng = random.Random(f"{seed}:group-kill:{loaders}:{n}")
        options = {"idle_timeout_s": 2.0, "drain_timeout_s": 90.0, "batch_size": LOAD_PACE}
        members = [trial.start(harness.consume_child, options) for _ in range(loaders)]
        victim = rng.randrange(loaders)
        time.sleep(reference.load.kill_point(rng))
        members[victim].kill()
        trial.log.append(f"member {victim} of {loaders} killed")
        for member in members:
            member.join(300)
        return trial, [m.exitcode for i, m in enumerate(members) if i != victim]

    return side_by_side(one, len(GROUPS))


@pytest.mark.parametrize(
    "index", range(len(GROUPS)), ids=[f"{size}-loaders-{n}" for size, n in GROUPS]
)
def test_loaders_in_one_group_one_killed(group_kills, reference, index):
    trial, survivors = group_kills[index].result()
    assert survivors == [0] * len(survivors), trial.log  # they waited for the victim's share
    assert_like_reference(trial, reference)
