"""The dlt peer: a plain dlt pipeline loading the same simulators into its own database.

dlt's ``rest_api`` source for the JSON listings (Techport page numbers, H.OIP cursors with
OAuth2 client credentials, Stinet ``links.next``) and a small ``@dlt.resource`` for Stinet's
OAI-PMH documents; ``merge`` on each stream's id, PostgreSQL destination, dlt's defaults
otherwise. It does less than ecohub (no Kafka, no JSON Schema / GX gate, no PII split, no
history): the comparison the issue asks for is ecohub end to end against this.

Bench-only: dlt comes from ``bench/requirements.txt`` (the bench venv), never from runtime.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit
from xml.etree import ElementTree

__all__ = ["run"]

OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
TECHPORT = {"cong-nghe": "ma_cong_nghe", "nhu-cau": "ma_nhu_cau",
            "nha-cung-cap": "ma_nha_cung_cap", "tu-van": "ma_tu_van", "tim-doi-tac": "ma_du_an"}
HOIP = ("startup-projects", "organizations", "programs", "challenges", "support-applications")
STINET_JSON = ("tasks", "experts", "laboratories", "organizations")


def _resource(name: str, path: str, key: str, params: dict[str, Any],
              selector: str) -> dict[str, Any]:
    return {"name": name.replace("-", "_"), "primary_key": key, "write_disposition": "merge",
            "endpoint": {"path": path, "params": params, "data_selector": selector}}


def _techport(url: str) -> Any:
    from dlt.sources.rest_api import rest_api_source

    return rest_api_source({
        "client": {"base_url": url, "headers": {"X-API-Key": "dev-techport-key"},
                   "paginator": {"type": "page_number", "page_param": "trang", "base_page": 1,
                                 "total_path": "phan_trang.tong_so_trang"}},
        "resources": [_resource(f"techport_{n}", f"/api/v2/{n}", key, {"so_dong": 200},
                                "du_lieu") for n, key in TECHPORT.items()],
    }, name="techport")


def _hoip(url: str) -> Any:
    from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
    from dlt.sources.rest_api import rest_api_source

    auth = OAuth2ClientCredentials(access_token_url=f"{url}/oauth/token", client_id="ecohub",
                                   client_secret="dev-hoip-secret")  # the simulator's dev value
    return rest_api_source({
        "client": {"base_url": url, "auth": auth,
                   "paginator": {"type": "cursor", "cursor_path": "next_cursor",
                                 "cursor_param": "cursor"}},
        "resources": [_resource(f"hoip_{n}", f"/api/v1/{n}", "id", {"limit": 200}, "items")
                      for n in HOIP],
    }, name="hoip")


def _stinet(url: str) -> list[Any]:
    import dlt
    import requests
    from dlt.sources.rest_api import rest_api_source

    json_api = rest_api_source({
        "client": {"base_url": url,
                   "paginator": {"type": "json_link", "next_url_path": "links.next"}},
        "resources": [_resource(f"stinet_{n}", f"/api/v1/{n}", "id", {"page_size": 500},
                                "data") for n in STINET_JSON],
    }, name="stinet")

    @dlt.resource(name="stinet_documents", primary_key="identifier", write_disposition="merge")
    def documents() -> Iterator[list[dict[str, Any]]]:
        session = requests.Session()
        params: dict[str, str] = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
        while True:
            response = session.get(f"{url}/oai", params=params, timeout=60)
            response.raise_for_status()
            root = ElementTree.fromstring(response.content)
            page = []
            for record in root.iter(f"{OAI}record"):
                header = record.find(f"{OAI}header")
                assert header is not None
                row: dict[str, Any] = {
                    "identifier": header.findtext(f"{OAI}identifier"),
                    "datestamp": header.findtext(f"{OAI}datestamp"),
                    "deleted": header.get("status") == "deleted",
                }
                for element in record.iter():
                    if element.tag.startswith(DC) and element.text:
                        name = element.tag[len(DC):]
                        row[name] = (f"{row[name]}; {element.text}" if name in row
                                     else element.text)
                page.append(row)
            yield page
            token = root.find(f".//{OAI}resumptionToken")
            if token is None or not (token.text or "").strip():
                return
            params = {"verb": "ListRecords", "resumptionToken": token.text.strip()}

    return [json_api, documents]


def run(urls: dict[str, str], portals: list[str], database_url: str) -> dict[str, Any]:
    """Load ``portals`` with dlt into ``database_url``; records loaded and wall seconds."""
    import dlt

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    credentials = _dlt_url(database_url)
    pipeline = dlt.pipeline(pipeline_name=f"ecohub_bench_{os.getpid()}",
                            destination=dlt.destinations.postgres(credentials=credentials),
                            dataset_name="dlt_peer", pipelines_dir=os.environ.get(
                                "ECOHUB_BENCH_DLT_DIR", f"/tmp/ecohub-bench-dlt-{os.getpid()}"))
    sources: list[Any] = []
    for portal in portals:
        if portal == "techport":
            sources.append(_techport(urls[portal]))
        elif portal == "hoip":
            sources.append(_hoip(urls[portal]))
        else:
            sources.extend(_stinet(urls[portal]))
    started = time.perf_counter()
    for source in sources:
        pipeline.run(source)
    seconds = time.perf_counter() - started
    counts = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace else {}
    records = _loaded_rows(credentials)
    return {"records": records, "seconds": seconds, "last_counts": dict(counts)}


def _dlt_url(database_url: str) -> str:
    """A psycopg2 URL dlt accepts: dlt insists on a password in it (any value works with trust
    authentication) and overrides libpq's ``passfile``, so the authenticated stack's password is
    read from the file the URL names and spelled in the URL, for dlt's process only."""
    parts = urlsplit(database_url.replace("postgresql+psycopg://", "postgresql://", 1))
    query = dict(parse_qsl(parts.query))
    password = "bench"
    if "passfile" in query:
        for line in Path(query.pop("passfile")).read_text().splitlines():
            host, port, _db, user, secret = line.split(":", 4)
            if (host, port, user) == (parts.hostname, str(parts.port), parts.username):
                password = secret
    netloc = f"{parts.username}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query)))


def _loaded_rows(url: str) -> int:
    """Rows in dlt's top-level tables (its child tables of nested lists not counted)."""
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dlt_peer' "
            "AND position('__' in table_name) = 0 AND left(table_name, 4) <> '_dlt'")]
        return sum(conn.execute(f'SELECT count(*) FROM dlt_peer."{t}"').fetchone()[0]
                   for t in tables)
