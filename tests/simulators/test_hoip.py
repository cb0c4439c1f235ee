"""H.OIP contract: OAuth2 client credentials, cursors, updated_after, tombstones in /changes."""

from __future__ import annotations

import base64

import pytest
import requests

from simulators.harvest import Reader, truth

pytestmark = pytest.mark.integration
RESOURCES = ["startup-projects", "organizations", "programs", "challenges", "support-applications"]


def test_token_with_basic_auth_and_with_form_fields(hoip) -> None:
    basic = requests.post(
        f"{hoip.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("ecohub", "dev-hoip-secret"),
        timeout=10,
    )
    form = requests.post(
        f"{hoip.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "ecohub",
            "client_secret": "dev-hoip-secret",
        },
        timeout=10,
    )
    for resp in (basic, form):
        body = resp.json()
        assert (
            resp.status_code == 200
            and body["token_type"] == "Bearer"
            and body["expires_in"] == 3600
        )
        assert body["access_token"].startswith("hoip_at_")
    assert basic.json()["access_token"] != form.json()["access_token"]


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, ("ecohub", "sai-mat-khau"), 401, "invalid_client"),
        (
            {"grant_type": "client_credentials"},
            ("khach-la", "dev-hoip-secret"),
            401,
            "invalid_client",
        ),
        ({"grant_type": "password"}, ("ecohub", "dev-hoip-secret"), 400, "unsupported_grant_type"),
        ({}, ("ecohub", "dev-hoip-secret"), 400, "invalid_request"),
    ],
)
def test_token_errors(hoip, data, auth, status: int, error: str) -> None:
    resp = requests.post(f"{hoip.url}/oauth/token", data=data, auth=auth, timeout=10)
    assert resp.status_code == status and resp.json()["error"] == error


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer hoip_at_khongphaitoken",
        "Basic " + base64.b64encode(b"ecohub:dev-hoip-secret").decode(),
    ],
)
def test_api_without_valid_bearer_is_401(hoip, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    resp = requests.get(f"{hoip.url}/api/v1/programs", headers=headers, timeout=10)
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    assert resp.headers["Content-Type"].startswith("application/problem+json")


def test_tokens_expire(start_sim) -> None:
    import time

    server = start_sim("hoip", faults={"token_ttl": 0.5})
    reader = Reader(server.url, "hoip")
    assert reader.http.get(f"{server.url}/api/v1/programs", timeout=10).status_code == 200
    time.sleep(0.8)
    assert reader.http.get(f"{server.url}/api/v1/programs", timeout=10).status_code == 401


@pytest.mark.parametrize("resource", RESOURCES)
def test_cursor_read_equals_truth_in_documented_order(hoip, resource: str) -> None:
    expected = {t["key"]: t["updated"] for t in truth(hoip.url, resource) if not t["deleted"]}
    got = [(s.key, s.stamp) for s in Reader(hoip.url, "hoip", page_size=11).read(resource)]
    assert dict(got) == expected and len(got) == len(expected)
    assert got == sorted(got, key=lambda kv: (kv[1], kv[0]))


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"cursor": "khong-hop-le"},
        {"updated_after": "2026-03-01 10:00"},
        {"updated_after": "2026-03-01T10:00:00"},
        {"offset": "10"},
    ],
)
def test_bad_list_parameters_are_400(hoip, hoip_session, params: dict[str, str]) -> None:
    resp = hoip_session.get(f"{hoip.url}/api/v1/organizations", params=params, timeout=10)
    assert resp.status_code == 400 and resp.json()["type"].endswith("/invalid-parameter")


def test_cursor_is_bound_to_its_updated_after(hoip, hoip_session) -> None:
    first = hoip_session.get(
        f"{hoip.url}/api/v1/organizations", params={"limit": 5}, timeout=10
    ).json()
    resp = hoip_session.get(
        f"{hoip.url}/api/v1/organizations",
        params={"cursor": first["next_cursor"], "updated_after": "2020-01-01T00:00:00+07:00"},
        timeout=10,
    )
    assert resp.status_code == 400


def test_updated_after_is_exclusive(hoip, hoip_session) -> None:
    lines = truth(hoip.url, "organizations")
    pivot = sorted(t["updated"] for t in lines)[len(lines) // 2]
    rows = {s.key for s in Reader(hoip.url, "hoip").read("organizations", pivot)}
    assert rows == {t["key"] for t in lines if t["updated"] > pivot and not t["deleted"]}


def test_change_feed_from_zero_is_the_key_set_with_tombstones(hoip) -> None:
    reader = Reader(hoip.url, "hoip")
    changes, next_since = reader.changes(0)
    seqs = [c["seq"] for c in changes]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for resource in RESOURCES:
        expected = {(t["key"], t["version"], t["deleted"]) for t in truth(hoip.url, resource)}
        got = {
            (c["id"], c["version"], c["op"] == "delete")
            for c in changes
            if c["resource"] == resource
        }
        assert got == expected
    assert any(c["op"] == "delete" and c["deleted_at"] == c["updated_at"] for c in changes)
    again = reader.get("/api/v1/changes", since=next_since).json()
    assert again == {"changes": [], "next_since": next_since, "has_more": False}


def test_change_feed_shows_the_step_including_late_arrivals(hoip) -> None:
    reader = Reader(hoip.url, "hoip")
    _, since = reader.changes(0)
    step = requests.post(f"{hoip.url}/_admin/advance", timeout=30).json()["steps"][0]["resources"]
    changes, _ = reader.changes(since)
    for resource, report in step.items():
        ops = {c["id"]: c["op"] for c in changes if c["resource"] == resource}
        for key in report["created"] + report["updated"]:
            assert ops[key] == "upsert"
        for key in report["deleted"]:
            assert ops[key] == "delete"
            assert (
                reader.http.get(f"{hoip.url}/api/v1/{resource}/{key}", timeout=10).status_code
                == 410
            )
    assert any(report["late"] for report in step.values())


def test_change_feed_filter_and_errors(hoip, hoip_session) -> None:
    body = hoip_session.get(
        f"{hoip.url}/api/v1/changes", params={"resource": "programs", "limit": 1000}, timeout=10
    ).json()
    assert {c["resource"] for c in body["changes"]} == {"programs"}
    assert len(body["changes"]) == len(truth(hoip.url, "programs"))
    for params in ({"since": "-1"}, {"limit": "1001"}, {"resource": "users"}):
        assert (
            hoip_session.get(f"{hoip.url}/api/v1/changes", params=params, timeout=10).status_code
            == 400
        )


def test_unknown_id_is_404(hoip, hoip_session) -> None:
    assert (
        hoip_session.get(f"{hoip.url}/api/v1/programs/prg_9999999", timeout=10).status_code == 404
    )
    assert hoip_session.get(f"{hoip.url}/api/v1/programs/abc", timeout=10).status_code == 404
