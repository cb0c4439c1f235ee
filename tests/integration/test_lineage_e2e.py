"""OpenLineage on real runs: sync, load, reconcile and replay emit valid START/COMPLETE (or FAIL)
events, and a warehouse row's ``runid`` leads through them back to its landed page.

Services: the shared Kafka; the warehouse in SQLite and the landing zone under tmp_path; the
H.OIP simulator; events go to the file transport (the default) under the test's var dir.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from tests.fixtures.kafka_topics import unique_tag

pytestmark = pytest.mark.integration

STREAM = "organizations"
ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path, kafka_bootstrap: str, base_url: str, **extra: str) -> Any:
    from ecohub.settings import load_settings

    tag = unique_tag()
    return load_settings({
        "ECOHUB_VAR_DIR": str(tmp_path),
        "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/wh.db",
        "ECOHUB_LANDING__URL": f"file://{tmp_path}/landing",
        "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "ECOHUB_KAFKA__TOPIC_PREFIX": f"ol{tag}",
        "ECOHUB_KAFKA__CONSUMER_GROUP": f"ol-{tag}",
        "ECOHUB_KAFKA__PARTITIONS": "1",
        "ECOHUB_HOIP__BASE_URL": base_url,
        **extra,
    })


def _runs(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        runs.setdefault(event["run"]["runId"], []).append(event)
    return runs


def test_runs_emit_valid_events_and_a_row_leads_back_to_its_landed_page(
    tmp_path, kafka_bootstrap, ol_check, ol_events
):
    import simulators
    from ecohub.db import get_engine
    from ecohub.landing import Landing
    from ecohub.lineage import landing_dataset_id
    from ecohub.loader import consume
    from ecohub.ops import reconcile_pending
    from ecohub.pipeline import replay, sync

    with simulators.start("hoip", scale="small", seed=5, port=0) as server:
        settings = _settings(tmp_path, kafka_bootstrap, server.url)
        [report] = sync("hoip", [STREAM], settings=settings)
    consume(settings, idle_timeout_s=1.0)
    reconcile_pending(settings)
    replay("hoip", STREAM, source_run_id=report.run_id, settings=settings)

    events = ol_events(tmp_path / "lineage" / "openlineage.ndjson")
    for event in events:
        ol_check(event)
    runs = _runs(events)
    by_job = {run[0]["job"]["name"]: run for run in runs.values()}
    assert set(by_job) == {"ecohub.sync.hoip.organizations", "ecohub.replay.hoip.organizations",
                           f"ecohub.load.{settings.kafka.consumer_group}", "ecohub.reconcile"}
    for run in runs.values():
        assert [e["eventType"] for e in run] == ["START", "COMPLETE"]

    # the sync: portal endpoint -> landing prefix + topic, with schema and column lineage
    sync_done = by_job["ecohub.sync.hoip.organizations"][-1]
    [endpoint] = sync_done["inputs"]
    assert (endpoint["namespace"], endpoint["name"]) == (server.url, "/api/v1/organizations")
    topic = f"{settings.kafka.topic_prefix}.organization.v1"
    [topic_out] = [o for o in sync_done["outputs"] if o["name"] == topic]
    assert topic_out["namespace"] == f"kafka://{kafka_bootstrap}"
    schema = json.loads((ROOT / "schemas/entities/organization.v1.json").read_text())
    assert {f["name"] for f in topic_out["facets"]["schema"]["fields"]} == set(
        schema["properties"])
    columns = topic_out["facets"]["columnLineage"]["fields"]
    assert columns["tax_code"]["inputFields"][0]["field"] == "tax_id"
    assert {i["name"] for f in columns.values() for i in f["inputFields"]} == {endpoint["name"]}
    assert topic_out["outputFacets"]["outputStatistics"]["rowCount"] == report.events

    # the load: topic (with the GX verdicts) -> warehouse tables
    load_done = by_job[f"ecohub.load.{settings.kafka.consumer_group}"][-1]
    [topic_in] = [i for i in load_done["inputs"] if i["name"] == topic]
    assertions = topic_in["inputFacets"]["dataQualityAssertions"]["assertions"]
    suite = json.loads((ROOT / "quality/organization.json").read_text())
    assert {e["meta"]["name"] for e in suite["expectations"]} <= {a["assertion"] for a in
                                                                  assertions}
    with get_engine(settings.warehouse_url).connect() as conn:
        rows = conn.execute(text(
            "select runid, landinguri, source_id from entity_version "
            "where entity_type = 'organization' order by source_id")).all()
        quarantined = conn.execute(text("select count(*) from quarantine")).scalar_one()
    metrics = topic_in["inputFacets"]["dataQualityMetrics"]
    assert metrics["rowCount"] == len(rows) + quarantined
    assert all(a["success"] for a in assertions) == (quarantined == 0)
    assert any(o["name"].endswith("entity_version") for o in load_done["outputs"])

    # a warehouse row -> the sync run with its runid -> its landing prefix -> the landed page
    runid, landinguri, source_id = rows[0]
    [made_it] = [r[-1] for r in runs.values()
                 if r[-1]["run"]["facets"].get("ecohub", {}).get("runId") == runid
                 and r[-1]["job"]["name"].startswith("ecohub.sync.")]
    landing_outputs = {(o["namespace"], o["name"]) for o in made_it["outputs"]}
    assert landing_dataset_id(landinguri) in landing_outputs
    page = Landing.from_settings(settings).get_page(landinguri)
    assert source_id in {item["id"] for item in json.loads(page)["items"]}
    assert Path(urlsplit(landinguri).path).is_file()
    assert topic in {o["name"] for o in made_it["outputs"]}

    # the replay reads that landing prefix and writes the same topic
    replay_done = by_job["ecohub.replay.hoip.organizations"][-1]
    assert landing_dataset_id(landinguri) in {(i["namespace"], i["name"])
                                              for i in replay_done["inputs"]}
    assert topic in {o["name"] for o in replay_done["outputs"]}
    assert replay_done["run"]["facets"]["ecohub"]["sourceRunId"] == runid


def test_a_failing_sync_emits_fail_with_its_error(
    tmp_path, kafka_bootstrap, ol_check, ol_events
):
    import socket

    from ecohub.errors import EcohubError
    from ecohub.pipeline import sync_stream

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    settings = _settings(tmp_path, kafka_bootstrap, closed, ECOHUB_HOIP__MAX_RETRIES="0")
    with pytest.raises(EcohubError):
        sync_stream("hoip", STREAM, run_id="hoip-failing-run", settings=settings)
    events = ol_events(tmp_path / "lineage" / "openlineage.ndjson")
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    for event in events:
        ol_check(event)
    assert events[1]["run"]["facets"]["errorMessage"]["message"]
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"]
