"""H.OIP pushes, end to end: simulator -> signed webhook -> receiver -> Kafka -> warehouse.

Real services: the shared Kafka, a warehouse in SQLite under tmp_path, a landing directory, the
H.OIP simulator and ecohub's receiver (``ecohub.webhooks.ReceiverServer``) on free ports.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import text

from tests.fixtures.kafka_topics import unique_tag

pytestmark = pytest.mark.integration

STREAM, RESOURCE = "organizations", "organizations"
KEY = "org_0000007"
PUSH_DEADLINE_S = 5.0  # the acceptance bound: a change at the portal is in the warehouse by then


@pytest.fixture
def hoip() -> Iterator[Any]:
    import simulators

    with simulators.start("hoip", scale="small", seed=7, port=0) as server:
        yield server


@pytest.fixture
def hub(tmp_path, hoip, kafka_bootstrap):
    from ecohub.settings import load_settings

    tag = unique_tag()
    return load_settings(
        {
            "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/wh.db",
            "ECOHUB_LANDING__URL": f"file://{tmp_path}/landing",
            "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
            "ECOHUB_KAFKA__TOPIC_PREFIX": f"push{tag}",
            "ECOHUB_KAFKA__CONSUMER_GROUP": f"push-{tag}",
            "ECOHUB_KAFKA__PARTITIONS": "1",
            "ECOHUB_HOIP__BASE_URL": hoip.url,
            "ECOHUB_WEBHOOKS__SECRET": f"e2e-secret-{tag}-0123456789",
            "ECOHUB_LINEAGE__TRANSPORT": "off",
        }
    )


@pytest.fixture
def receiver(hub) -> Iterator[Any]:
    from ecohub.webhooks import ReceiverServer, subscribe

    server = ReceiverServer(hub, host="127.0.0.1", port=0)
    subscribe(hub, resources=[RESOURCE], callback_url=server.url)
    yield server
    server.stop()


class Loader:
    """``ecohub consume`` in a background thread, as the compose ``consumer`` service runs."""

    def __init__(self, settings: Any, idle_timeout_s: float) -> None:
        from ecohub.loader import consume

        self.stats: Any = None
        self.thread = threading.Thread(
            target=lambda: setattr(self, "stats", consume(settings, idle_timeout_s=idle_timeout_s)),
            daemon=True,
        )
        self.thread.start()

    def join(self) -> Any:
        self.thread.join(timeout=120)
        assert not self.thread.is_alive(), "the loader did not stop"
        return self.stats


def versions(settings: Any, key: str) -> list[tuple[int, str, bool]]:
    from ecohub.db import get_engine

    with get_engine(settings.warehouse_url).connect() as conn:
        rows = conn.execute(
            text(
                "select entityversion, event_id, is_current from entity_version "
                "where portal = 'hoip' and entity_type = 'organization' and source_id = :k "
                "order by entityversion"
            ),
            {"k": key},
        ).all()
    return [(int(v), str(e), bool(c)) for v, e, c in rows]


def change(hoip: Any, key: str = KEY, op: str = "update") -> dict[str, Any]:
    answer = requests.post(
        f"{hoip.url}/_admin/change", json={"resource": RESOURCE, "key": key, "op": op}, timeout=10
    )
    answer.raise_for_status()
    return answer.json()


def wait_until(predicate: Any, deadline_s: float, what: str) -> float:
    """Poll ``predicate`` until true; the seconds it took, or fail after ``deadline_s``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > deadline_s:
            raise AssertionError(f"{what}: not within {deadline_s} s")
        time.sleep(0.05)
    return time.monotonic() - start


def hook_stats(hoip: Any) -> dict[str, Any]:
    return dict(requests.get(f"{hoip.url}/_admin/webhooks", timeout=10).json())


def test_a_pushed_change_reaches_the_warehouse_and_the_pull_adds_no_version(hub, hoip, receiver):
    from ecohub.pipeline import sync
    from ecohub.webhooks import DELIVERY_PATH

    sync("hoip", [STREAM], settings=hub)  # the pull baseline: the record's current version
    loader = Loader(hub, idle_timeout_s=8.0)
    wait_until(lambda: len(versions(hub, KEY)) == 1, 180, "the baseline load")

    change(hoip)
    wait_until(lambda: len(versions(hub, KEY)) == 2, PUSH_DEADLINE_S,
               "the pushed change in the warehouse")
    assert receiver.receiver.health()["accepted"] == 1

    pulled = sync("hoip", [STREAM], settings=hub)  # the same change, pulled
    assert pulled[0].published >= 1, "the pull must re-read the changed record to prove anything"
    stats = loader.join()
    assert stats.loaded >= 2
    rows = versions(hub, KEY)
    assert len(rows) == 2 and len({event for _, event, _ in rows}) == 2
    assert [current for *_, current in rows] == [False, True]
    root = Path(hub.landing.url.removeprefix("file://"))
    landed = sorted(root.glob("hoip/organizations/*/hoip-push-*/page-*.meta.json"))
    assert len(landed) == 1
    assert DELIVERY_PATH in landed[0].read_text() and '"webhook"' in landed[0].read_text()


