"""Safety of the connectors end to end: links off the configured origin are refused, and no
credential (API key, client secret, access token) reaches logs, manifests, landed pages or
the saved state."""

from __future__ import annotations

import base64
import gzip
import logging
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parents[1] / "connectors"))

from scripted_http import Reply, ScriptedServer
from simkit import faults_for, settings_for

import simulators
from connectors import get_connector
from connectors.harness import sync
from ecohub.errors import UnsafeRedirectError
from ecohub.landing import Landing

pytestmark = pytest.mark.integration

EXPERT = {
    "id": 5064,
    "full_name": "PGS.TS. Nguyễn Văn An",
    "degree": "Tiến sĩ",
    "organization": {"id": 1017, "name": "Viện Sinh học Nhiệt đới"},
    "created": "2018-04-02 08:15:00",
    "modified": "2026-03-01 10:00:00",
    "revision": 3,
}


@pytest.fixture
def hosts():
    portal, elsewhere = ScriptedServer(), ScriptedServer()
    yield portal, elsewhere
    portal.stop()
    elsewhere.stop()


@pytest.mark.parametrize("where", ["other-port", "other-host-name", "other-scheme"])
def test_a_next_link_off_the_configured_portal_is_refused(hosts, tmp_path, where):
    portal, elsewhere = hosts
    port = portal.url.rsplit(":", 1)[1]
    target = {
        "other-port": f"{elsewhere.url}/api/v1/experts?page=2",
        "other-host-name": f"http://localhost:{port}/api/v1/experts?page=2",
        "other-scheme": f"https://127.0.0.1:{port}/api/v1/experts?page=2",
    }[where]
    page = {
        "data": [EXPERT],
        "meta": {"page": 1, "page_size": 1, "total": 2, "total_pages": 2},
        "links": {"self": "/api/v1/experts?page=1", "next": target, "prev": None},
    }
    portal.route("/api/v1/experts", [Reply(200, page)])
    settings = settings_for({"stinet": portal}, tmp_path / "landing")
    connector = get_connector("stinet", settings)
    landing = Landing.from_settings(settings)
    reader = connector.read("experts", state=None, run_id="r", landing=landing)
    first = next(reader)
    assert [r.key for r in first.records] == ["5064"]
    with pytest.raises(UnsafeRedirectError) as caught:
        next(reader)
    assert "refusing to follow a link outside the configured portal" in str(caught.value)
    assert caught.value.context["allowed"] == portal.url
    assert caught.value.context["target"] == target
    assert elsewhere.seen == []
    assert len(portal.seen) == 1


def _landed_text(root: Path) -> str:
    parts = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            parts.append(
                (gzip.decompress(data) if path.suffix == ".gz" else data).decode(
                    "utf-8", errors="replace"
                )
            )
    return "\n".join(parts)


def test_no_credential_reaches_logs_manifests_landed_pages_or_state(tmp_path, caplog):
    issued: list[str] = []
    landing_dir = tmp_path / "landing"
    db = create_engine(f"sqlite:///{tmp_path}/harness.db")
    with (
        simulators.start(
            "techport", scale="small", seed=9, port=0, faults=faults_for("techport")
        ) as techport,
        simulators.start(
            "hoip",
            scale="small",
            seed=9,
            port=0,
            faults=faults_for("hoip", expired_token={"rate": 0.2}),
        ) as hoip,
    ):
        settings = settings_for({"techport": techport, "hoip": hoip}, landing_dir)
        landing = Landing.from_settings(settings)
        with caplog.at_level(logging.DEBUG):
            for portal in ("techport", "hoip"):
                connector = get_connector(portal, settings)
                auth = connector.http.auth
                if hasattr(auth, "_fetch"):  # remember every access token the portal issues
                    fetch = auth._fetch

                    def recording(url, form, basic, fetch=fetch):
                        answer = fetch(url, form, basic)
                        issued.append(answer["access_token"])
                        return answer

                    auth._fetch = recording
                for stream in connector.stream_names:
                    sync(connector, stream, engine=db, landing=landing, run_id=f"{portal}-r1")
                logging.getLogger("test").debug("connector %r auth %r", connector, auth)
    with db.connect() as conn:
        state = "\n".join(str(row) for row in conn.execute(text("SELECT * FROM sync_state")))

    secrets = [
        "dev-techport-key",
        "dev-hoip-secret",
        base64.b64encode(b"ecohub:dev-hoip-secret").decode(),
        *issued,
    ]
    assert len(issued) >= 2  # tokens were revoked and renewed during the run
    haystacks = {"logs": caplog.text, "landing": _landed_text(landing_dir), "state": state}
    assert "manifest.json" in {p.name for p in landing_dir.rglob("*")}
    for name, haystack in haystacks.items():
        assert haystack, name
        leaked = [s for s in secrets if s in haystack]
        assert leaked == [], f"credential found in {name}"
