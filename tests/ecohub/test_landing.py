"""The raw landing zone, on a local directory and on the S3 endpoint of the local stack."""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from pydantic import SecretStr

from ecohub.errors import ConfigError
from ecohub.landing import Landing, LocalStore, S3Store, scrub
from ecohub.settings import LandingSettings
from infra import stack as services

TODAY = datetime.now(UTC).date()
OAI_PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record><header>
<identifier>oai:stinet.gov.vn:doc/00012345</identifier><datestamp>2026-03-01T03:12:40Z</datestamp>
</header></record></ListRecords></OAI-PMH>"""
TECHPORT_PAGE = json.dumps(
    {
        "trang_thai": "thanh_cong",
        "du_lieu": [
            {"ma_cong_nghe": 104211, "ten_cong_nghe": "Hệ thống tưới nhỏ giọt điều khiển qua IoT"}
        ],
    },
    ensure_ascii=False,
).encode()
REQUEST = {
    "method": "GET",
    "url": "http://127.0.0.1:8102/api/v2/cong-nghe",
    "params": {"trang": 2, "so_dong": 200, "api_key": "tp-live-7f3a9c2e51"},
    "headers": {"X-API-Key": "tp-live-7f3a9c2e51", "Accept": "application/json"},
}


def put(
    landing: Landing,
    page: int,
    body: bytes = TECHPORT_PAGE,
    run: str = "techport-run-1",
    stream: str = "technologies",
    content_type: str = "application/json; charset=utf-8",
) -> str:
    return landing.put_page(
        "techport",
        stream,
        run,
        page,
        body,
        request=REQUEST,
        status=200,
        record_count=1,
        cursor_before="2026-03-01T02:00:00.000000Z",
        cursor_after="2026-03-01T02:40:00.000000Z",
        content_type=content_type,
    )


@pytest.fixture
def local(tmp_path) -> Landing:
    return Landing.from_settings(LandingSettings(url=f"file://{tmp_path}/landing"))


def test_a_page_lands_gzipped_unchanged_under_the_documented_path(local, tmp_path):
    uri = put(local, 1)
    expected = (
        tmp_path / "landing" / "techport" / "technologies" / TODAY.isoformat() / "techport-run-1"
    )
    assert uri == (expected / "page-1.json.gz").as_uri()
    assert gzip.decompress((expected / "page-1.json.gz").read_bytes()) == TECHPORT_PAGE
    assert local.get_page(uri) == TECHPORT_PAGE


@pytest.mark.parametrize(
    ("content_type", "ext"),
    [
        ("application/json; charset=utf-8", "json"),
        ("text/xml; charset=utf-8", "xml"),
        ("application/problem+json", "json"),
        ("application/octet-stream", "bin"),
    ],
)
def test_the_extension_follows_the_content_type(local, content_type, ext):
    assert put(local, 1, content_type=content_type).endswith(f"/page-1.{ext}.gz")


def test_the_manifest_entry_has_request_without_secrets_status_sha_and_cursors(local):
    put(local, 1)
    manifest = local.read_manifest("techport", "technologies", "techport-run-1")
    assert manifest["complete"] is False  # the run has not written its manifest yet
    entry = manifest["pages"][0]
    assert entry["sha256"] == hashlib.sha256(TECHPORT_PAGE).hexdigest()
    assert entry["status"] == 200 and entry["record_count"] == 1
    assert entry["cursor_before"] == "2026-03-01T02:00:00.000000Z"
    assert entry["cursor_after"] == "2026-03-01T02:40:00.000000Z"
    assert entry["request"]["params"] == {"trang": 2, "so_dong": 200, "api_key": "***"}
    assert entry["request"]["headers"] == {"X-API-Key": "***", "Accept": "application/json"}
    assert "tp-live-7f3a9c2e51" not in json.dumps(manifest)


def test_a_completed_run_manifest_sums_its_pages(local):
    for page in (1, 2, 3):
        put(local, page)
    uri = local.write_manifest(
        "techport", "technologies", "techport-run-1", summary={"emitted": 3, "client_secret": "x"}
    )
    assert uri.endswith(f"/{TODAY.isoformat()}/techport-run-1/manifest.json")
    manifest = local.read_manifest("techport", "technologies", "techport-run-1")
    assert manifest["complete"] is True
    assert [p["page"] for p in manifest["pages"]] == [1, 2, 3]
    assert manifest["record_count"] == 3 and manifest["bytes"] == 3 * len(TECHPORT_PAGE)
    assert manifest["summary"] == {"emitted": 3, "client_secret": "***"}


def test_pages_are_listed_in_run_and_page_order_and_filtered(local):
    for page in (10, 2, 1):
        put(local, page, run="techport-run-b")
    put(local, 1, run="techport-run-a")
    put(local, 1, stream="demands")
    listed = local.list_pages("techport", "technologies")
    assert [(p.run_id, p.page) for p in listed] == [
        ("techport-run-a", 1),
        ("techport-run-b", 1),
        ("techport-run-b", 2),
        ("techport-run-b", 10),
    ]
    assert [
        p.page for p in local.list_pages("techport", "technologies", run_id="techport-run-b")
    ] == [1, 2, 10]
    assert local.list_pages("techport", "technologies", date_from=TODAY + timedelta(days=1)) == []
    assert len(local.list_pages("techport", "technologies", date_from=TODAY, date_to=TODAY)) == 4
    assert local.list_pages("stinet", "documents") == []


def test_a_run_keeps_the_day_it_started_in(local, tmp_path):
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    local._run_days[("techport", "technologies", "night-run")] = yesterday  # started before 0:00
    put(local, 1, run="night-run")
    later = Landing.from_settings(LandingSettings(url=f"file://{tmp_path}/landing"))  # new process
    assert [p.page for p in later.run_pages("techport", "technologies", "night-run")] == [1]
    assert f"/{yesterday}/night-run/page-2" in put(later, 2, run="night-run")
    assert later.run_pages("techport", "technologies", "unknown-run") == []
    manifest = later.read_manifest("techport", "technologies", "night-run")
    assert manifest["date"] == yesterday and manifest["page_count"] == 2


@pytest.mark.parametrize("bad", ["../etc", "a/b", "", ".."])
def test_path_parts_must_be_plain_names(local, bad):
    with pytest.raises(ConfigError, match="plain names"):
        local.put_page(
            "techport",
            "technologies",
            bad,
            1,
            b"{}",
            request={},
            status=200,
            record_count=0,
            cursor_before=None,
            cursor_after=None,
            content_type="application/json",
        )


def test_a_uri_outside_the_zone_is_refused(local):
    with pytest.raises(ConfigError, match="outside this landing zone"):
        local.get_page("file:///etc/passwd")


def test_scrub_masks_secrets_at_any_depth_but_keeps_pagination_tokens():
    value = {
        "params": {"resumptionToken": "c3RpbmV0", "cursor": "eyJ1Ijo", "access_token": "t"},
        "auth": [{"client_secret": "s", "client_id": "ecohub"}],
    }
    assert scrub(value) == {
        "params": {"resumptionToken": "c3RpbmV0", "cursor": "eyJ1Ijo", "access_token": "***"},
        "auth": [{"client_secret": "***", "client_id": "ecohub"}],
    }


def test_relative_file_urls_land_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    landing = Landing.from_settings(LandingSettings(url="file://var/landing"))
    assert isinstance(landing.store, LocalStore)
    assert landing.store.root == (tmp_path / "var" / "landing").resolve()


# ---- S3 (s3proxy of the local stack on 127.0.0.1:9000) -------------------------------------

@pytest.fixture
def s3_landing():
    """A landing on the stack's endpoint with the stack's key pair (generated when the stack
    runs authenticated: the development pair is refused there)."""
    access_key, secret_key = services.s3_credentials()
    prefix = f"tests/landing-{uuid.uuid4().hex[:10]}"
    settings = LandingSettings(
        url=f"s3://ecohub-landing/{prefix}",
        s3_endpoint_url=services.S3_ENDPOINT_URL,
        s3_access_key=SecretStr(access_key),
        s3_secret_key=SecretStr(secret_key),
    )
    landing = Landing.from_settings(settings)
    yield landing, prefix
    client = boto3.client(
        "s3",
        endpoint_url=services.S3_ENDPOINT_URL,
        region_name=services.S3_REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(s3={"addressing_style": "path"}),
    )
    listed = client.list_objects_v2(Bucket="ecohub-landing", Prefix=prefix)
    for item in listed.get("Contents", []):
        client.delete_object(Bucket="ecohub-landing", Key=item["Key"])


@pytest.mark.integration
def test_s3_round_trip_of_pages_and_manifest(s3_landing):
    landing, prefix = s3_landing
    assert isinstance(landing.store, S3Store)
    uris = [
        landing.put_page(
            "stinet",
            "documents",
            "stinet-run-1",
            page,
            OAI_PAGE,
            request={
                "method": "GET",
                "url": "http://127.0.0.1:8101/oai",
                "params": {"verb": "ListRecords", "resumptionToken": "c3Rp"},
            },
            status=200,
            record_count=1,
            cursor_before=None,
            cursor_after="2026-03-01T03:12:40.000000Z",
            content_type="text/xml; charset=utf-8",
        )
        for page in (1, 2)
    ]
    day = TODAY.isoformat()
    assert (
        uris[0] == f"s3://ecohub-landing/{prefix}/stinet/documents/{day}/stinet-run-1/page-1.xml.gz"
    )
    assert landing.get_page(uris[1]) == OAI_PAGE
    assert [p.uri for p in landing.list_pages("stinet", "documents")] == uris
    landing.write_manifest("stinet", "documents", "stinet-run-1", summary={"emitted": 2})
    manifest = landing.read_manifest("stinet", "documents", "stinet-run-1")
    assert manifest["complete"] is True and manifest["page_count"] == 2
    assert manifest["pages"][0]["request"]["params"]["resumptionToken"] == "c3Rp"
    assert manifest["pages"][1]["sha256"] == hashlib.sha256(OAI_PAGE).hexdigest()


@pytest.mark.integration
def test_s3_objects_are_gzip_bodies(s3_landing):
    landing, _ = s3_landing
    uri = put(landing, 1)
    store = landing.store
    assert isinstance(store, S3Store)
    raw = store.get(store.key_of(uri))
    assert raw is not None and gzip.decompress(raw) == TECHPORT_PAGE
    with pytest.raises(ConfigError, match="outside this landing zone"):
        landing.get_page("s3://another-bucket/x/page-1.json.gz")
