"""``ecohub doctor``: is everything ecohub needs configured and reachable, and if not, what to do.

Each check is a small function returning a :class:`Check`; the doctor runs them all (one failure
does not hide another) and prints one line per check with a fix in plain words.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import text

from ecohub import kafka
from ecohub.db import get_engine
from ecohub.landing import Landing
from ecohub.secrets import mask_text
from ecohub.settings import Settings, mask_url, secret_values

__all__ = ["Check", "doctor", "run_checks"]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _tcp(host: str, port: int, timeout: float = 2.0) -> str | None:
    """None when something accepts a TCP connection, else the reason."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def check_kafka(settings: Settings) -> Check:
    servers = settings.kafka.bootstrap_servers
    host, _, port = servers.split(",")[0].rpartition(":")
    fix = (
        "start it with `make up` (or `ecohub services up --only kafka`), "
        "or point ECOHUB_KAFKA__BOOTSTRAP_SERVERS at a running broker"
    )
    problem = _tcp(host or "127.0.0.1", int(port or 9092))
    if problem:
        return Check("kafka", False, f"Kafka at {servers} is not reachable ({problem})", fix)
    try:
        client = kafka.admin(settings, client_id="ecohub-doctor", request_timeout_ms=5000)
        try:
            topics = client.list_topics()
        finally:
            client.close()
    except Exception as exc:  # any client failure (auth included) is the finding itself
        return Check("kafka", False, f"Kafka at {servers} does not answer ({exc})", fix)
    ours = [t for t in topics if t.startswith(settings.kafka.topic_prefix + ".")]
    return Check("kafka", True, f"Kafka at {servers} answers; {len(ours)} ecohub topics")


def check_warehouse(settings: Settings) -> Check:
    url = settings.warehouse_url
    safe = mask_url(url)
    try:
        with get_engine(url).connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        return Check(
            "warehouse",
            False,
            f"warehouse {safe} is not reachable ({type(exc).__name__})",
            "start PostgreSQL with `make up`, or fix ECOHUB_WAREHOUSE_URL",
        )
    return Check("warehouse", True, f"warehouse {safe} answers")


def check_landing(settings: Settings) -> Check:
    url = settings.landing.url
    if url.startswith("file://"):
        path = Path(url.removeprefix("file://"))
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".doctor"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            return Check(
                "landing",
                False,
                f"{path} is not writable ({exc.strerror})",
                "fix ECOHUB_LANDING__URL",
            )
        return Check("landing", True, f"landing directory {path} is writable")
    try:
        list(Landing.from_settings(settings).list_pages("_doctor", "_doctor"))
    except Exception as exc:
        return Check(
            "landing",
            False,
            f"S3 landing {url} is not usable ({type(exc).__name__}: {exc})",
            "start the S3 endpoint with `make up`, or fix ECOHUB_LANDING__S3_ENDPOINT_URL and keys",
        )
    return Check("landing", True, f"S3 landing {url} is reachable")


def check_portal(settings: Settings, portal: str) -> Check:
    base = settings.portal(portal).base_url
    parts = urlsplit(base)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    problem = _tcp(parts.hostname or "", port)
    if problem:
        return Check(
            f"portal:{portal}",
            False,
            f"{portal} at {base} is not reachable ({problem})",
            f"start the simulator (`ecohub simulate --portal {portal}`) or set "
            f"ECOHUB_{portal.upper()}__BASE_URL",
        )
    return Check(f"portal:{portal}", True, f"{portal} at {base} accepts connections")


def run_checks(settings: Settings) -> list[Check]:
    checks: list[Callable[[], Check]] = [
        lambda: check_kafka(settings),
        lambda: check_warehouse(settings),
        lambda: check_landing(settings),
        *[(lambda p=p: check_portal(settings, p)) for p in settings.portals],
    ]
    return [c() for c in checks]


def doctor(settings: Settings) -> int:
    """Print every check; exit 0 when all pass, 3 when something is unreachable."""
    results = run_checks(settings)
    known = secret_values(settings)
    for c in results:
        print(mask_text(f"[{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}", known))
        if not c.ok:
            print(f"       fix: {c.fix}")
    failed = [c.name for c in results if not c.ok]
    if failed:
        print(f"problems: {', '.join(failed)}")
        return 3
    print("all checks passed")
    return 0
