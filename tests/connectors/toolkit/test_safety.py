from __future__ import annotations

from xml.etree import ElementTree

import pytest

from connectors.toolkit.safety import (
    parse_json,
    parse_xml,
    redact_params,
    redact_url,
    resolve_url,
    summarize_body,
)
from ecohub.errors import MalformedResponse, PortalContractError, UnsafeRedirectError

BASE = "http://127.0.0.1:8102"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/api/v2/cong-nghe", "http://127.0.0.1:8102/api/v2/cong-nghe"),
        ("api/v2/nhu-cau?trang=2", "http://127.0.0.1:8102/api/v2/nhu-cau?trang=2"),
        (
            "http://127.0.0.1:8102/api/v2/tu-van?trang=3",
            "http://127.0.0.1:8102/api/v2/tu-van?trang=3",
        ),
        ("HTTP://127.0.0.1:8102/api/v2/tu-van", "http://127.0.0.1:8102/api/v2/tu-van"),
        ("http://127.0.0.1:8102/a b", None),
    ],
)
def test_same_origin_targets_resolve(target, expected):
    if expected is None:  # whitespace is refused, not silently re-quoted
        with pytest.raises(UnsafeRedirectError):
            resolve_url(BASE, target)
    else:
        assert resolve_url(BASE, target) == expected


@pytest.mark.parametrize(
    "target",
    [
        "http://evil.example/api/v2/cong-nghe?trang=2",  # another host
        "https://127.0.0.1:8102/api/v2/cong-nghe",  # another scheme
        "http://127.0.0.1:9999/api/v2/cong-nghe",  # another port
        "http://localhost:8102/api/v2/cong-nghe",  # another host name for the same machine
        "http://user:pw@127.0.0.2:8102/x",
        "http://user:pw@127.0.0.1:8102/x",  # user-info even on the right host
        "http://127.0.0.1:9999\\@127.0.0.1:8102/x",  # urllib3 would connect to :9999
        "http://127.0.0.1:9999\\\\@127.0.0.1:8102/x",
        "/\\127.0.0.1:9999/x",
        "\\\\127.0.0.1:9999/x",
        "//127.0.0.1:9999/x",  # scheme-relative
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "file:///etc/passwd",
        "gopher://127.0.0.1:8102/x",
        "http://127.0.0.1:8102\t@127.0.0.1:9999/x",
        "http://127.0.0.1:8102/x\r\nX-Injected: 1",
        "http://127.0.0.1:8102%2540127.0.0.1:9999/x",
        "http://127.0.0.1:99999/x",  # a port out of range
        "http://127.0.0.1:8x02/x",  # not a port
        "http://[::1]:8102/x",
        "http://0x7f.0.0.1:8102/x",
        "http://127.1:8102/x",
    ],
)
def test_links_off_the_configured_origin_are_refused(target):
    with pytest.raises(UnsafeRedirectError, match="outside the configured portal") as caught:
        resolve_url(BASE, target)
    assert caught.value.context.get("allowed", BASE) == BASE
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://127.0.0.1:8103/x?api_key=s3cr3t&page=2",
            "http://127.0.0.1:8103/x?api_key=%2A%2A%2A&page=2",
        ),
        (
            "http://a:b@127.0.0.1:8103/x?access_token=t0k",
            "http://127.0.0.1:8103/x?access_token=%2A%2A%2A",
        ),
        (
            "http://127.0.0.1:8101/oai?verb=ListRecords&resumptionToken=abc",
            "http://127.0.0.1:8101/oai?verb=ListRecords&resumptionToken=abc",
        ),
    ],
)
def test_redact_url_masks_secrets_keeps_pagination_tokens(url, expected):
    assert redact_url(url) == expected


def test_redact_params():
    assert redact_params({"so_dong": 200, "X-API-Key": "dev-techport-key", "cursor": "c1"}) == {
        "so_dong": 200,
        "X-API-Key": "***",
        "cursor": "c1",
    }