def test_forged_replayed_and_stale_deliveries_are_refused_and_counted(hub, hoip, receiver):
    from ecohub.db import get_engine
    from ecohub.warehouse.runs import extract_counts
    from ecohub.webhooks import sign

    requests.post(
        f"{hoip.url}/_admin/faults",
        json={
            "webhook_bad_signature": {"count": 1},
            "webhook_duplicate": {"count": 1},
            "webhook_replay": {"count": 1},
            "webhook_stale": {"count": 1, "age": 3600},
            "webhook_retry_base": 0.1,
        },
        timeout=10,
    ).raise_for_status()
    change(hoip)
    wait_until(lambda: hook_stats(hoip).get("stale_sent") == 1 and hook_stats(hoip)["pending"] == 0,
               30, "the simulator's faulty deliveries")
    body = b'{"id":"evt_forged","data":{"resource":"organizations","op":"delete","id":"org_1"}}'
    forged = requests.post(
        receiver.url, data=body, timeout=10,
        headers={"X-HOIP-Event-Id": "evt_forged", "X-HOIP-Timestamp": str(int(time.time())),
                 "X-HOIP-Signature": sign(b"guessed-secret", int(time.time()), body)},
    )
    assert forged.status_code == 401

    health = requests.get(receiver.health_url, timeout=10).json()
    assert health["status"] == "ok"
    assert health["accepted"] == 1 and health["duplicates"] == 1
    assert health["refused"] == {"signature": 2, "replay": 1, "stale": 1}
    answers = hook_stats(hoip)["answers"]
    assert answers == {"200": 2, "401": 1, "409": 1, "400": 1}
    run_id = next(iter(receiver.receiver._reports))[0]
    counts = extract_counts(get_engine(hub.warehouse_url), run_id, STREAM)
    assert counts is not None and counts["fetched"] == 1 and counts["published"] == 1

    # the one landed delivery replays like a pulled page: the same record, published again
    from ecohub.pipeline import replay

    replayed = replay("hoip", STREAM, source_run_id=run_id, settings=hub)
    assert (replayed.fetched, replayed.published, replayed.dead_lettered) == (1, 1, 0)


def test_a_receiver_outage_is_healed_by_the_next_pull(hub, hoip, receiver):
    from ecohub.loader import consume
    from ecohub.pipeline import sync

    requests.post(f"{hoip.url}/_admin/faults",
                  json={"webhook_retry_base": 0.1, "webhook_attempts": 2},
                  timeout=10).raise_for_status()
    sync("hoip", [STREAM], settings=hub)
    receiver.stop()
    changed = change(hoip)
    wait_until(lambda: hook_stats(hoip).get("gave_up") == 1, 30, "the platform giving up")
    assert hook_stats(hoip)["answers"] == {"0": 2}  # no answer: the receiver is down

    sync("hoip", [STREAM], settings=hub)
    consume(hub, idle_timeout_s=1.0)
    rows = versions(hub, KEY)
    assert len(rows) == 2 and rows[-1][2], rows
    assert rows[-1][0] > rows[0][0]
    assert changed["version"] >= 2


def test_an_older_version_delivered_last_does_not_become_current(hub, hoip, receiver):
    from ecohub.pipeline import sync

    requests.post(f"{hoip.url}/_admin/faults",
                  json={"webhook_out_of_order": {"count": 1, "delay": 1.5}},
                  timeout=10).raise_for_status()
    sync("hoip", [STREAM], settings=hub)
    loader = Loader(hub, idle_timeout_s=6.0)
    wait_until(lambda: len(versions(hub, KEY)) == 1, 180, "the baseline load")
    older, newer = change(hoip), change(hoip)  # the older one's delivery is held back
    wait_until(lambda: len(versions(hub, KEY)) == 3, 30, "both pushed versions")
    arrival = [d for d in hook_stats(hoip)["faults_fired"]]
    assert arrival == ["webhook_out_of_order"]
    loader.join()
    rows = versions(hub, KEY)
    assert [current for *_, current in rows] == [False, False, True]
    assert rows[-1][0] > rows[1][0] > rows[0][0]
    assert newer["version"] == older["version"] + 1
