"""Scoring of entity resolution against the simulators' truth (bench only, pure functions)."""

from __future__ import annotations

import pytest

from bench.resolution import pairwise, score_resolution


@pytest.mark.parametrize(
    ("predicted", "actual", "counts", "pr"),
    [
        # one true pair found, one missed: P 1, R 0.5
        (
            {"a": "g1", "b": "g1", "c": "g2"},
            {"a": "w1", "b": "w1", "c": "w1"},
            (3, 1, 1),
            (1, 1 / 3),
        ),
        # namesakes merged: one wrong pair
        ({"a": "g1", "b": "g1"}, {"a": "w1", "b": "w2"}, (0, 1, 0), (0.0, 1.0)),
        # perfect
        ({"a": "g1", "b": "g1", "c": "g3"}, {"a": "w1", "b": "w1", "c": "w2"}, (1, 1, 1), (1, 1)),
    ],
)
def test_pairwise_counts_pairs(predicted, actual, counts, pr):
    score = pairwise(predicted, actual)
    assert (score["true_pairs"], score["predicted_pairs"], score["correct_pairs"]) == counts
    assert (score["precision"], score["recall"]) == pytest.approx(pr, abs=1e-4)


def test_score_per_kind_and_clusters_spanning_kinds():
    truth = {
        "organization": {"o1": "W-ORG-1", "o2": "W-ORG-1"},
        "laboratory": {"l1": "W-LAB-1", "l2": "W-LAB-2"},
        "person": {"p1": "W-PER-1"},
    }
    golden = {"o1": "G1", "o2": "G1", "l1": "G1", "l2": "G2", "p1": "G3"}
    scores = score_resolution(golden, truth)
    assert scores["organization"]["recall"] == 1.0 and scores["laboratory"]["precision"] == 1.0
    assert scores["person"]["truth_records"] == 1
    assert scores["clusters_spanning_kinds"] == 1  # a laboratory merged into an organization
