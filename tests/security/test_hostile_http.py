"""The HTTP client against a hostile portal: SSRF, redirects, bombs, stalls, junk headers.

Every case asserts three things: the attacker's listener heard nothing (the ``attacker``
fixture), the request was refused within the time and memory bounds of ``conftest.py``, and
the failure is a classified ecohub error (never a raw library exception).
"""

from __future__ import annotations

import base64
import json

import pytest
from hostile import GIB, Out, Req, gzip_bomb, zeros
from hostile_kit import API_KEY, CAP, CLIENT_SECRET, make_client, rejected

from connectors.toolkit.http import Request
from connectors.toolkit.safety import parse_json, parse_xml
from ecohub.errors import (
    ConfigError,
    PortalContractError,
    ResponseTooLargeError,
    ServiceUnavailable,
    UnsafeRedirectError,
)

PAGE = b'{"items": [], "next": null}'


def _ok(req: Req, out: Out) -> None:
    out.reply(200, PAGE, {"Content-Type": "application/json"})


# ---- SSRF: links that leave the portal -------------------------------------------------------

NEXT_LINKS = {
    "other port": "{attacker}/steal",
    "metadata IP": "http://169.254.169.254/latest/meta-data/iam/",
    "file scheme": "file:///etc/passwd",
    "foreign host": "http://attacker.invalid/steal",
    "user-info on the portal": "http://u:p@127.0.0.1:{portal_port}/items",
    "backslash before @": "http://127.0.0.1:{attacker_port}\\@127.0.0.1:{portal_port}/items",
    "backslash path": "/\\127.0.0.1:{attacker_port}/items",
    "scheme-relative": "//127.0.0.1:{attacker_port}/items",
    "encoded @ in port": "http://127.0.0.1:{portal_port}%40127.0.0.1:{attacker_port}/x",
    "control char": "http://127.0.0.1:{portal_port}\t@127.0.0.1:{attacker_port}/x",
}


def _fill(template: str, portal, attacker) -> str:
    return template.format(
        attacker=attacker.url, attacker_port=attacker.port, portal_port=portal.port
    )


@pytest.mark.parametrize("template", NEXT_LINKS.values(), ids=NEXT_LINKS.keys())
def test_next_links_off_the_portal_are_refused_before_any_request(portal, attacker, template):
    client = make_client(portal)
    link = _fill(template, portal, attacker)
    outcome = rejected(lambda: client.http.get(Request(link), parse=parse_json),
                       UnsafeRedirectError)
    assert "outside the configured portal" in outcome.error.message
    assert portal.seen == []


REDIRECTS = {
    "301 attacker": (301, "{attacker}/steal"),
    "302 attacker": (302, "{attacker}/steal"),
    "307 attacker": (307, "{attacker}/steal"),
    "308 attacker": (308, "{attacker}/steal"),
    "302 metadata": (302, "http://169.254.169.254/latest/meta-data/"),
    "307 backslash": (307, "http://127.0.0.1:{attacker_port}\\@127.0.0.1:{portal_port}/x"),
    "301 file": (301, "file:///etc/passwd"),
}


@pytest.mark.parametrize(("status", "template"), REDIRECTS.values(), ids=REDIRECTS.keys())
def test_redirects_off_the_portal_are_refused(portal, attacker, status, template):
    location = _fill(template, portal, attacker)
    portal.routes["/items"] = lambda req, out: out.reply(status, b"", {"Location": location})
    client = make_client(portal)
    rejected(lambda: client.http.get(Request("/items"), parse=parse_json), UnsafeRedirectError)
    assert [r.path for r in portal.seen] == ["/items"]


@pytest.mark.parametrize("status", [302, 307, 308])
@pytest.mark.parametrize("target", ["{attacker}/token", "/oauth/token2"])
def test_the_token_endpoint_never_follows_a_redirect(portal, attacker, status, target):
    location = _fill(target, portal, attacker)
    portal.routes["/oauth/token"] = lambda req, out: out.reply(status, b"", {"Location": location})
    portal.routes["/oauth/token2"] = lambda req, out: out.reply(
        200, b'{"access_token": "t", "expires_in": 60}')
    client = make_client(portal, auth="oauth2")
    outcome = rejected(lambda: client.http.get(Request("/items"), parse=parse_json),
                       PortalContractError)
    assert "redirect" in outcome.error.message
    assert [r.path for r in portal.seen] == ["/oauth/token"]


# ---- XML --------------------------------------------------------------------------------------

