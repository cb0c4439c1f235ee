"""The shared read loop (layer 1), driven through the Techport client against a fake portal.

The fake (``fake_techport.py``) is an in-memory listing on a real socket whose pages can be
made to shift, repeat or lose records at chosen moments.
"""

from __future__ import annotations

import math
import pickle
from datetime import datetime, timedelta

import pytest
from fake_techport import FORMAT, LOCAL, PATH, START, FakeTechport
from pydantic import SecretStr

from connectors import replay
from connectors.replay import landed_pages
from connectors.techport import TechportConnector
from ecohub.errors import PaginationLoopError, ReconciliationError
from ecohub.landing import Landing
from ecohub.settings import LandingSettings, PortalSettings, Settings

KEY = "tp-test-4b1d"
LOOKBACK = 1800


def settings(url: str, **overrides) -> PortalSettings:
    values = dict(
        base_url=url,
        auth="api_key",
        api_key=SecretStr(KEY),
        page_size=10,
        lookback_seconds=LOOKBACK,
        backoff_base=0.0,
        rate_limit=1000.0,
    )
    return PortalSettings(**(values | overrides))


@pytest.fixture
def fake(server) -> FakeTechport:
    return FakeTechport(server, count=45)


@pytest.fixture
def landing(tmp_path) -> Landing:
    return Landing.from_settings(LandingSettings(url=f"file://{tmp_path}/landing"))


@pytest.fixture
def connector(server) -> TechportConnector:
    return TechportConnector(settings(server.url), sleep=lambda s: None)


def read(connector, landing, state=None, run_id="techport-run-1", stream="technologies"):
    batches = list(connector.read(stream, state=state, run_id=run_id, landing=landing))
    versions = {}
    for batch in batches:
        for record in batch.records:
            assert record.key not in versions or versions[record.key] != record.data["phien_ban"]
            versions[record.key] = record.data["phien_ban"]
    return batches, versions


def listing_calls(server):
    return [s for s in server.requests_to(PATH)]


def test_a_full_read_yields_every_record_once_page_by_page(fake, connector, landing, server):
    batches, versions = read(connector, landing)
    assert versions == fake.truth()
    assert [b.page for b in batches] == [1, 2, 3, 4, 5]
    assert [len(b.records) for b in batches] == [10, 10, 10, 10, 5]
    assert all(b.state["progress"] is not None for b in batches[:-1])
    last = max(
        datetime.strptime(r["ngay_cap_nhat"], FORMAT).replace(tzinfo=LOCAL)
        for r in fake.records.values()
    )
    final = batches[-1].state
    assert final["progress"] is None
    assert datetime.fromisoformat(final["cursor"].replace("Z", "+00:00")) == last
    record = batches[1].records[0]
    assert record.landing_uri == batches[1].landing_uri and record.run_id == "techport-run-1"
    assert record.cursor == fake.records[int(record.key)]["ngay_cap_nhat"]  # as served
    assert all(s.headers["X-API-Key"] == KEY for s in server.seen)
    manifest = landing.read_manifest("techport", "technologies", "techport-run-1")
    assert manifest["complete"] and manifest["page_count"] == 5
    assert manifest["summary"]["emitted"] == 45


def test_a_second_run_without_changes_reads_only_the_lookback_window(
    fake, connector, landing, server
):
    first, _ = read(connector, landing)
    before = len(server.seen)
    second, versions = read(connector, landing, first[-1].state, run_id="techport-run-2")
    assert versions == {}
    newest = max(fake._when(r) for r in fake.records.values())
    window = [
        r for r in fake.records.values() if fake._when(r) >= newest - timedelta(seconds=LOOKBACK)
    ]
    calls = server.seen[before:]
    assert len(calls) == math.ceil(len(window) / 10)
    assert {c.param("updated_from") for c in calls} == {
        (newest - timedelta(seconds=LOOKBACK)).strftime(FORMAT)
    }
    assert second[-1].state["cursor"] == first[-1].state["cursor"]


