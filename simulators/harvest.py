"""A minimal reference reader of the three contracts, for tests, acceptance checks and benches.

Why here: contract tests, the real-scale acceptance test and the benchmark all need "read a
whole resource the way the contract says" and "fetch the ground truth". This is deliberately
naive (no state, no fault handling; it only waits out 429) — it is not ecohub's connector, it is the
yardstick the connector is compared with.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from defusedxml import ElementTree

from ecohub.portals import portal_spec

__all__ = ["OAI_NS", "Reader", "Seen", "truth", "truth_summary"]

OAI_NS = {"oai": "http://www.openarchives.org/OAI/2.0/", "dc": "http://purl.org/dc/elements/1.1/"}
_KEYS = {
    "cong-nghe": "ma_cong_nghe", "nhu-cau": "ma_nhu_cau", "nha-cung-cap": "ma_nha_cung_cap",
    "tu-van": "ma_tu_van", "tim-doi-tac": "ma_du_an",
}  # fmt: skip


@dataclass(frozen=True)
class Seen:
    """One record as read: its key, its incremental stamp as served, deleted or not."""

    key: str
    stamp: str
    deleted: bool
    record: Any


def truth(url: str, resource: str, session: requests.Session | None = None) -> list[dict[str, Any]]:
    """All NDJSON truth lines of one resource."""
    http = session or requests.Session()
    with http.get(f"{url}/_admin/truth/{resource}", stream=True, timeout=300) as resp:
        resp.raise_for_status()
        return [json.loads(line) for line in resp.iter_lines() if line]


def truth_summary(url: str) -> dict[str, Any]:
    resp = requests.get(f"{url}/_admin/truth", timeout=60)
    resp.raise_for_status()
    return dict(resp.json())


class Reader:
    """Reads a resource of one portal page after page, exactly as its contract documents."""

    def __init__(self, url: str, portal: str, page_size: int = 200) -> None:
        self.url = url.rstrip("/")
        self.portal = portal
        self.page_size = page_size
        self.http = requests.Session()
        self.requests = 0
        spec = portal_spec(portal)  # the simulators' development credentials
        credentials = {**spec.defaults, **spec.dev_credentials}
        self._client = (str(credentials.get("client_id", "")),
                        str(credentials.get("client_secret", "")))
        if portal == "techport":
            self.http.headers["X-API-Key"] = credentials["api_key"]
        if portal == "hoip":
            self.login()

    def login(self) -> str:
        resp = self.http.post(f"{self.url}/oauth/token", data={"grant_type": "client_credentials"},
                              auth=self._client, timeout=30)  # fmt: skip
        resp.raise_for_status()
        token = str(resp.json()["access_token"])
        self.http.headers["Authorization"] = f"Bearer {token}"
        return token

    def get(self, path: str, **params: Any) -> requests.Response:
        """One GET; a 429 is honoured (its ``Retry-After`` in seconds) as every contract asks."""
        for _ in range(20):
            self.requests += 1
            resp = self.http.get(f"{self.url}{path}", params=params, timeout=120)
            if resp.status_code != 429:
                break
            time.sleep(float(resp.headers.get("Retry-After", "1")))
        resp.raise_for_status()
        return resp

    def read(self, resource: str, since: str | None = None) -> Iterator[Seen]:
        """Every record of ``resource`` (``since``: the portal's own incremental parameter)."""
        if self.portal == "stinet":
            if resource == "documents":
                yield from self._oai(since)
            else:
                yield from self._stinet_json(resource, since)
        elif self.portal == "techport":
            yield from self._techport(resource, since)
        else:
            yield from self._hoip(resource, since)

    def _oai(self, since: str | None) -> Iterator[Seen]:
        params: dict[str, Any] = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}
        if since:
            params["from"] = since
        while True:
            root = ElementTree.fromstring(self.get("/oai", **params).content)
            error = root.find("oai:error", OAI_NS)
            if error is not None:
                if error.get("code") == "noRecordsMatch":
                    return
                raise RuntimeError(f"OAI error {error.get('code')}: {error.text}")
            for header in root.iterfind(".//oai:header", OAI_NS):
                key = header.findtext("oai:identifier", "", OAI_NS)
                yield Seen(key, header.findtext("oai:datestamp", "", OAI_NS),
                           header.get("status") == "deleted", None)  # fmt: skip
            token = root.find(".//oai:resumptionToken", OAI_NS)
            if token is None or not (token.text or "").strip():
                return
            params = {"verb": "ListIdentifiers", "resumptionToken": token.text.strip()}

    def _stinet_json(self, resource: str, since: str | None) -> Iterator[Seen]:
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "page_size": min(self.page_size, 500)}
            if since:
                params["modified_since"] = since
            body = self.get(f"/api/v1/{resource}", **params).json()
            for row in body["data"]:
                yield Seen(str(row["id"]), row["modified"], False, row)
            if not body["links"]["next"]:
                return
            page += 1

    def _techport(self, resource: str, since: str | None) -> Iterator[Seen]:
        page = 1
        while True:
            params: dict[str, Any] = {"trang": page, "so_dong": min(self.page_size, 200)}
            if since:
                params["updated_from"] = since
            body = self.get(f"/api/v2/{resource}", **params).json()
            for row in body["du_lieu"]:
                yield Seen(str(row[_KEYS[resource]]), row["ngay_cap_nhat"], False, row)
            if page >= body["phan_trang"]["tong_so_trang"]:
                return
            page += 1

    def _hoip(self, resource: str, since: str | None) -> Iterator[Seen]:
        params: dict[str, Any] = {"limit": min(self.page_size, 200)}
        if since:
            params["updated_after"] = since
        while True:
            body = self.get(f"/api/v1/{resource}", **params).json()
            for row in body["items"]:
                yield Seen(row["id"], row["updated_at"], False, row)
            if not body["next_cursor"]:
                return
            params["cursor"] = body["next_cursor"]

    def changes(self, since: int = 0) -> tuple[list[dict[str, Any]], int]:
        """H.OIP change feed from ``since`` to its end: (changes, next_since)."""
        out: list[dict[str, Any]] = []
        while True:
            body = self.get("/api/v1/changes", since=since, limit=1000).json()
            out += body["changes"]
            since = body["next_since"]
            if not body["has_more"]:
                return out, since
