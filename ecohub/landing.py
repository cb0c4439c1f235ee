"""The raw landing zone: every fetched page, unchanged and gzip-compressed, plus run manifests.

Why: a page landed before it is parsed makes every run auditable (what exactly did the portal
say, with which request, and what did we take from it?) and replayable without calling the
portal again. Layout, the same on S3 and on disk::

    <portal>/<stream>/<yyyy-mm-dd>/<run_id>/page-<N>.<ext>.gz     the body as served
    <portal>/<stream>/<yyyy-mm-dd>/<run_id>/page-<N>.meta.json    its manifest entry
    <portal>/<stream>/<yyyy-mm-dd>/<run_id>/manifest.json         the run, once it completes

The date is the UTC day the run first landed a page of this stream, so a run never straddles two
folders. Each page's manifest entry is written with the page, so a run killed half-way still
has an accurate (incomplete) manifest. Requests are scrubbed of secret-looking fields again here,
whatever the caller passed: credentials must never reach the landing zone.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ecohub.errors import ConfigError, ServiceUnavailable
from ecohub.settings import LandingSettings, Settings

__all__ = ["LandedPage", "Landing", "LocalStore", "S3Store", "page_body", "scrub"]

_SECRET = re.compile(r"(secret|password|passwd|token|api[_-]?key|authorization|credential)", re.I)
_NOT_SECRET = frozenset({"resumptiontoken", "next_cursor", "cursor"})
_PAGE = re.compile(
    r"^(?P<portal>[^/]+)/(?P<stream>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<run>[^/]+)/"
    r"page-(?P<page>\d+)\.(?P<ext>[a-z0-9]+)\.gz$"
)
_EXTENSIONS = {"json": "json", "xml": "xml", "html": "html", "csv": "csv", "text": "txt"}

# zlib's default level: 1.1 ms a Stinet page against 2.0 ms at gzip's 9, for 3 % more bytes
# (200 landed OAI pages, in process); landing is on the sync's main loop, once per page.
_GZIP_LEVEL = 6


@dataclass(frozen=True)
class LandedPage:
    """One landed page, as found by :meth:`Landing.list_pages`."""

    uri: str
    portal: str
    stream: str
    day: date
    run_id: str
    page: int
    ext: str


class _Store(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> str: ...
    def get(self, key: str) -> bytes | None: ...
    def keys(self, prefix: str) -> Iterator[str]: ...
    def key_of(self, uri: str) -> str: ...
    def uri(self, key: str) -> str: ...


class LocalStore:
    """A directory (the embedded default); writes are atomic (temp file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def put(self, key: str, data: bytes, content_type: str) -> str:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
        return self.uri(key)

    def uri(self, key: str) -> str:
        return (self.root / key).as_uri()

    def get(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.is_file() else None

    def keys(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix
        if not base.is_dir():
            return
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                yield path.relative_to(self.root).as_posix()

    def key_of(self, uri: str) -> str:
        path = Path(urlsplit(uri).path).resolve()
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            raise ConfigError("URI is outside this landing zone", uri=uri) from None


class S3Store:
    """A bucket and prefix on S3 or any S3-compatible endpoint (path-style addressing)."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _full(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str) -> str:
        self._call(
            "put_object", Bucket=self.bucket, Key=self._full(key), Body=data,
            ContentType=content_type,
        )
        return self.uri(key)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"

    def get(self, key: str) -> bytes | None:
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise ServiceUnavailable("S3 get_object failed", bucket=self.bucket, key=key) from exc
        return bytes(answer["Body"].read())

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``; an S3 refusal or outage is :class:`ServiceUnavailable`
        (a missing bucket or rejected keys included: the caller reports them, never crashes)."""
        strip = len(self.prefix) + 1 if self.prefix else 0
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._full(prefix)
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"][strip:]
        except (BotoCoreError, ClientError) as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
            raise ServiceUnavailable(
                f"S3 list_objects_v2 failed: {code}", bucket=self.bucket, prefix=prefix
            ) from None

    def key_of(self, uri: str) -> str:
        parts = urlsplit(uri)
        key, root = parts.path.lstrip("/"), self._full("")
        if parts.scheme != "s3" or parts.netloc != self.bucket or not key.startswith(root):
            raise ConfigError("URI is outside this landing zone", uri=uri)
        return key[len(root):]

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, method)(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailable(
                f"S3 {method} failed: {type(exc).__name__}",
                bucket=self.bucket,
                key=kwargs.get("Key"),
            ) from exc


class Landing:
    """Stores pages and manifests in a :class:`LocalStore` or :class:`S3Store`."""

    def __init__(self, store: _Store) -> None:
        self.store = store
        self._run_days: dict[tuple[str, str, str], str] = {}

    @classmethod
    def from_settings(cls, settings: Settings | LandingSettings) -> Landing:
        """``file://dir`` (relative to the working directory, or ``file:///abs``) or ``s3://b/p``."""
        landing = settings.landing if isinstance(settings, Settings) else settings
        if landing.url.startswith("file://"):
            return cls(LocalStore(Path(landing.url.removeprefix("file://"))))
        parts = urlsplit(landing.url)
        if not parts.netloc:
            raise ConfigError("landing URL names no bucket", url=landing.url)
        return cls(S3Store(_s3_client(landing), parts.netloc, parts.path))

    def put_page(
        self,
        portal: str,
        stream: str,
        run_id: str,
        page: int,
        body: bytes,
        *,
        request: dict[str, Any],
        status: int,
        record_count: int,
        cursor_before: Any,
        cursor_after: Any,
        content_type: str,
        kind: str = "page",
        skipped: list[int] | None = None,
    ) -> str:
        """Land one page unchanged (gzip) and its manifest entry; return the page's URI.

        ``kind`` says what the page is (``page`` of a listing, ``listing`` of keys for a
        reconciliation, ``reconciliation`` result, ``changes`` feed, ``detail``); ``skipped``
        the indices of its records not emitted (already seen), so a replay emits the same.
        """
        folder = self._folder(portal, stream, run_id)
        ext = _extension(content_type)
        uri = self.store.put(
            f"{folder}/page-{page}.{ext}.gz",
            gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0), "application/gzip",
        )
        entry = {
            "page": page,
            "kind": kind,
            "uri": uri,
            "request": scrub(request),
            "status": status,
            "content_type": content_type,
            "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "record_count": record_count,
            "skipped": list(skipped or []),
            "cursor_before": cursor_before,
            "cursor_after": cursor_after,
            "landed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.store.put(f"{folder}/page-{page}.meta.json", _json(entry), "application/json")
        return uri

    def get_page(self, uri: str) -> bytes:
        """The body of a landed page exactly as the portal served it."""
        return page_body(self.get_stored(uri))

    def get_stored(self, uri: str) -> bytes:
        """A landed page as stored (gzip; :func:`page_body` opens it): the smaller form to
        read, move or hand to another process."""
        data = self.store.get(self.store.key_of(uri))
        if data is None:
            raise ConfigError("no landed page at this URI", uri=uri)
        return data

    def list_pages(
        self,
        portal: str,
        stream: str,
        run_id: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> list[LandedPage]:
        """Landed pages of a stream in (day, run, page) order, optionally narrowed."""
        found = []
        for key in self._candidate_keys(portal, stream, run_id, date_from, date_to):
            match = _PAGE.match(key)
            if not match or (run_id is not None and match["run"] != run_id):
                continue
            day = date.fromisoformat(match["date"])
            if (date_from and day < date_from) or (date_to and day > date_to):
                continue
            found.append(LandedPage(self.store.uri(key), portal, stream, day, match["run"],
                                    int(match["page"]), match["ext"]))
        return sorted(found, key=lambda p: (p.day, p.run_id, p.page))

    def _candidate_keys(
        self, portal: str, stream: str, run_id: str | None, date_from: date | None,
        date_to: date | None,
    ) -> Iterator[str]:
        """Keys that may match, listing as narrow a prefix as the arguments allow: a known
        run's folder, the folders of a bounded date range, else the whole stream."""
        base = f"{portal}/{stream}/"
        day = self._run_days.get((portal, stream, run_id or ""))
        if run_id is not None and day is not None:
            yield from self.store.keys(f"{base}{day}/{run_id}/")
            return
        if date_from is not None and date_to is not None and (date_to - date_from).days <= 62:
            for offset in range((date_to - date_from).days + 1):
                yield from self.store.keys(f"{base}{date_from + timedelta(days=offset)}/")
            return
        yield from self.store.keys(base)

    def run_pages(self, portal: str, stream: str, run_id: str) -> list[LandedPage]:
        """Pages already landed by a run: its folder of today or yesterday (UTC), or the one
        this process is writing to. Cheap on a landing zone of any size."""
        if (portal, stream, run_id) not in self._run_days:
            today = datetime.now(UTC).date()
            for day in (today, today - timedelta(days=1)):
                if next(iter(self.store.keys(f"{portal}/{stream}/{day}/{run_id}/")), None):
                    self._run_days[(portal, stream, run_id)] = day.isoformat()
                    break
            else:
                return []
        return self.list_pages(portal, stream, run_id=run_id)

    def page_entry(self, page: LandedPage) -> dict[str, Any]:
        """The manifest entry landed with ``page``."""
        key = f"{page.portal}/{page.stream}/{page.day.isoformat()}/{page.run_id}/page-{page.page}"
        data = self.store.get(f"{key}.meta.json")
        return json.loads(data) if data else {"page": page.page, "kind": "page"}

    def write_manifest(
        self, portal: str, stream: str, run_id: str, *, summary: dict[str, Any] | None = None
    ) -> str:
        """Gather the run's page entries into ``manifest.json``; call when the run completes."""
        manifest = self._compose(portal, stream, run_id)
        manifest |= {"complete": True, "summary": scrub(summary or {})}
        folder = self._folder(portal, stream, run_id, day=manifest.get("date"))
        return self.store.put(f"{folder}/manifest.json", _json(manifest), "application/json")

    def read_manifest(self, portal: str, stream: str, run_id: str) -> dict[str, Any]:
        """The run's manifest; for a run that never completed, one composed from its pages."""
        pages = self.run_pages(portal, stream, run_id) or self.list_pages(portal, stream, run_id)
        if pages:
            day = pages[0].day.isoformat()
            data = self.store.get(f"{portal}/{stream}/{day}/{run_id}/manifest.json")
            if data is not None:
                return dict(json.loads(data))
            return self._compose(portal, stream, run_id) | {"complete": False}
        for key in self.store.keys(f"{portal}/{stream}/"):
            if key.endswith(f"/{run_id}/manifest.json"):
                data = self.store.get(key)
                if data is not None:
                    return dict(json.loads(data))
        return self._compose(portal, stream, run_id) | {"complete": False}

    def _compose(self, portal: str, stream: str, run_id: str) -> dict[str, Any]:
        pages = self.list_pages(portal, stream, run_id=run_id)
        entries = [self.page_entry(p) for p in pages]
        return {
            "portal": portal,
            "stream": stream,
            "run_id": run_id,
            "date": pages[0].day.isoformat() if pages else None,
            "pages": entries,
            "page_count": len(entries),
            "record_count": sum(e.get("record_count", 0) for e in entries),
            "bytes": sum(e.get("bytes", 0) for e in entries),
            "cursor_before": entries[0].get("cursor_before") if entries else None,
            "cursor_after": entries[-1].get("cursor_after") if entries else None,
        }

    def _folder(self, portal: str, stream: str, run_id: str, day: str | None = None) -> str:
        for part in (portal, stream, run_id):
            if not part or "/" in part or part in (".", ".."):
                raise ConfigError("landing path parts must be plain names", part=part)
        run = (portal, stream, run_id)
        if run not in self._run_days:
            self._run_days[run] = day or datetime.now(UTC).date().isoformat()
        return f"{portal}/{stream}/{self._run_days[run]}/{run_id}"


def page_body(stored: bytes) -> bytes:
    """The body of a landed page from its stored bytes (:meth:`Landing.get_stored`)."""
    return gzip.decompress(stored)


def scrub(value: Any) -> Any:
    """``value`` with secret-looking keys masked at any depth (pagination tokens kept)."""
    if isinstance(value, dict):
        return {
            k: "***" if (k.lower() not in _NOT_SECRET and _SECRET.search(str(k))) else scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def _extension(content_type: str) -> str:
    for marker, ext in _EXTENSIONS.items():
        if marker in content_type.lower():
            return ext
    return "bin"


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str).encode()


def _s3_client(landing: LandingSettings) -> Any:
    access = landing.s3_access_key.get_secret_value() if landing.s3_access_key else None
    secret = landing.s3_secret_key.get_secret_value() if landing.s3_secret_key else None
    return boto3.client(
        "s3",
        endpoint_url=landing.s3_endpoint_url,
        region_name=landing.s3_region,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 5, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        ),
    )