def test_an_incremental_run_picks_up_updates_creates_and_late_arrivals(fake, connector, landing):
    first, _ = read(connector, landing)
    newest = max(fake._when(r) for r in fake.records.values())
    fake.update(100003, newest + timedelta(minutes=5))  # an old record changed now
    fake.update(100040, newest - timedelta(minutes=20))  # a late arrival, inside the look-back
    fake.create(100099, newest + timedelta(minutes=7))
    _, versions = read(connector, landing, first[-1].state, run_id="techport-run-2")
    assert versions == {"100003": 2, "100040": 2, "100099": 1}


def test_a_listing_that_grows_while_paging_is_listed_again_and_misses_nothing(
    fake, connector, landing, server
):
    def insert_at_head(seen):
        if seen.param("trang") == "3" and 100500 not in fake.records:
            fake.create(100500, START - timedelta(days=400))  # sorts before everything

    fake.before_listing = insert_at_head
    _, versions = read(connector, landing)
    assert versions == fake.truth()
    pages = [c.param("trang") for c in listing_calls(server)]
    assert pages == ["1", "2", "3", "1", "2", "3", "4", "5"]


def test_a_repeated_page_is_asked_again_and_nothing_is_lost(fake, connector, landing, server):
    fake.repeat_pages = {3}
    _, versions = read(connector, landing)
    assert versions == fake.truth()
    assert [c.param("trang") for c in listing_calls(server)] == ["1", "2", "3", "3", "4", "5"]


def test_a_portal_that_keeps_repeating_a_page_aborts_the_stream(fake, connector, landing):
    fake.listing_reply = None

    def always_page_two(seen):
        if seen.param("trang") not in ("1", "2"):
            seen.query["trang"] = ["2"]

    fake.before_listing = always_page_two
    with pytest.raises(PaginationLoopError, match="twice") as caught:
        read(connector, landing)
    assert caught.value.context["stream"] == "technologies"


def test_a_killed_run_resumes_from_its_last_published_page(fake, connector, landing, server):
    reader = connector.read("technologies", state=None, run_id="techport-run-1", landing=landing)
    emitted = {}
    for _ in range(3):
        batch = next(reader)
        emitted |= {r.key: r.data["phien_ban"] for r in batch.records}
    saved = batch.state
    reader.close()  # the process dies here
    before = len(server.seen)
    resumed = TechportConnector(settings(server.url), sleep=lambda s: None)
    _, versions = read(resumed, landing, saved, run_id="techport-run-2")
    assert emitted | versions == fake.truth()
    assert len(set(emitted) & set(versions)) == 0  # nothing emitted twice
    probe, jump = server.seen[before], server.seen[before + 1]
    assert (probe.param("trang"), probe.param("updated_from")) == ("1", None)  # nothing moved?
    restart = datetime.strptime(jump.param("updated_from"), FORMAT).replace(tzinfo=LOCAL)
    assert restart == max(fake._when(fake.records[int(k)]) for k in emitted)


def test_a_resumed_run_lists_from_the_start_when_records_appeared_behind_it(
    fake, connector, landing, server
):
    reader = connector.read("technologies", state=None, run_id="techport-run-1", landing=landing)
    emitted = {}
    for _ in range(3):
        batch = next(reader)
        emitted |= {r.key: r.data["phien_ban"] for r in batch.records}
    reader.close()
    fake.create(100600, START - timedelta(days=30))  # appears before what was read
    before = len(server.seen)
    resumed = TechportConnector(settings(server.url), sleep=lambda s: None)
    _, versions = read(resumed, landing, batch.state, run_id="techport-run-2")
    assert emitted | versions == fake.truth()
    assert "100600" in versions
    assert [c.param("updated_from") for c in server.seen[before:]] == [None] * 5


