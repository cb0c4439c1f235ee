"""Reconciliation of sync runs: balanced, pending, and loudly unbalanced."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from ecohub.errors import ReconciliationError
from ecohub.loader import Message, process_batch
from ecohub.warehouse.runs import reconcile, record_extract
from ecohub.warehouse.tables import runs

RUN = "hoip-20260130T101500Z-1a2b3c4d"


def _load(engine, events) -> None:
    messages = [
        Message(
            topic="ecohub.startup_project.v1", partition=0, offset=i, value=json.dumps(e).encode()
        )
        for i, e in enumerate(events)
    ]
    process_batch(engine, messages, group_id="g")


def _projects(entity, n, bad=0):
    events = [entity("startup_project", f"SP-{i:04d}", portal="hoip", runid=RUN) for i in range(n)]
    for i in range(bad):
        events[i]["data"]["stage"] = "series_a"  # not a stage of the city's programmes
    return events


def _status(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(select(runs.c.status).where(runs.c.run_id == RUN)).scalar_one()


def test_a_run_with_quarantined_rows_balances(engine, entity):
    record_extract(engine, RUN, "hoip", "projects", fetched=6, published=5, dead_lettered=1)
    _load(engine, _projects(entity, 5, bad=2))

    balance = reconcile(engine, RUN, consumer_lag=0)

    assert (balance.status, balance.loaded, balance.quarantined) == ("balanced", 3, 2)
    assert _status(engine) == "balanced"


def test_a_run_still_being_consumed_is_pending_not_an_error(engine, entity):
    record_extract(engine, RUN, "hoip", "projects", fetched=5, published=5, dead_lettered=0)
    _load(engine, _projects(entity, 3))

    assert reconcile(engine, RUN).status == "pending"
    assert _status(engine) == "pending"


@pytest.mark.parametrize(
    ("fetched", "published", "dead", "loaded_events", "message"),
    [
        (6, 5, 0, 5, "fetched 6 != published 5 + dead-lettered 0"),
        (5, 5, 0, 4, "events 5 != loaded 4 + quarantined 0"),
    ],
)
def test_a_complete_run_that_does_not_balance_fails_loudly(
    engine, entity, fetched, published, dead, loaded_events, message
):
    record_extract(
        engine, RUN, "hoip", "projects", fetched=fetched, published=published, dead_lettered=dead
    )
    _load(engine, _projects(entity, loaded_events))

    with pytest.raises(ReconciliationError, match=re.escape(message)) as caught:
        reconcile(engine, RUN, consumer_lag=0)
    assert caught.value.context["run_id"] == RUN
    assert _status(engine) == "unbalanced"


def test_counts_add_up_over_streams_and_events_per_record(engine, entity):
    record_extract(
        engine, RUN, "hoip", "projects", fetched=2, published=2, dead_lettered=0, events=4
    )
    record_extract(engine, RUN, "hoip", "programmes", fetched=1, published=1, dead_lettered=0)
    record_extract(
        engine, RUN, "hoip", "projects", fetched=2, published=2, dead_lettered=0, events=4
    )
    _load(engine, _projects(entity, 5))

    balance = reconcile(engine, RUN, consumer_lag=0)

    assert (balance.fetched, balance.events, balance.loaded) == (3, 5, 5)


def test_an_unknown_run_is_an_error(engine):
    with pytest.raises(ReconciliationError, match="no extract counts"):
        reconcile(engine, "stinet-20990101T000000Z-00000000")
