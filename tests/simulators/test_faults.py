"""Each fault fires as configured, deterministically, on every portal it applies to."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime

import pytest
import requests
from defusedxml import ElementTree

from simulators.harvest import OAI_NS, Reader, truth, truth_summary

pytestmark = pytest.mark.integration

LISTING = {
    "stinet": "/api/v1/tasks",
    "techport": "/api/v2/nhu-cau",
    "hoip": "/api/v1/support-applications",
}
PAGE2 = {"stinet": {"page": 2, "page_size": 5}, "techport": {"trang": 2, "so_dong": 5}}


def client(server) -> Reader:
    return Reader(server.url, server.portal)


def configure(server, config: dict) -> dict:
    resp = requests.post(f"{server.url}/_admin/faults", json=config, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.parametrize("portal", ["stinet", "techport", "hoip"])
def test_rate_limit_burst_count(start_sim, portal: str) -> None:
    server = start_sim(portal)
    http = client(server).http
    configure(server, {"rate_limit_burst": {"count": 2, "retry_after": 3}})
    codes = [http.get(server.url + LISTING[portal], timeout=10) for _ in range(4)]
    assert [r.status_code for r in codes] == [429, 429, 200, 200]
    assert codes[0].headers["Retry-After"] == "3"
    stats = requests.get(f"{server.url}/_admin/stats", timeout=10).json()
    assert stats["faults_fired"] == {"rate_limit_burst": 2} and stats["by_status"]["429"] == 2


def test_retry_after_as_http_date(techport) -> None:
    configure(
        techport,
        {"rate_limit_burst": {"count": 1, "retry_after": 30, "retry_after_format": "http-date"}},
    )
    resp = client(techport).http.get(techport.url + LISTING["techport"], timeout=10)
    assert (
        resp.status_code == 429
        and parsedate_to_datetime(resp.headers["Retry-After"]).tzinfo is not None
    )


@pytest.mark.parametrize(("portal", "status"), [("stinet", 503), ("techport", 502), ("hoip", 500)])
def test_server_error_after_n_requests(start_sim, portal: str, status: int) -> None:
    server = start_sim(portal)
    http = client(server).http
    configure(server, {"server_error": {"count": 1, "after": 2, "status": status}})
    codes = [http.get(server.url + LISTING[portal], timeout=10).status_code for _ in range(4)]
    assert codes == [200, 200, status, 200]


def test_rate_faults_are_deterministic_for_a_seed(start_sim) -> None:
    patterns = []
    for seed in (7, 7, 8):
        server = start_sim("techport", seed=seed, faults={"server_error": {"rate": 0.3}})
        http = client(server).http
        patterns.append(
            [http.get(server.url + LISTING["techport"], timeout=10).status_code for _ in range(30)]
        )
    assert patterns[0] == patterns[1] and 503 in patterns[0]
    assert patterns[0] != patterns[2]


def test_timeout_and_slow(techport) -> None:
    http = client(techport).http
    configure(techport, {"timeout": {"count": 1, "delay": 1.5}})
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.get(techport.url + LISTING["techport"], timeout=0.5)
    configure(techport, {"slow": {"count": 1, "delay": 0.3}})
    resp = http.get(techport.url + LISTING["techport"], timeout=10)
    assert resp.status_code == 200 and resp.elapsed.total_seconds() >= 0.3


@pytest.mark.parametrize("portal", ["stinet", "techport", "hoip"])
def test_truncated_body_is_broken_json(start_sim, portal: str) -> None:
    server = start_sim(portal)
    configure(server, {"truncated": {"count": 1}})
    resp = client(server).http.get(server.url + LISTING[portal], timeout=10)
    assert resp.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.content)


def test_truncated_xml_and_cut_connection(stinet) -> None:
    configure(stinet, {"truncated": {"count": 1, "paths": ["/oai"]}})
    resp = requests.get(
        f"{stinet.url}/oai",
        params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"},
        timeout=10,
    )
    with pytest.raises(ElementTree.ParseError):
        ElementTree.fromstring(resp.content)
    configure(stinet, {"truncated": {"count": 1, "mode": "connection"}})
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        requests.get(f"{stinet.url}/api/v1/experts", timeout=10)
    assert requests.get(f"{stinet.url}/api/v1/experts", timeout=10).status_code == 200


@pytest.mark.parametrize("portal", ["stinet", "techport"])
def test_repeated_page_serves_the_previous_page_again(start_sim, portal: str) -> None:
    server = start_sim(portal)
    http = client(server).http
    page1 = {k: (1 if k in ("page", "trang") else v) for k, v in PAGE2[portal].items()}
    configure(server, {"repeated_page": {"count": 1}})
    first = http.get(server.url + LISTING[portal], params=page1, timeout=10)
    second = http.get(server.url + LISTING[portal], params=PAGE2[portal], timeout=10)
    third = http.get(server.url + LISTING[portal], params=PAGE2[portal], timeout=10)
    assert second.content == first.content and third.content != first.content


def test_repeated_page_on_cursor_and_token_listings(hoip, stinet) -> None:
    reader = client(hoip)
    configure(hoip, {"repeated_page": {"count": 1}})
    first = reader.get("/api/v1/organizations", limit=5).json()
    again = reader.get("/api/v1/organizations", limit=5, cursor=first["next_cursor"]).json()
    assert again == first  # the same cursor comes back: a client must detect the loop
    configure(stinet, {"repeated_page": {"count": 1}})
    one = requests.get(
        f"{stinet.url}/oai",
        params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"},
        timeout=10,
    )
    token = ElementTree.fromstring(one.content).find(".//oai:resumptionToken", OAI_NS).text
    two = requests.get(
        f"{stinet.url}/oai",
        params={"verb": "ListIdentifiers", "resumptionToken": token},
        timeout=10,
    )
    assert two.content == one.content


@pytest.mark.parametrize("portal", ["stinet", "techport"])
def test_head_insert_shifts_pages_and_grows_the_truth(start_sim, portal: str) -> None:
    server = start_sim(portal)
    http = client(server).http
    resource = LISTING[portal].rsplit("/", 1)[1]
    before = truth_summary(server.url)["resources"][resource]["live"]
    configure(server, {"head_insert": {"count": 1, "records": 2}})
    page1 = {k: (1 if k in ("page", "trang") else v) for k, v in PAGE2[portal].items()}
    http.get(server.url + LISTING[portal], params=page1, timeout=10)
    body = http.get(server.url + LISTING[portal], params=PAGE2[portal], timeout=10).json()
    total = body["meta"]["total"] if portal == "stinet" else body["phan_trang"]["tong_so"]
    assert total == before + 2
    assert truth_summary(server.url)["resources"][resource]["live"] == before + 2


def test_head_insert_while_paging_a_cursor_appears_in_the_change_feed(hoip) -> None:
    reader = client(hoip)
    _, since = reader.changes(0)
    configure(hoip, {"head_insert": {"count": 1, "paths": ["/api/v1/organizations"]}})
    first = reader.get("/api/v1/organizations", limit=5).json()
    reader.get("/api/v1/organizations", limit=5, cursor=first["next_cursor"])
    changes, _ = reader.changes(since)
    assert [(c["resource"], c["op"]) for c in changes] == [("organizations", "upsert")]
    keys = {t["key"] for t in truth(hoip.url, "organizations")}
    assert changes[0]["id"] in keys


def test_expired_token_on_stinet_and_hoip(stinet, hoip) -> None:
    configure(stinet, {"expired_token": {"count": 1}})
    one = requests.get(
        f"{stinet.url}/oai",
        params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"},
        timeout=10,
    )
    token = ElementTree.fromstring(one.content).find(".//oai:resumptionToken", OAI_NS).text
    two = requests.get(
        f"{stinet.url}/oai",
        params={"verb": "ListIdentifiers", "resumptionToken": token},
        timeout=10,
    )
    assert (
        ElementTree.fromstring(two.content).find("oai:error", OAI_NS).get("code")
        == "badResumptionToken"
    )
    reader = client(hoip)
    configure(hoip, {"expired_token": {"count": 1}})
    assert reader.http.get(f"{hoip.url}/api/v1/programs", timeout=10).status_code == 401
    assert (
        reader.http.get(f"{hoip.url}/api/v1/programs", timeout=10).status_code == 401
    )  # revoked for good
    reader.login()
    assert reader.http.get(f"{hoip.url}/api/v1/programs", timeout=10).status_code == 200


def test_oversized_response(techport) -> None:
    configure(techport, {"oversized": {"count": 1, "bytes": 3_000_000}})
    with client(techport).http.get(
        techport.url + LISTING["techport"], stream=True, timeout=30
    ) as resp:
        assert int(resp.headers["Content-Length"]) == 3_000_000
        assert sum(len(chunk) for chunk in resp.iter_content(1 << 16)) == 3_000_000


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"earthquake": {}}, "unknown fault(s) ['earthquake']"),
        ({"server_error": {"rate": 2}}, "server_error.rate must be a number between 0 and 1"),
        ({"server_error": {"status": 404}}, "server_error.status must be one of"),
        ({"slow": {"rate": 0.1, "count": 2}}, "either rate or count"),
        ({"truncated": {"mode": "half"}}, "truncated.mode"),
        ({"head_insert": {"paths": ["api"]}}, "paths must be a list of path prefixes"),
    ],
)
def test_invalid_fault_configuration_is_refused(techport, config: dict, message: str) -> None:
    resp = requests.post(f"{techport.url}/_admin/faults", json=config, timeout=10)
    assert resp.status_code == 400 and message in resp.json()["error"]
    assert requests.get(f"{techport.url}/_admin/faults", timeout=10).json()["faults"] == {}


def test_faults_are_reported_and_cleared(techport) -> None:
    described = configure(techport, {"slow": {"rate": 0.25, "delay": 0.01}, "token_ttl": 60})
    assert described["faults"]["slow"]["rate"] == 0.25 and described["knobs"]["token_ttl"] == 60
    assert configure(techport, {})["faults"] == {}


def test_admin_paths_are_never_faulted(techport) -> None:
    configure(techport, {"server_error": {"rate": 1.0}})
    assert requests.get(f"{techport.url}/_admin/truth", timeout=10).status_code == 200
