"""The loader's one outage classification (``_with_outages``): the broker's
ServiceUnavailable and a lost database connection are waited out with backoff, then fail
as ServiceUnavailable naming the service; any other error is not an outage and propagates at
once. Pure logic: the clock's sleep is recorded, not slept."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from ecohub import loader
from ecohub.errors import ServiceUnavailable


@pytest.fixture
def sleeps(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(loader.time, "sleep", slept.append)
    return slept


def _outages(limit_s: float = 60.0) -> dict[str, loader._Outage]:
    return {"kafka": loader._Outage(limit_s), "warehouse": loader._Outage(limit_s)}


def _failing(*errors: BaseException):
    """A call that raises ``errors`` in turn, then returns how many calls it took."""
    calls = []

    def call() -> int:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return len(calls)

    return call


DB_DOWN = OperationalError("SELECT 1", {}, Exception("connection refused"))
KAFKA_DOWN = ServiceUnavailable("no broker", service="kafka")


@pytest.mark.parametrize(
    ("errors", "delays"),
    [
        ((), []),
        ((KAFKA_DOWN,), [0.5]),
        ((DB_DOWN, DB_DOWN, DB_DOWN), [0.5, 1.0, 2.0]),
        ((KAFKA_DOWN, DB_DOWN), [0.5, 0.5]),  # one backoff per service
    ],
)
def test_outages_are_waited_out_with_backoff_per_service(sleeps, errors, delays):
    outages = _outages()

    assert loader._with_outages(outages, _failing(*errors)) == len(errors) + 1
    assert sleeps == delays
    assert (outages["kafka"].since, outages["warehouse"].since) == (None, None)  # reset


def test_an_error_that_is_no_outage_propagates_at_once(sleeps):
    with pytest.raises(ValueError, match="a bad row"):
        loader._with_outages(_outages(), _failing(DB_DOWN, ValueError("a bad row")))
    assert sleeps == [0.5]


@pytest.mark.parametrize(("error", "service"), [(KAFKA_DOWN, "kafka"), (DB_DOWN, "warehouse")])
def test_an_outage_past_its_budget_is_service_unavailable(sleeps, error, service):
    with pytest.raises(ServiceUnavailable, match=f"^{service} unavailable") as raised:
        loader._with_outages(_outages(limit_s=0.0), _failing(error))
    assert raised.value.context["service"] == service
    assert raised.value.__cause__ is error
    assert sleeps == []
