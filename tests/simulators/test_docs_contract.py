"""The written contracts (docs/portals/*.md) and the servers agree: endpoints and record fields."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

import simulators
from simulators.harvest import Reader

pytestmark = pytest.mark.integration

DOCS = Path(__file__).resolve().parents[2] / "docs" / "portals"
_ENDPOINT = re.compile(r"^\|\s*`(GET|POST|DELETE) (/[^`\s]*)`", re.M)
_RESOURCE_HEADING = re.compile(r"^###\s.*\(`(/api/v\d/[a-z-]+)`\)\s*$", re.M)
_COMMON = {
    "stinet": {"id", "created", "modified", "revision"},
    "techport": set(),
    "hoip": {"id", "created_at", "updated_at", "version"},
}


def documented_endpoints(portal: str) -> set[tuple[str, str]]:
    text = (DOCS / f"{portal}.md").read_text(encoding="utf-8")
    return {(m, re.sub(r"\{[^}]+\}", "{}", p)) for m, p in _ENDPOINT.findall(text)}


def documented_fields(portal: str) -> dict[str, set[str]]:
    text = (DOCS / f"{portal}.md").read_text(encoding="utf-8")
    out: dict[str, set[str]] = {}
    for match in _RESOURCE_HEADING.finditer(text):
        body = text[match.end() :].split("\n#", 1)[0]
        names: set[str] = set()
        for line in body.splitlines():
            if line.startswith("|") and not line.startswith(("| Field", "|---")):
                names |= set(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
        out[match.group(1)] = names
    return out


@pytest.mark.parametrize("portal", simulators.portals())
def test_docs_name_every_endpoint_the_server_exposes(portal: str) -> None:
    served = {
        (m, re.sub(r"\{[^}]+\}", "{}", p)) for m, p in simulators.build_portal(portal).routes()
    }
    assert documented_endpoints(portal) == served


@pytest.mark.parametrize("portal", simulators.portals())
def test_every_documented_endpoint_answers(portal: str, start_sim) -> None:
    server = start_sim(portal)
    reader = Reader(server.url, portal)
    for method, path in sorted(documented_endpoints(portal)):
        if method != "GET":
            continue
        listing = path.split("/{}")[0]
        if path.endswith("/{}"):
            first = _first_key(reader, portal, listing)
            path = listing + "/" + first
        params = {"verb": "Identify"} if path == "/oai" else {}
        resp = reader.http.get(server.url + path, params=params, timeout=30)
        assert resp.status_code == 200, (path, resp.text[:200])


def _first_key(reader: Reader, portal: str, listing: str) -> str:
    resource = listing.rsplit("/", 1)[1]
    return next(iter(reader.read(resource))).key


@pytest.mark.parametrize("portal", simulators.portals())
def test_served_records_have_exactly_the_documented_fields(portal: str, start_sim) -> None:
    server = start_sim(portal)
    reader = Reader(server.url, portal)
    fields = documented_fields(portal)
    assert fields, f"no resource field tables found in {portal}.md"
    for path, names in fields.items():
        resource = path.rsplit("/", 1)[1]
        records = [seen.record for seen in reader.read(resource)]
        assert records, resource
        served = set().union(*(set(r) for r in records))
        assert served == names | _COMMON[portal], (resource, served ^ (names | _COMMON[portal]))


def test_unknown_paths_answer_404_in_each_portal_style(start_sim) -> None:
    bodies = {}
    for portal in simulators.portals():
        server = start_sim(portal)
        resp = requests.get(
            server.url + "/api/v9/nothing", headers={"X-API-Key": "dev-techport-key"}, timeout=10
        )
        assert resp.status_code == 404
        bodies[portal] = resp.json()
    assert bodies["stinet"]["error"]["code"] == "not_found"
    assert bodies["techport"]["ma_loi"] == "KHONG_TIM_THAY"
    assert bodies["hoip"]["status"] == 404 and bodies["hoip"]["type"].endswith("/not-found")