XML = {
    "billion laughs": (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        "<r>&lol3;</r>"
    ),
    "XXE file": '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    "external DTD": '<?xml version="1.0"?><!DOCTYPE r SYSTEM "{attacker}/evil.dtd"><r/>',
    "external parameter entity": (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "{attacker}/p.dtd"> %p;]><r/>'
    ),
}


@pytest.mark.parametrize("document", XML.values(), ids=XML.keys())
def test_xml_entity_tricks_are_refused(portal, attacker, document):
    body = _fill(document, portal, attacker).encode()
    portal.routes["/oai"] = lambda req, out: out.reply(200, body, {"Content-Type": "text/xml"})
    client = make_client(portal)
    outcome = rejected(lambda: client.http.get(Request("/oai"), parse=parse_xml),
                       PortalContractError)
    assert "forbidden construct" in outcome.error.message


def test_deeply_nested_xml_is_refused_while_parsing(portal, attacker):
    depth = 200_000  # 1.4 MB of <a>: under the byte cap, far over the depth budget
    body = b"<a>" * depth + b"</a>" * depth
    portal.routes["/oai"] = lambda req, out: out.stream(
        iter([b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body), body]))
    client = make_client(portal)
    client.http._cap = 4 << 20
    outcome = rejected(lambda: client.http.get(Request("/oai"), parse=parse_xml),
                       PortalContractError)
    assert "nested too deeply" in outcome.error.message


def test_an_xml_element_flood_is_refused_by_the_element_budget():
    flood = b"<r>" + b"<i/>" * 50_000 + b"</r>"
    with pytest.raises(PortalContractError, match="element budget"):
        parse_xml(flood, max_elements=10_000)
    assert len(parse_xml(flood, max_elements=60_000)) == 50_000


# ---- size: bombs and endless bodies ------------------------------------------------------------

def test_a_gzip_bomb_is_cut_at_the_cap_without_inflating_it(portal, attacker):
    bomb = gzip_bomb(64 << 20)  # inflates to 64x the cap
    portal.routes["/items"] = lambda req, out: out.reply(
        200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/json"})
    client = make_client(portal)
    outcome = rejected(lambda: client.http.get(Request("/items"), parse=parse_json),
                       ResponseTooLargeError)
    assert outcome.error.context["max_response_bytes"] == CAP


def test_a_declared_gigabyte_is_refused_before_reading(portal, attacker):
    def serve(req: Req, out: Out) -> None:
        out.head(200, {"Content-Length": str(GIB)})
        out.stream(zeros(GIB))

    portal.routes["/items"] = serve
    client = make_client(portal)
    outcome = rejected(lambda: client.http.get(Request("/items"), parse=parse_json),
                       ResponseTooLargeError)
    assert outcome.error.context["size"] == GIB


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "until-close"])
def test_a_gigabyte_without_length_is_cut_at_the_cap(portal, attacker, chunked):
    def serve(req: Req, out: Out) -> None:
        out.head(200, {"Transfer-Encoding": "chunked"} if chunked else {"Connection": "close"})
        out.stream(zeros(GIB), chunked=chunked)

    portal.routes["/items"] = serve
    client = make_client(portal)
    outcome = rejected(lambda: client.http.get(Request("/items"), parse=parse_json),
                       ResponseTooLargeError)
    assert CAP < outcome.error.context["size"] <= CAP + (64 << 10)


# ---- stalls: the hard deadline ---------------------------------------------------------------

def _drip_body(req: Req, out: Out) -> None:
    out.head(200, {"Connection": "close"})
    out.drip(b"[" + b"1," * 10_000, every=0.05)


def _drip_headers(req: Req, out: Out) -> None:
    out.drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000, every=0.05)


def _silent(req: Req, out: Out) -> None:
    out.stop.wait(30)


@pytest.mark.parametrize(
    "scenario", [_drip_body, _drip_headers, _silent], ids=["drip body", "drip headers", "silent"]
)
def test_every_attempt_has_a_hard_deadline(portal, attacker, scenario):
    portal.routes["/items"] = scenario
    client = make_client(portal, max_retries=1)
    outcome = rejected(lambda: client.http.get(Request("/items"), parse=parse_json),
                       ServiceUnavailable)
    # two attempts ended by their deadline (rejected() bounds the time at 10x DEADLINE), not
    # "until the server stops" (the scenarios would go on for 30 s and more)
    assert outcome.error.context["attempts"] == 2
    assert len(portal.seen) == 2