@pytest.mark.parametrize(
    ("body", "leaked"),
    [
        (b'{"access_token": "hoip_at_123", "token_type": "Bearer"}', "hoip_at_123"),
        (b'{"error": "invalid_client", "client_secret": "dev-hoip-secret"}', "dev-hoip-secret"),
        (b"api_key=dev-techport-key&trang=1", "dev-techport-key"),
    ],
)
def test_summarized_bodies_hide_secrets(body, leaked):
    summary = summarize_body(body)
    assert leaked not in summary
    assert "***" in summary


def test_summaries_are_short_and_keep_vietnamese():
    body = (
        '{"trang_thai": "loi", "thong_bao": "Thiếu hoặc sai khóa API ' + "x" * 1000 + '"}'
    ).encode()
    summary = summarize_body(body, limit=80)
    assert summary.startswith('{"trang_thai": "loi", "thong_bao": "Thiếu hoặc sai khóa API')
    assert len(summary) == 81 and summary.endswith("…")


@pytest.mark.parametrize(
    "body",
    [
        b'{"du_lieu": [{"ma_cong_nghe": 1, "ten_cong_nghe": "H\xe1\xbb\x87 th',  # cut mid-record
        b"",
        b"<html>502 Bad Gateway</html>",
    ],
)
def test_unparseable_json_is_a_retriable_malformed_response(body):
    with pytest.raises(MalformedResponse):
        parse_json(body)


def test_xml_parses_with_vietnamese():
    root = parse_xml("<r><t>Nghiên cứu ứng dụng học sâu</t></r>".encode())
    assert root.findtext("t") == "Nghiên cứu ứng dụng học sâu"


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;">]><r>&lol2;</r>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>',
    ],
)
def test_xml_entity_tricks_are_refused(body):
    with pytest.raises(PortalContractError, match="forbidden construct"):
        parse_xml(body)


def test_truncated_xml_is_retriable():
    with pytest.raises(MalformedResponse, match="not well-formed"):
        parse_xml(b"<OAI-PMH><ListRecords><record><header>")


# The C fast path (plainly safe UTF-8 without "<!") and defusedxml's budgeted path must agree:
# a comment sends an otherwise equal document down the defused path.
OAI_PAGE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record><header>'
    '<identifier>oai:stinet.gov.vn:doc/00000001</identifier><datestamp>2026-03-01T03:12:40Z'
    '</datestamp></header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/'
    'oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Nghiên cứu &amp; ứng dụng'
    ' &#7871;</dc:title></oai_dc:dc></metadata></record></ListRecords></OAI-PMH>'
).encode()


def _defused(body: bytes) -> bytes:
    return body.replace(b"<ListRecords>", b"<ListRecords><!-- sends it down the defused path -->")


def test_the_fast_and_the_defused_path_build_the_same_tree():
    fast, defused = parse_xml(OAI_PAGE), parse_xml(_defused(OAI_PAGE))
    assert ElementTree.tostring(fast) == ElementTree.tostring(defused)
    assert fast.findtext(".//{http://purl.org/dc/elements/1.1/}title") == "Nghiên cứu & ứng dụng ế"


@pytest.mark.parametrize("route", [lambda b: b, _defused], ids=["fast", "defused"])
def test_the_depth_budget_is_exact_on_both_paths(route):
    def nested(depth: int) -> bytes:
        return route(b"<a><ListRecords>" + b"<b>" * (depth - 2) + b"</b>" * (depth - 2)
                     + b"</ListRecords></a>")

    assert parse_xml(nested(10), max_depth=10).tag == "a"
    with pytest.raises(PortalContractError, match="nested too deeply"):
        parse_xml(nested(11), max_depth=10)


@pytest.mark.parametrize(
    "body",
    [  # entity tricks in bytes that do not read "<!": other encodings go the defused path
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>'
        .encode("utf-16"),
        '<!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>'.encode("utf-16-le"),
        b'\xef\xbb\xbf<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>',
    ],
    ids=["utf-16", "utf-16-le", "utf-8-bom"],
)
def test_entity_tricks_in_other_encodings_are_refused(body):
    with pytest.raises(PortalContractError, match="forbidden construct"):
        parse_xml(body)


def test_a_latin1_document_is_parsed_by_the_defused_path():
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><r>café</r>'.encode("latin-1")
    assert parse_xml(body).text == "café"
