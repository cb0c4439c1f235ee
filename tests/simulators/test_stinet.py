"""Stinet contract: OAI-PMH 2.0 documents and the JSON API, as docs/portals/stinet.md says."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests
from defusedxml import ElementTree
from stdnum import isbn, issn

from simulators.harvest import OAI_NS, Reader, truth

pytestmark = pytest.mark.integration


def oai(url: str, method: str = "GET", **params: str) -> ElementTree:
    if method == "POST":
        resp = requests.post(f"{url}/oai", data=params, timeout=30)
    else:
        resp = requests.get(f"{url}/oai", params=params, timeout=30)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/xml")
    return ElementTree.fromstring(resp.content)


def error_code(root) -> str | None:
    error = root.find("oai:error", OAI_NS)
    return None if error is None else error.get("code")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "badVerb"),
        ({"verb": "ListEverything"}, "badVerb"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        (
            {
                "verb": "GetRecord",
                "metadataPrefix": "oai_dc",
                "identifier": "oai:stinet.gov.vn:doc/99999999",
            },
            "idDoesNotExist",
        ),
        (
            {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:khac.vn:1"},
            "idDoesNotExist",
        ),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2031-01-01"},
            "noRecordsMatch",
        ),
        (
            {
                "verb": "ListRecords",
                "metadataPrefix": "oai_dc",
                "from": "2024-01-01",
                "until": "2020-01-01",
            },
            "badArgument",
        ),
        (
            {
                "verb": "ListRecords",
                "metadataPrefix": "oai_dc",
                "from": "2024-01-01",
                "until": "2025-01-01T00:00:00Z",
            },
            "badArgument",
        ),
        (
            {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": "01/02/2024"},
            "badArgument",
        ),
        (
            {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "inst:khongco"},
            "badArgument",
        ),
        ({"verb": "ListIdentifiers", "resumptionToken": "eyJ2IjoxfQ.0000"}, "badResumptionToken"),
        (
            {"verb": "ListIdentifiers", "resumptionToken": "x", "metadataPrefix": "oai_dc"},
            "badArgument",
        ),
        ({"verb": "Identify", "metadataPrefix": "oai_dc"}, "badArgument"),
    ],
)
def test_oai_error_codes(stinet, params: dict[str, str], code: str) -> None:
    assert error_code(oai(stinet.url, **params)) == code


def test_repeated_argument_is_bad_argument(stinet) -> None:
    resp = requests.get(f"{stinet.url}/oai?verb=ListSets&verb=ListSets", timeout=10)
    assert error_code(ElementTree.fromstring(resp.content)) == "badVerb"
    resp = requests.get(
        f"{stinet.url}/oai?verb=ListRecords&metadataPrefix=oai_dc&set=type&set=inst", timeout=10
    )
    assert error_code(ElementTree.fromstring(resp.content)) == "badArgument"


def test_identify_states_the_documented_policies(stinet) -> None:
    root = oai(stinet.url, verb="Identify")
    ident = root.find("oai:Identify", OAI_NS)
    assert ident.findtext("oai:baseURL", None, OAI_NS) == f"{stinet.url}/oai"
    assert ident.findtext("oai:deletedRecord", None, OAI_NS) == "persistent"
    assert ident.findtext("oai:granularity", None, OAI_NS) == "YYYY-MM-DDThh:mm:ssZ"
    assert ident.findtext("oai:earliestDatestamp", None, OAI_NS) == "2016-01-01T00:00:00Z"
    formats = oai(stinet.url, verb="ListMetadataFormats").findall(".//oai:metadataPrefix", OAI_NS)
    assert [f.text for f in formats] == ["oai_dc"]


def test_full_harvest_equals_truth_including_deletions(stinet) -> None:
    expected = {t["key"]: (t["updated"], t["deleted"]) for t in truth(stinet.url, "documents")}
    assert any(deleted for _, deleted in expected.values()), (
        "small scale must hold some deleted documents"
    )
    params = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    seen: dict[str, tuple[str, bool]] = {}
    sizes, cursors, totals = [], [], set()
    while True:
        root = oai(stinet.url, **params)
        records = root.findall(".//oai:record", OAI_NS)
        sizes.append(len(records))
        for rec in records:
            header = rec.find("oai:header", OAI_NS)
            deleted = header.get("status") == "deleted"
            assert (rec.find("oai:metadata", OAI_NS) is None) == deleted
            seen[header.findtext("oai:identifier", "", OAI_NS)] = (
                header.findtext("oai:datestamp", "", OAI_NS),
                deleted,
            )
        token = root.find(".//oai:resumptionToken", OAI_NS)
        cursors.append(int(token.get("cursor")))
        totals.add(int(token.get("completeListSize")))
        if not (token.text or "").strip():
            break
        params = {"verb": "ListRecords", "resumptionToken": token.text}
    assert seen == expected
    assert max(sizes) == 100 and sum(sizes) == len(expected)
    assert cursors == [100 * k for k in range(len(cursors))] and totals == {len(expected)}


def test_list_is_sorted_by_datestamp_then_identifier(stinet) -> None:
    keys = [(s.stamp, s.key) for s in Reader(stinet.url, "stinet").read("documents")]
    assert keys == sorted(keys)
    assert len({stamp for stamp, _ in keys}) < len(keys), "ties on datestamp are expected"


def test_post_and_get_answer_the_same(stinet) -> None:
    get = requests.get(
        f"{stinet.url}/oai",
        params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"},
        timeout=10,
    )
    post = requests.post(
        f"{stinet.url}/oai",
        data={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"},
        timeout=10,
    )
    assert get.content == post.content


def test_sets_partition_the_documents(stinet) -> None:
    root = oai(stinet.url, verb="ListSets")
    specs = [s.text for s in root.iterfind(".//oai:setSpec", OAI_NS)]
    assert {"inst", "type", "inst:hcmut", "inst:cesti", "type:thesis", "type:task_report"} <= set(
        specs
    )
    total = len(truth(stinet.url, "documents"))
    counted = 0
    for spec in (s for s in specs if s.startswith("type:")):
        params = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": spec}
        while True:
            root = oai(stinet.url, **params)
            if error_code(root) == "noRecordsMatch":
                break
            headers = root.findall(".//oai:header", OAI_NS)
            assert all(spec in [s.text for s in h.findall("oai:setSpec", OAI_NS)] for h in headers)
            counted += len(headers)
            token = root.find(".//oai:resumptionToken", OAI_NS)
            if token is None or not (token.text or "").strip():
                break
            params = {"verb": "ListIdentifiers", "resumptionToken": token.text}
    assert counted == total


def test_from_until_are_inclusive(stinet) -> None:
    lines = truth(stinet.url, "documents")
    stamps = sorted(t["updated"] for t in lines)
    lo, hi = stamps[len(stamps) // 4], stamps[len(stamps) // 2]
    expected = {t["key"] for t in lines if lo <= t["updated"] <= hi}
    params = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "from": lo, "until": hi}
    got = set()
    while True:
        root = oai(stinet.url, **params)
        got |= {
            h.findtext("oai:identifier", "", OAI_NS) for h in root.iterfind(".//oai:header", OAI_NS)
        }
        token = root.find(".//oai:resumptionToken", OAI_NS)
        if token is None or not (token.text or "").strip():
            break
        params = {"verb": "ListIdentifiers", "resumptionToken": token.text}
    assert got == expected


def test_resumption_token_expires(start_sim) -> None:
    server = start_sim("stinet", faults={"resumption_ttl": 0.3})
    root = oai(server.url, verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = root.find(".//oai:resumptionToken", OAI_NS).text
    assert error_code(oai(server.url, verb="ListIdentifiers", resumptionToken=token)) is None
    time.sleep(0.5)
    assert (
        error_code(oai(server.url, verb="ListIdentifiers", resumptionToken=token))
        == "badResumptionToken"
    )


def test_deliberately_broken_documents_are_listed_in_truth(stinet) -> None:
    lines = [t for t in truth(stinet.url, "documents") if t["defect"]]
    broken = {t["key"]: t["defect"] for t in lines}
    fields = {"missing_title": "title", "impossible_date": "date",
              "invalid_isbn": "identifier", "invalid_issn": "identifier"}
    kinds = set(broken.values())
    assert {"missing_title", "impossible_date"} <= kinds <= set(fields)
    assert kinds & {"invalid_isbn", "invalid_issn"}, "identifier defects at small scale"
    assert all(t["defect_field"] == fields[t["defect"]] for t in lines)
    for key, defect in broken.items():
        root = oai(stinet.url, verb="GetRecord", metadataPrefix="oai_dc", identifier=key)
        identifiers = [e.text or "" for e in root.iterfind(".//dc:identifier", OAI_NS)]
        if defect == "missing_title":
            assert root.find(".//dc:title", OAI_NS) is None
        elif defect == "impossible_date":
            assert root.findtext(".//dc:date", None, OAI_NS) == "2019-02-30"
        else:
            kind = defect.removeprefix("invalid_")
            (number,) = [i[5:] for i in identifiers if i.lower().startswith(kind)]
            assert not (isbn if kind == "isbn" else issn).is_valid(number)


def test_served_isbns_and_issns_are_valid_unless_listed_as_defects(stinet) -> None:
    broken = {t["key"] for t in truth(stinet.url, "documents") if t["defect"]}
    checked, params = 0, {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    while params:
        root = oai(stinet.url, **params)
        for record in root.iterfind(".//oai:record", OAI_NS):
            if record.findtext(".//oai:identifier", "", OAI_NS) in broken:
                continue
            for element in record.iterfind(".//dc:identifier", OAI_NS):
                value = element.text or ""
                if value.startswith(("ISBN ", "ISSN ")):
                    assert (isbn if value.startswith("ISBN") else issn).is_valid(value[5:])
                    checked += 1
        token = (root.findtext(".//oai:resumptionToken", "", OAI_NS) or "").strip()
        params = {"verb": "ListRecords", "resumptionToken": token} if token else {}
    assert checked > 20


def test_oai_incremental_harvest_sees_the_advance_step(stinet) -> None:
    step = requests.post(f"{stinet.url}/_admin/advance", timeout=30).json()["steps"][0][
        "resources"
    ]["documents"]
    since = datetime(2026, 3, 2, 1, 30, tzinfo=UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )  # 30 min before the step
    seen = {s.key: s.deleted for s in Reader(stinet.url, "stinet").read("documents", since)}
    for key in step["created"] + step["updated"]:
        assert seen.get(key) is False
    for key in step["deleted"]:
        assert seen.get(key) is True
    assert step["late"] or step["tied"], "a step carries late arrivals or ties"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page": "0"}, "page"),
        ({"page": "hai"}, "page"),
        ({"page_size": "501"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"modified_since": "05/03/2025"}, "modified_since"),
        ({"sort": "name"}, "sort"),
    ],
)
def test_json_api_rejects_bad_parameters(stinet, params: dict[str, str], parameter: str) -> None:
    resp = requests.get(f"{stinet.url}/api/v1/experts", params=params, timeout=10)
    assert resp.status_code == 400
    assert resp.json()["error"] == {
        "code": "invalid_parameter",
        "message": resp.json()["error"]["message"],
        "parameter": parameter,
    }


@pytest.mark.parametrize("resource", ["tasks", "experts", "laboratories", "organizations"])
def test_json_full_read_equals_truth(stinet, resource: str) -> None:
    expected = {t["key"]: t["updated"] for t in truth(stinet.url, resource) if not t["deleted"]}
    got = [(s.key, s.stamp) for s in Reader(stinet.url, "stinet", page_size=7).read(resource)]
    assert dict(got) == expected and len(got) == len(expected)
    assert [(stamp, int(key)) for key, stamp in got] == sorted(
        (stamp, int(key)) for key, stamp in got
    )


def test_json_envelope_and_links(stinet) -> None:
    body = requests.get(
        f"{stinet.url}/api/v1/laboratories", params={"page": 2, "page_size": 7}, timeout=10
    ).json()
    total = len(truth(stinet.url, "laboratories"))
    assert body["meta"] == {
        "page": 2,
        "page_size": 7,
        "total": total,
        "total_pages": -(-total // 7),
    }
    assert body["links"]["next"] == "/api/v1/laboratories?page=3&page_size=7"
    assert body["links"]["prev"] == "/api/v1/laboratories?page=1&page_size=7"
    past = requests.get(f"{stinet.url}/api/v1/laboratories", params={"page": 99}, timeout=10).json()
    assert past["data"] == [] and past["links"]["next"] is None


@pytest.mark.parametrize(
    "since", ["2026-03-02 09:30:00", "2026-03-02T09:30:00", "2026-03-02T02:30:00+00:00"]
)
def test_modified_since_sees_the_advance_step_and_deletions_vanish(stinet, since: str) -> None:
    step = requests.post(f"{stinet.url}/_admin/advance", timeout=30).json()["steps"][0][
        "resources"
    ]["experts"]
    rows = {s.key: s.stamp for s in Reader(stinet.url, "stinet").read("experts", since)}
    late = set(step["late"])
    for key in step["created"] + step["updated"]:
        if key not in late:
            assert key in rows
    assert all(stamp >= "2026-03-02 09:30:00" for stamp in rows.values())
    for key in step["deleted"]:
        assert key not in rows
        assert requests.get(f"{stinet.url}/api/v1/experts/{key}", timeout=10).status_code == 404
    lookback = {s.key for s in Reader(stinet.url, "stinet").read("experts", "2026-03-02 08:30:00")}
    assert set(step["created"] + step["updated"]) <= lookback