def test_deeply_nested_json_is_a_contract_error(portal, attacker):
    body = b"[" * 200_000 + b"]" * 200_000
    portal.routes["/items"] = lambda req, out: out.reply(200, body)
    client = make_client(portal)
    rejected(lambda: client.http.get(Request("/items"), parse=parse_json), PortalContractError)


# ---- junk headers and token answers ------------------------------------------------------------

@pytest.mark.parametrize(
    "value", ["-1", "0", "NaN", "inf", "soon", "Thu, 01 Jan 1970 00:00:00 GMT"]
)
def test_junk_retry_after_falls_back_to_the_default_backoff(portal, attacker, value):
    portal.routes["/items"] = lambda req, out: out.reply(503, b"{}", {"Retry-After": value})
    client = make_client(portal, max_retries=3)
    outcome = rejected(lambda: client.http.get(Request("/items"), parse=parse_json),
                       ServiceUnavailable)
    assert outcome.error.context["attempts"] == 4
    assert len(client.sleeps) == 3
    assert all(0.0 < wait <= 0.05 for wait in client.sleeps), client.sleeps


@pytest.mark.parametrize("expires_in", [None, "soon", -5, 0, "NaN", True, "1e999"])
def test_junk_expires_in_is_a_contract_error(portal, attacker, expires_in):
    answer = json.dumps({"access_token": "tok-1", "expires_in": expires_in}).encode()
    portal.routes["/oauth/token"] = lambda req, out: out.reply(200, answer)
    portal.routes["/items"] = _ok
    client = make_client(portal, auth="oauth2")
    outcome = rejected(lambda: client.http.get(Request("/items"), parse=parse_json),
                       PortalContractError)
    assert "expires_in" in outcome.error.message


def test_a_failing_token_endpoint_costs_at_most_max_retries_plus_one_posts(portal, attacker):
    portal.routes["/oauth/token"] = lambda req, out: out.reply(503, b"{}")
    client = make_client(portal, auth="oauth2", max_retries=6)
    outcome = rejected(lambda: client.http.get(Request("/items"), parse=parse_json),
                       ServiceUnavailable)
    assert [r.path for r in portal.seen] == ["/oauth/token"] * 7
    assert outcome.error.context["attempts"] == 7


def test_token_renewals_count_as_attempts(portal, attacker):
    portal.routes["/oauth/token"] = lambda req, out: out.reply(
        200, b'{"access_token": "tok", "expires_in": 3600}')
    portal.routes["/items"] = lambda req, out: out.reply(401, b"{}")
    client = make_client(portal, auth="oauth2", max_retries=6)
    rejected(lambda: client.http.get(Request("/items"), parse=parse_json), ConfigError)
    paths = [r.path for r in portal.seen]
    assert paths.count("/oauth/token") <= 7 and paths.count("/items") <= 7
    assert paths == ["/oauth/token", "/items", "/oauth/token", "/items"]


# ---- error bodies that echo our credentials ----------------------------------------------------

def _echo(status: int):
    def serve(req: Req, out: Out) -> None:
        body = json.dumps({"error": "denied", "you_sent": req.headers,
                           "raw": f"Authorization: {req.headers.get('Authorization', '')}",
                           "note": f"key {req.headers.get('X-API-Key', '')} is not valid"})
        out.reply(status, body.encode())
    return serve


@pytest.mark.parametrize("status", [400, 403])
def test_error_bodies_echoing_the_api_key_are_masked(portal, attacker, status):
    portal.routes["/items"] = _echo(status)
    client = make_client(portal)
    kind = ConfigError if status == 403 else PortalContractError
    outcome = rejected(lambda: client.http.get(Request("/items"), parse=parse_json), kind)
    assert "denied" in str(outcome.error)


def test_a_token_endpoint_echoing_basic_credentials_is_masked(portal, attacker):
    portal.routes["/oauth/token"] = _echo(401)
    client = make_client(portal, auth="oauth2")
    outcome = rejected(lambda: client.http.get(Request("/items"), parse=parse_json), ConfigError)
    basic = base64.b64encode(f"ecohub:{CLIENT_SECRET}".encode()).decode()
    assert basic not in str(outcome.error)
    assert "denied" in str(outcome.error)


def test_the_credentials_are_really_sent_to_the_portal(portal, attacker):
    """The masking cases above can fail: the secrets do reach the (legitimate) portal."""
    portal.routes["/items"] = _ok
    client = make_client(portal)
    client.http.get(Request("/items"), parse=parse_json)
    assert portal.seen[0].headers["X-API-Key"] == API_KEY
