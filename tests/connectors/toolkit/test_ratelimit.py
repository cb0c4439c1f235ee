from __future__ import annotations

import itertools

import pytest

from connectors.toolkit.ratelimit import RateLimiter, shared_limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(("rate", "calls"), [(4.0, 9), (25.0, 30), (0.5, 3)])
def test_calls_are_spaced_one_over_rate_apart(rate, calls):
    clock = FakeClock()
    limiter = RateLimiter(rate, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(calls):
        limiter.acquire()
        stamps.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(gap == pytest.approx(1 / rate) for gap in gaps)
    assert (stamps[-1] - stamps[0]) == pytest.approx((calls - 1) / rate)


def test_no_wait_when_the_caller_is_already_slower_than_the_rate():
    clock = FakeClock()
    limiter = RateLimiter(2.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 5
    assert limiter.acquire() == 0
    assert clock.slept == []


def test_rate_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_streams_of_one_portal_share_one_limiter():
    assert shared_limiter("techport", 25.0) is shared_limiter("techport", 25.0)
    assert shared_limiter("techport", 25.0) is not shared_limiter("hoip", 25.0)