def test_reconciliation_deletes_vanished_keys_confirmed_by_their_detail(
    fake, connector, landing, server
):
    batches, _ = read(connector, landing)
    known = set(fake.truth())
    fake.delete(100007)
    fake.delete(100031)
    fake.hidden = {100012}  # a listing glitch: missing from the listing, alive on its detail URL
    out = list(
        connector.reconcile_deletes(
            "technologies", run_id="techport-run-1", landing=landing, known_keys=known
        )
    )
    deleted = [r for b in out for r in b.records]
    assert sorted(r.key for r in deleted) == ["100007", "100031"]
    assert all(r.deleted and r.data["ma_cong_nghe"] == r.key for r in deleted)
    assert [s.path for s in server.seen if s.path != PATH] == [
        f"{PATH}/100007",
        f"{PATH}/100012",
        f"{PATH}/100031",
    ]
    assert [b.page for b in out] == [6, 7, 8, 9, 10, 11]  # continues the run's page numbers
    assert out[0].state == batches[-1].state  # reconciliation never moves the cursor
    manifest = landing.read_manifest("techport", "technologies", "techport-run-1")
    assert [p["kind"] for p in manifest["pages"]][-6:] == ["listing"] * 5 + ["reconciliation"]
    assert manifest["summary"] == {"deleted": 2}


def test_reconciliation_refuses_to_delete_most_of_the_stream(fake, connector, landing):
    known = set(fake.truth())
    for ma in list(fake.records)[:30]:
        fake.delete(ma)
    with pytest.raises(ReconciliationError, match="too many known keys vanished") as caught:
        list(
            connector.reconcile_deletes(
                "technologies", run_id="r", landing=landing, known_keys=known
            )
        )
    assert caught.value.context["vanished"] == 30


def test_replay_yields_what_the_runs_emitted_without_calling_the_portal(
    fake, connector, landing, server, tmp_path
):
    first, _ = read(connector, landing)
    fake.update(100044, max(fake._when(r) for r in fake.records.values()) + timedelta(minutes=3))
    fake.delete(100002)
    second, _ = read(connector, landing, first[-1].state, run_id="techport-run-2")
    reconciled = list(
        connector.reconcile_deletes(
            "technologies",
            run_id="techport-run-2",
            landing=landing,
            known_keys=set(fake.truth()) | {"100002"},
        )
    )
    tombstones = [(r.key, r.deleted) for b in reconciled for r in b.records]
    assert tombstones == [("100002", True)]
    # the detection time versions the delete, and replay must give back the very same one
    detected = next(r.cursor for b in reconciled for r in b.records)
    assert detected and detected.endswith("Z")
    emitted = [(r.key, r.cursor, r.deleted) for b in first + second for r in b.records] + [
        ("100002", detected, True)
    ]
    calls = len(server.seen)
    cfg = Settings(
        landing=LandingSettings(url=f"file://{tmp_path}/landing"),
        portals={"techport": settings(server.url)},
    )
    replayed = list(replay(landing, portal="techport", stream="technologies", settings=cfg))
    assert len(server.seen) == calls
    assert [(r.key, r.cursor, r.deleted) for b in replayed for r in b.records] == emitted
    assert all(b.state == {} for b in replayed)
    # unparsed, the pages travel to a worker process and give the same records there
    landed = list(landed_pages(landing, portal="techport", stream="technologies", settings=cfg))
    loaded = [(p.page, pickle.loads(pickle.dumps(p)).load()) for p in landed]
    assert [(page, [r.ref for r in records]) for page, records in loaded if records is not None
            ] == [(b.page, [r.ref for r in b.records]) for b in replayed]
    assert [p.kind for p, (_, records) in zip(landed, loaded, strict=True) if records is None
            ] == ["listing"] * (len(landed) - len(replayed))  # the key listing: no records
    assert len(landed) > len(replayed)
    only_second = list(
        replay(
            landing, portal="techport", stream="technologies", run_id="techport-run-2", settings=cfg
        )
    )
    assert {r.key for b in only_second for r in b.records} == {"100044", "100002"} | {
        r.key for b in second for r in b.records
    }


def test_reconciliation_survives_a_repeated_page(fake, connector, landing, server):
    known = set(fake.truth())
    fake.delete(100044)
    fake.repeat_pages = {3}
    out = list(
        connector.reconcile_deletes(
            "technologies", run_id="techport-run-1", landing=landing, known_keys=known
        )
    )
    assert [r.key for b in out for r in b.records] == ["100044"]
    assert [c.param("trang") for c in listing_calls(server)] == ["1", "2", "3", "3", "4", "5"]
