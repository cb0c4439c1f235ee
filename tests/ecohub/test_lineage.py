"""OpenLineage emission (ecohub/lineage.py): run events, facets, transports, parent runs.

The whole graph on real services (sync -> landing -> Kafka -> warehouse, a warehouse row traced
back to its landed page) is in tests/integration/test_lineage_e2e.py.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from ecohub import lineage
from ecohub.lineage import Parent, column_lineage, parent_run
from ecohub.records import SourceRecord
from ecohub.settings import load_settings


@pytest.fixture
def settings(tmp_path):
    return load_settings({
        "ECOHUB_VAR_DIR": str(tmp_path),
        "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/wh.db",
        "ECOHUB_LANDING__URL": f"file://{tmp_path}/landing",
    })


# --------------------------------------------------------------------------- schema self-test


def test_the_schema_rejects_what_the_spec_forbids(ol_check):
    good = {
        "eventTime": "2026-12-02T05:00:00.000+00:00", "producer": "https://x.example/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "eventType": "START", "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "ecohub", "name": "j"}, "inputs": [], "outputs": [],
    }
    ol_check(good)
    for broken in (
        {**good, "eventType": "DONE"},
        {**good, "run": {"runId": "hoip-20261202T000000Z-1"}},
        {**good, "eventTime": "yesterday"},
        {**good, "job": {"name": "j"}},
        {**good, "outputs": [{"namespace": "n", "name": "t", "facets": {"schema": {}}}]},
    ):
        with pytest.raises(AssertionError):
            ol_check(broken)


_PARENT_URL = "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"


def _with_parent(parent: dict[str, Any], url: str = _PARENT_URL) -> dict[str, Any]:
    return {
        "eventTime": "2026-12-02T05:00:00.000+00:00", "producer": "https://x.example/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "eventType": "COMPLETE",
        "run": {"runId": str(uuid.uuid4()), "facets": {"parent": {
            "_producer": "https://x.example/p", "_schemaURL": url, **parent}}},
        "job": {"namespace": "ecohub", "name": "j"}, "inputs": [], "outputs": [],
    }


def test_standard_facets_are_checked_by_the_official_schema_they_name(ol_check):
    """The official ParentRunFacet schema (vendored) requires run.runId and job.namespace; a
    facet version that is not vendored is refused rather than passed unchecked."""
    parent = {"run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "airflow", "name": "d.t"}}
    ol_check(_with_parent(parent))
    with pytest.raises(AssertionError, match="runId"):
        ol_check(_with_parent({**parent, "run": {}}))
    with pytest.raises(AssertionError, match="not vendored"):
        ol_check(_with_parent(parent, _PARENT_URL.replace("1-2-0", "9-9-9")))


# --------------------------------------------------------------------------- runs


def _decorated(kind: str):
    calls = []

    @lineage._traced(kind, lambda s, *a, **k: ("ecohub.test.job", str(uuid.uuid4()), [], []),
                     lambda s, result, *a, **k: ([], [], {"ecohub": lineage._ecohub_facet(
                         runId="r-1", counts={"events": result})}))
    def job(settings: Any, value: int) -> int:
        calls.append(value)
        if value < 0:
            raise RuntimeError("the job broke: negative input")
        return value

    return job, calls


def test_a_run_emits_start_then_complete_with_one_run_id(settings, ol_check, ol_events):
    job, calls = _decorated("SYNC")
    assert job(settings, 7) == 7 and calls == [7]
    events = ol_events(settings.var_dir / "lineage" / "openlineage.ndjson")
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert len({e["run"]["runId"] for e in events}) == 1
    for event in events:
        ol_check(event)
    assert events[1]["run"]["facets"]["ecohub"]["counts"] == {"events": 7}
    assert events[0]["job"]["facets"]["jobType"]["jobType"] == "SYNC"


def test_a_failing_run_emits_fail_with_the_error_and_still_raises(settings, ol_check, ol_events):
    job, _ = _decorated("LOAD")
    with pytest.raises(RuntimeError, match="negative input"):
        job(settings, -1)
    events = ol_events(settings.var_dir / "lineage" / "openlineage.ndjson")
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert "negative input" in events[1]["run"]["facets"]["errorMessage"]["message"]
    for event in events:
        ol_check(event)


def test_a_broken_transport_never_fails_the_run(tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the lineage folder should be")
    settings = load_settings({"ECOHUB_VAR_DIR": str(blocked),
                              "ECOHUB_LINEAGE__FILE_PATH": str(blocked / "x" / "ol.ndjson")})
    job, calls = _decorated("SYNC")
    assert job(settings, 3) == 3 and calls == [3]


def test_transport_off_emits_nothing(tmp_path):
    settings = load_settings({"ECOHUB_VAR_DIR": str(tmp_path), "ECOHUB_LINEAGE__TRANSPORT": "off"})
    job, _ = _decorated("SYNC")
    assert job(settings, 1) == 1
    assert not (tmp_path / "lineage").exists()


def test_http_transport_posts_each_event_with_the_api_key(tmp_path, ol_check):
    received: list[tuple[str, str | None, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers.get("Authorization"), json.loads(body)))
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = load_settings({
            "ECOHUB_VAR_DIR": str(tmp_path), "ECOHUB_LINEAGE__TRANSPORT": "http",
            "ECOHUB_LINEAGE__URL": f"http://127.0.0.1:{server.server_address[1]}",
            "ECOHUB_LINEAGE__API_KEY": "marquez-key-123",
        })
        job, _ = _decorated("REPLAY")
        job(settings, 2)
    finally:
        server.shutdown()
        server.server_close()
    assert [(p, a) for p, a, _ in received] == [("/api/v1/lineage", "Bearer marquez-key-123")] * 2
    assert [e["eventType"] for *_, e in received] == ["START", "COMPLETE"]
    for *_, event in received:
        ol_check(event)
    assert "marquez-key-123" not in json.dumps([e for *_, e in received])


def test_console_transport_logs_the_events(tmp_path, caplog):
    settings = load_settings({"ECOHUB_VAR_DIR": str(tmp_path),
                              "ECOHUB_LINEAGE__TRANSPORT": "console"})
    job, _ = _decorated("SYNC")
    with caplog.at_level("INFO"):
        job(settings, 5)
    logged = [r.getMessage() for r in caplog.records if '"eventType"' in r.getMessage()]
    assert len(logged) == 2 and '"COMPLETE"' in logged[1]


# --------------------------------------------------------------------------- parents


@pytest.mark.parametrize(
    "text",
    ["airflow", "default/dag.task", f"default//{uuid.uuid4()}", "ns/dag.task/not-a-uuid"],
)
def test_a_malformed_parent_id_is_refused(text):
    with pytest.raises(ValueError):
        Parent.parse(text)


def test_parent_and_root_from_provider_ids_reach_the_events(settings, ol_check, ol_events):
    task_run, dag_run = str(uuid.uuid4()), str(uuid.uuid4())
    parent = Parent.parse(f"default/ecohub_sync_hoip.sync_stream/{task_run}",
                          f"default/ecohub_sync_hoip/{dag_run}")
    job, _ = _decorated("SYNC")
    with parent_run(parent):
        job(settings, 1)
    for event in ol_events(settings.var_dir / "lineage" / "openlineage.ndjson"):
        ol_check(event)
        facet = event["run"]["facets"]["parent"]
        assert facet["run"]["runId"] == task_run
        assert (facet["job"]["namespace"], facet["job"]["name"]) == (
            "default", "ecohub_sync_hoip.sync_stream")
        assert facet["root"]["run"]["runId"] == dag_run
        assert facet["root"]["job"]["name"] == "ecohub_sync_hoip"


def test_parent_from_the_environment_when_no_context_gives_one(settings, monkeypatch, ol_events):
    task_run = str(uuid.uuid4())
    monkeypatch.setenv("OPENLINEAGE_PARENT_ID", f"airflow/ecohub_replay.replay_stream/{task_run}")
    job, _ = _decorated("REPLAY")
    job(settings, 1)
    events = ol_events(settings.var_dir / "lineage" / "openlineage.ndjson")
    assert {e["run"]["facets"]["parent"]["run"]["runId"] for e in events} == {task_run}


def test_airflow_parent_is_the_run_id_the_provider_gives_the_task():
    """The ids come from apache-airflow-providers-openlineage's own macros, so our runs attach
    to the task's OpenLineage events (the provider's listener uses the same builder)."""
    from airflow.providers.openlineage.plugins.adapter import OpenLineageAdapter

    logical = datetime.fromisoformat("2026-12-02T04:00:00+00:00")
    dag_run = SimpleNamespace(logical_date=logical, run_after=logical, clear_number=0, conf={})
    ti = SimpleNamespace(dag_id="ecohub_sync_hoip", task_id="sync_stream", try_number=2,
                         map_index=1, dag_run=dag_run, get_template_context=lambda: {})
    parent = lineage.parent_from_airflow({"ti": ti})
    assert parent is not None
    assert parent.job == "ecohub_sync_hoip.sync_stream"
    assert parent.run_id == OpenLineageAdapter.build_task_instance_run_id(
        dag_id="ecohub_sync_hoip", task_id="sync_stream", try_number=2, logical_date=logical,
        map_index=1)
    assert parent.root is not None and parent.root.job == "ecohub_sync_hoip"
    assert parent.root.run_id == OpenLineageAdapter.build_dag_run_id(
        dag_id="ecohub_sync_hoip", logical_date=logical, clear_number=0)


# --------------------------------------------------------------------------- column lineage


ORGANIZATION = {
    "id": "org_0000017", "name": "Trung tâm Khởi nghiệp Đổi mới sáng tạo TP.HCM (SIHUB)",
    "name_en": "Saigon Innovation Hub", "kind": "incubator", "tax_id": "0316118529",
    "address": {"street": "123 Trương Định", "ward": "phường Xuân Hòa", "district": None,
                "city": "TP. Hồ Chí Minh",
                "full": "123 Trương Định, phường Xuân Hòa, TP. Hồ Chí Minh"},
    "website": "https://sihub.gov.vn", "email": "info@sihub.gov.vn", "phone": "028 3932 0016",
    "description": "Trung tâm hỗ trợ khởi nghiệp.", "founded_year": 2017,
    "created_at": "2019-06-01T08:00:00+07:00", "updated_at": "2026-03-01T10:00:00+07:00",
    "version": 4,
}


def test_column_lineage_follows_what_the_mapper_reads():
    record = SourceRecord("hoip", "organizations", "org_0000017", ORGANIZATION,
                          ORGANIZATION["updated_at"])
    found = column_lineage(record, b"test-pii-key")["organization"]
    assert found["tax_code"] == ["tax_id"]
    assert found["english_name"] == ["name_en"]
    assert found["email_token"] == ["email"] and found["phone_token"] == ["phone"]
    assert "name" in found["name"]
    assert {p.split(".")[0] for p in found["address"]} == {"address"}
    sources = {p.split(".")[0].split("[")[0] for paths in found.values() for p in paths}
    assert sources <= set(ORGANIZATION), sources - set(ORGANIZATION)


def test_column_lineage_facet_marks_pii_tokens_as_masked():
    facet = lineage._column_lineage_facet(
        {"email_token": ["email"], "name": ["name"]},
        SimpleNamespace(namespace="http://127.0.0.1:8103", name="/api/v1/organizations"),
    )
    email = facet.fields["email_token"].inputFields[0]
    assert (email.field, email.transformations[0].masking) == ("email", True)
    assert facet.fields["name"].inputFields[0].transformations[0].masking is False
