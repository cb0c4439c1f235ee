"""Same seed, same pages across restarts; the admin truth and advance behave as documented."""

from __future__ import annotations

import json

import pytest
import requests

import simulators
from simulators.harvest import Reader, truth, truth_summary

pytestmark = pytest.mark.integration

PAGES = {
    "stinet": [
        "/oai?verb=ListRecords&metadataPrefix=oai_dc",
        "/api/v1/organizations?page=2&page_size=10",
        "/api/v1/experts?page_size=500",
        "/api/v1/tasks/10003",
    ],
    "techport": [
        "/api/v2/nha-cung-cap?so_dong=200",
        "/api/v2/tu-van?trang=3&so_dong=7",
        "/api/v2/cong-nghe/100010",
    ],
    "hoip": [
        "/api/v1/organizations?limit=200",
        "/api/v1/startup-projects?limit=7",
        "/api/v1/changes?limit=1000",
    ],
}


def snapshot(server) -> list[bytes]:
    reader = Reader(server.url, server.portal)
    pages = [
        reader.http.get(server.url + path, timeout=30).content for path in PAGES[server.portal]
    ]
    return [
        *pages,
        *(
            requests.get(f"{server.url}/_admin/truth/{r}", timeout=30).content
            for r in server.app.portal.resources
        ),
    ]


@pytest.mark.parametrize("portal", simulators.portals())
def test_same_seed_same_pages_across_restarts_and_steps(start_sim, portal: str) -> None:
    runs, port = [], 0
    for _ in range(2):  # the second server reuses the first one's port: OAI echoes its base URL
        server = start_sim(portal, seed=2024, port=port)
        port = server.port
        before = snapshot(server)
        step = requests.post(f"{server.url}/_admin/advance", json={"steps": 2}, timeout=30).json()
        runs.append((before, step, snapshot(server)))
        server.stop()
    assert runs[0] == runs[1]
    other = start_sim(portal, seed=2025)
    assert snapshot(other) != runs[0][0]


@pytest.mark.parametrize("portal", simulators.portals())
def test_truth_summary_matches_truth_lines(start_sim, portal: str) -> None:
    server = start_sim(portal)
    summary = truth_summary(server.url)
    assert summary["portal"] == portal and summary["step"] == 0 and summary["scale"] == "small"
    for resource, counts in summary["resources"].items():
        lines = truth(server.url, resource)
        assert counts["live"] == sum(not t["deleted"] for t in lines)
        assert counts["deleted"] == sum(t["deleted"] for t in lines)
        assert counts["broken"] == sum(bool(t["defect"]) for t in lines)
        assert ("entity_id" in lines[0]) == counts["has_entities"]
        assert len({t["key"] for t in lines}) == len(lines)


def test_entity_resources_are_the_documented_ones(start_sim) -> None:
    expected = {
        "stinet": {"organizations", "laboratories", "experts"},
        "techport": {"nha-cung-cap", "tu-van"},
        "hoip": {"organizations", "startup-projects"},
    }
    for portal, names in expected.items():
        summary = truth_summary(start_sim(portal).url)
        assert {r for r, c in summary["resources"].items() if c["has_entities"]} == names


def test_advance_reports_creates_updates_deletes_ties_and_late_arrivals(techport) -> None:
    before = {t["key"]: t for t in truth(techport.url, "cong-nghe")}
    body = requests.post(f"{techport.url}/_admin/advance", timeout=30).json()
    assert body["step"] == 1 and body["clock"] == "2026-03-02T10:00:00+07:00"
    report = body["steps"][0]["resources"]["cong-nghe"]
    after = {t["key"]: t for t in truth(techport.url, "cong-nghe")}
    assert set(report["created"]) == set(after) - set(before)
    for key in report["updated"]:
        assert after[key]["version"] == before[key]["version"] + 1 and not after[key]["deleted"]
    for key in report["deleted"]:
        assert after[key]["deleted"]
    assert len(report["tied"]) >= 2 and all(
        after[k]["updated"] == report["tie_stamp"] for k in report["tied"]
    )
    # a late arrival is stamped up to 30 minutes before the previous clock (09:00)
    for key in report["late"]:
        assert "02/03/2026 08:3" <= after[key]["updated"] < "02/03/2026 09:00"


@pytest.mark.parametrize("body", [{"steps": 0}, {"steps": "two"}, [1]])
def test_advance_rejects_bad_bodies(techport, body) -> None:
    resp = requests.post(f"{techport.url}/_admin/advance", data=json.dumps(body), timeout=10)
    assert resp.status_code == 400 and "error" in resp.json()


def test_stats_count_contract_requests_only(techport) -> None:
    http = Reader(techport.url, "techport").http
    for _ in range(3):
        http.get(f"{techport.url}/api/v2/nhu-cau", timeout=10)
    requests.get(f"{techport.url}/api/v2/nhu-cau", timeout=10)
    stats = requests.get(f"{techport.url}/_admin/stats", timeout=10).json()
    assert stats["requests"] == 4 and stats["by_status"] == {"200": 3, "401": 1}
    assert stats["by_path"] == {"/api/v2/nhu-cau": 4} and stats["bytes_sent"] > 0


def test_world_entities_listing(stinet) -> None:
    resp = requests.get(f"{stinet.url}/_admin/truth/entities", timeout=30)
    lines = [json.loads(line) for line in resp.text.splitlines()]
    resources = ("organizations", "laboratories", "experts")
    ids = {t["entity_id"] for r in resources for t in truth(stinet.url, r)}
    assert {line["entity_id"] for line in lines} == ids
    assert all(line["name"] for line in lines)
    labs = [line for line in lines if line["type"] == "laboratory"]
    assert labs and all(line["parent"].startswith("W-ORG-") for line in labs)
