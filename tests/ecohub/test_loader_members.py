"""Several loader processes in one consumer group: how many by default, how a member's error
reaches the parent, how their statistics add up, and why an idle member keeps waiting while
another member is still loading. Pure logic: no broker, no warehouse, no clock."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from ecohub import loader
from ecohub.errors import FatalError, LoadIncomplete, ServiceUnavailable
from ecohub.settings import load_settings


def _settings(partitions: int, workers: int = 0) -> Any:
    return load_settings(
        {"ECOHUB_KAFKA__PARTITIONS": str(partitions), "ECOHUB_LOADER_WORKERS": str(workers)}
    )


@pytest.mark.parametrize(
    ("cores", "partitions", "expected"),
    [
        (2, 3, 3),  # 2 members would split every topic 2:1; 3 finish together
        (2, 6, 2),
        (2, 4, 2),
        (2, 5, 2),  # no divisor between 2 and 4: one per core
        (2, 1, 1),  # never more members than partitions
        (1, 3, 1),
        (4, 3, 3),
        (8, 12, 4),  # at most 4 cores count
        (None, 3, 1),  # cpu_count unknown
    ],
)
def test_default_workers_divide_the_partitions_near_the_core_count(
    monkeypatch, cores, partitions, expected
):
    monkeypatch.setattr(loader.os, "cpu_count", lambda: cores)

    assert loader.default_workers(_settings(partitions)) == expected


def test_one_member_unless_asked_and_the_request_wins_over_the_setting(monkeypatch):
    monkeypatch.setattr(loader.os, "cpu_count", lambda: 2)

    assert loader.default_workers(load_settings({})) == 1
    assert loader.default_workers(_settings(3, workers=5)) == 5
    assert loader.default_workers(_settings(3, workers=5), requested=2) == 2
    assert loader.default_workers(_settings(3, workers=1), requested=0) == 3  # 0: from the cores


def test_a_member_error_is_raised_as_its_own_class_with_its_context():
    error = loader._rebuilt(
        "loader member 2/3", loader._portable(LoadIncomplete("9 unloaded", group="g", lag=9))
    )

    assert isinstance(error, LoadIncomplete)
    assert str(error) == "loader member 2/3: 9 unloaded (group='g', lag=9)"
    outage = loader._rebuilt("m", loader._portable(ServiceUnavailable("down", service="kafka")))
    assert isinstance(outage, ServiceUnavailable)
    assert outage.context == {"service": "kafka"}


def test_any_other_member_error_is_fatal_and_names_the_member():
    error = loader._rebuilt("loader member 1/2", loader._portable(ValueError("bad\nsecond line")))

    assert type(error) is FatalError
    assert str(error) == "loader member 1/2 failed: ValueError: ValueError: bad"


def test_members_statistics_add_up():
    one = loader.LoadStats(batches=2, messages=10, loaded=8, quarantined=2,
                           by_entity=Counter({"document:loaded": 8}),
                           failed_by_expectation=Counter({"x": 2}))  # fmt: skip
    two = loader.LoadStats(batches=1, messages=5, skipped=1, loaded=4, absorbed=1,
                           by_entity=Counter({"document:loaded": 3,
                                              "person:loaded": 1}))  # fmt: skip

    total = loader._total([one, two])

    assert total.as_dict() == {
        "batches": 3, "messages": 15, "skipped": 1, "loaded": 12, "quarantined": 2,
        "absorbed": 1, "by_entity": {"document:loaded": 11, "person:loaded": 1},
        "failed_by_expectation": {"x": 2},
    }  # fmt: skip


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 1.0  # every look at the clock is a second later
        return self.now


def _idle_loop(monkeypatch, lags: list[int], drain_timeout_s: float,
               rejoin: Any = None) -> list[int]:  # fmt: skip
    """_loop of a member that gets no message while the group's lag goes through ``lags``;
    returns the lags it saw."""
    seen: list[int] = []
    clock = _Clock()
    monkeypatch.setattr(loader.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(loader, "_gather", lambda *a: [])

    def remaining(*_a: Any) -> int:
        seen.append(lags[min(len(seen), len(lags) - 1)])
        return seen[-1]

    monkeypatch.setattr(loader, "_remaining", remaining)
    seeker = type("Seeker", (), {"assigned": {"tp"}})()
    outages = {"kafka": loader._Outage(60), "warehouse": loader._Outage(60)}
    loader._loop(None, None, "g", ["t"], lambda items: None, seeker, loader.LoadStats(),
                 outages, max_batches=None, idle_timeout_s=0.0, batch_size=10, linger_s=0.0,
                 drain_timeout_s=drain_timeout_s, rejoin=rejoin)  # type: ignore[arg-type]  # fmt: skip
    return seen


def test_an_idle_member_waits_while_another_member_shrinks_the_lag(monkeypatch):
    # each check is ~3 fake seconds apart: a 5 s drain budget would run out twice over
    seen = _idle_loop(monkeypatch, [900, 700, 500, 300, 100, 0], drain_timeout_s=5.0)

    assert seen == [900, 700, 500, 300, 100, 0]


def test_a_lag_that_stops_shrinking_is_load_incomplete(monkeypatch):
    with pytest.raises(LoadIncomplete, match="300 published event"):
        _idle_loop(monkeypatch, [900, 300, 300], drain_timeout_s=5.0)


def test_a_warehouse_down_at_the_members_start_is_an_outage_not_a_crash(monkeypatch, tmp_path):
    """The parent migrates before it starts members: a refused connection is waited out with
    backoff and ends as ServiceUnavailable (exit 3), as with one loader, before any member."""
    from sqlalchemy.exc import OperationalError

    calls: list[int] = []

    def refused(_engine: Any) -> None:
        calls.append(1)
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(loader, "init_db", refused)
    monkeypatch.setattr(loader.time, "sleep", lambda _s: None)
    settings = load_settings({"ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/wh.db"})

    with pytest.raises(ServiceUnavailable, match="warehouse unavailable"):
        loader._consume_members(settings, 2, {"outage_timeout_s": 0.0}, None)
    assert calls == [1]


def test_a_stalled_lag_makes_the_member_join_again_once_then_it_loads(monkeypatch):
    joins: list[int] = []
    # stalled at 300 past half the 12 s drain wait: one new join, after which the lag moves
    seen = _idle_loop(monkeypatch, [300, 300, 300, 300, 0], drain_timeout_s=12.0,
                      rejoin=lambda: joins.append(1) or "new consumer")

    assert seen == [300, 300, 300, 300, 0]
    assert joins == [1]


def test_a_lag_still_stalled_after_joining_again_is_load_incomplete_and_says_so(monkeypatch):
    joins: list[int] = []
    with pytest.raises(LoadIncomplete, match=r"1 partition\(s\) assigned to this member, after "
                                             r"joining again") as caught:
        _idle_loop(monkeypatch, [300], drain_timeout_s=6.0,
                   rejoin=lambda: joins.append(1) or "new consumer")

    assert joins == [1]  # once per stall, not at every idle check
    assert caught.value.context["assigned"] == 1 and caught.value.context["lag"] == 300


def test_without_a_rejoin_hook_a_stall_is_load_incomplete_as_before(monkeypatch):
    with pytest.raises(LoadIncomplete, match=r"assigned to this member\)"):
        _idle_loop(monkeypatch, [300], drain_timeout_s=6.0)
