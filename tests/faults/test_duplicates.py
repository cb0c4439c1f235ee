"""Duplicates are traffic: the same pages published twice (before the load or over a loaded
warehouse) and a replay of a landed run change nothing."""

from __future__ import annotations

import pytest

from tests.faults import harness
from tests.faults.rig import assert_like_reference

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.mark.parametrize("loaded_between", [False, True], ids=["before-load", "over-loaded"])
def test_the_same_pages_published_twice(trial, reference, run_id, loaded_between):
    assert trial.sync(run_id()) == 0
    if loaded_between:
        assert trial.consume() == 0
    assert trial.sync(run_id(), full_refresh=True) == 0
    assert trial.consume() == 0
    assert_like_reference(trial, reference)


def test_replay_of_a_landed_run_over_a_loaded_warehouse(trial, reference, run_id):
    first = run_id()
    assert trial.sync(first) == 0
    assert trial.consume() == 0
    assert trial.run(harness.replay_child, first) == 0
    assert trial.consume() == 0
    assert_like_reference(trial, reference)
