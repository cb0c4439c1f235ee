"""The local service stack, run without Docker: Kafka (KRaft), PostgreSQL and an S3 endpoint.

Why this exists: tests, the demo and developers need the *real* services on loopback, and CI
runs on a fresh machine with no container runtime. So the stack is assembled from registries:

* Apache Kafka :data:`KAFKA_VERSION` (broker+controller in one JVM) from Maven Central jars
  collected by ``infra/kafka/pom.xml``, on 127.0.0.1:9092 (controller 127.0.0.1:9093);
* PostgreSQL from Debian's packages, our own cluster under ``var/postgres`` (scram-sha-256,
  127.0.0.1:5432 only, database ``ecohub``);
* s3proxy :data:`S3PROXY_VERSION` (filesystem-nio2 under ``var/s3``) from
  ``infra/s3proxy/pom.xml``, on http://127.0.0.1:9000 with bucket ``ecohub-landing``.

The checkout's stack runs with authentication (:attr:`Stack.auth`): Kafka SASL/SCRAM with ACLs
(only ``ecohub-loader`` may read the restricted PII topic), PostgreSQL scram-sha-256, s3proxy
with a generated key pair; the secrets are generated once into ``var/secrets`` and picked up by
the settings (:mod:`ecohub.localstack`).

When to use what: ``python -m infra.stack install|up [--only kafka,postgres,s3]|down|status``
(the Makefile's ``jars``/``up``/``down``/``status``), or :func:`install`, :func:`up`,
:func:`down`, :func:`status` from Python. ``up`` is idempotent (a live, ready service is left
alone) and installs what is missing; ``down`` stops only processes this module started, found
by the pid files under ``var/run``. Logs go to ``var/log``. The stack always lives under the
checkout's own ``var/`` (not ``settings.var_dir``, which tests point at temporary folders), so
every process of one checkout sees the same stack.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import hmac
import json
import logging
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import ElementTree

from ecohub.errors import ConfigError, EcohubError, FatalError, ServiceUnavailable
from ecohub.kafka import AclRule, hub_acls, secure_cluster
from ecohub.localstack import CREDENTIALS_FILE, PGPASS_FILE, LocalStackCredentials
from ecohub.settings import Settings, load_settings

__all__ = [
    "DEFAULT_AUTH",
    "KAFKA_BOOTSTRAP",
    "KAFKA_CONTROLLER_PORT",
    "KAFKA_PORT",
    "KAFKA_SCRAM",
    "KAFKA_VERSION",
    "LANDING_BUCKET",
    "PG_DATABASE",
    "PG_PORT",
    "S3PROXY_VERSION",
    "S3_ENDPOINT_URL",
    "S3_PORT",
    "S3_REGION",
    "SERVICES",
    "WAREHOUSE_URL",
    "ServiceStatus",
    "Stack",
    "down",
    "install",
    "kafka_acls",
    "kafka_client_config",
    "kafka_cluster_id",
    "kafka_properties",
    "listening_pids",
    "main",
    "pid_alive",
    "read_pid_file",
    "render_properties",
    "s3_credentials",
    "s3proxy_properties",
    "scram_sha256_verifier",
    "stack_root",
    "status",
    "up",
    "write_pid_file",
]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
INFRA_DIR = ROOT / "infra"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def _pom_property(pom: Path, name: str) -> str:
    """A ``<properties>`` value of one of our POMs: the one place a component version is set."""
    try:
        node = ElementTree.parse(pom).getroot().find(f"m:properties/m:{name}", _POM_NS)
    except (OSError, ElementTree.ParseError) as exc:
        raise ConfigError(f"cannot read {pom}: {exc}", pom=str(pom)) from exc
    if node is None or not (node.text or "").strip():
        raise ConfigError(f"{pom} has no <{name}> property", pom=str(pom))
    return str(node.text).strip()


KAFKA_VERSION = _pom_property(INFRA_DIR / "kafka" / "pom.xml", "kafka.version")
S3PROXY_VERSION = _pom_property(INFRA_DIR / "s3proxy" / "pom.xml", "s3proxy.version")

LOOPBACK = "127.0.0.1"
KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9093
KAFKA_BOOTSTRAP = f"{LOOPBACK}:{KAFKA_PORT}"
PG_PORT = 5432
PG_USER = "postgres"
PG_DATABASE = "ecohub"
S3_PORT = 9000
S3_ENDPOINT_URL = f"http://{LOOPBACK}:{S3_PORT}"
S3_REGION = "us-east-1"
WEBHOOKS_PORT = 8110  # the H.OIP push receiver (ecohub.webhooks), as ECOHUB_WEBHOOKS__PORT
LANDING_BUCKET = "ecohub-landing"
_DEV_S3_ACCESS_KEY = "ecohub"
_DEV_S3_SECRET_KEY = "ecohub-secret"  # noqa: S105 - documented dev value; production: settings

DEFAULT_AUTH = True
"""Whether the checkout's stack (:meth:`Stack.default`) runs with authentication."""

SERVICES = ("postgres", "kafka", "s3", "webhooks")
"""Service names in start order (``down`` goes in reverse)."""

_KAFKA_HEAP = ("-Xms256m", "-Xmx512m")
_KAFKA_GC = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
)
# A broker stopped and started over and over (Stack.kafka_quick_restart): measured stop ->
# ready on the fault suite's broker, 3 restarts each, 2 busy cores: 11.0-14.8 s with the
# defaults above, 5.6-7.2 s with the client compiler only, serial GC and a small heap, and
# 3.1-3.6 s when it also maps the class-data archive its first clean stop wrote (CDS).
_KAFKA_QUICK_JVM = ("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
_JVM_COMMON = ("-Djava.awt.headless=true", "-Djava.net.preferIPv4Stack=true")
_S3_JVM = ("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC")
_STOP_GRACE_SECONDS = 30.0


# --------------------------------------------------------------------------- the stack's layout


@dataclass(frozen=True)
class Stack:
    """Where one stack keeps its files, the ports it listens on, and the S3 identity it serves.

    Built by :meth:`default` for the checkout's shared stack (``<checkout>/var``, the standard
    ports). A second, private stack - a fault-injection test that stops and restarts its own
    broker, an authenticated stack - is ``Stack(root=tmp, kafka_port=19092, ...)``: its files
    live under ``<root>/var`` and its JVMs carry their own ``-Decohub.home`` marker, so
    ``up``/``down``/``status`` on it never touch the shared one.
    """

    root: Path
    s3_identity: str | None = None
    s3_credential: str | None = field(default=None, repr=False)
    kafka_port: int = KAFKA_PORT
    kafka_controller_port: int = KAFKA_CONTROLLER_PORT
    pg_port: int = PG_PORT
    s3_port: int = S3_PORT
    webhooks_port: int = WEBHOOKS_PORT
    kafka_quick_restart: bool = False
    """A broker stopped and started over and over (the fault suite's): it trades peak
    throughput for start-up time (:data:`_KAFKA_QUICK_JVM`) and keeps a class-data archive
    under ``var/kafka`` that its first clean stop writes and every later start maps."""
    auth: bool = False
    """Run with authentication: PostgreSQL scram-sha-256, Kafka SASL/SCRAM with ACLs, s3proxy
    with generated keys; the secrets are generated under ``var/secrets`` (see
    :mod:`ecohub.localstack`). A private stack without it (the fault suite's broker) is open."""

    @property
    def kafka_bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.kafka_port}"

    @property
    def warehouse_url(self) -> str:
        """SQLAlchemy URL of the stack's ``ecohub`` database; an authenticated stack's names
        its libpq password file (a path, never the password)."""
        url = f"postgresql+psycopg://{PG_USER}@{LOOPBACK}:{self.pg_port}/{PG_DATABASE}"
        return f"{url}?passfile={self.pgpass_file}" if self.auth else url

    @property
    def credentials_file(self) -> Path:
        return self.var / CREDENTIALS_FILE

    @property
    def pgpass_file(self) -> Path:
        return self.var / PGPASS_FILE

    def credentials(self, *, create: bool = False) -> LocalStackCredentials | None:
        """The stack's generated secrets: ``None`` for an open stack, and for one whose ``up``
        has not generated them yet (its services, if any run, were started open). ``create``
        generates them when missing and re-points them at this stack's ports (``up`` does,
        under its lock)."""
        if not self.auth:
            return None
        endpoints = {"pg_host": LOOPBACK, "pg_port": self.pg_port, "pg_user": PG_USER,
                     "kafka_bootstrap": self.kafka_bootstrap,
                     "s3_endpoint_url": self.s3_endpoint_url}
        path = self.credentials_file
        if not path.is_file():
            if not create:
                return None
            log.info("generating the stack's credentials in %s", path)
            return LocalStackCredentials.generate(**endpoints).write(path)  # type: ignore[arg-type]
        creds = LocalStackCredentials.read(path)
        if create and any(getattr(creds, k) != v for k, v in endpoints.items()):
            return dataclasses.replace(creds, **endpoints).write(path)  # type: ignore[arg-type]
        return creds

    def s3_keys(self) -> tuple[str, str]:
        """The S3 key pair s3proxy accepts: the one given to the stack, else the generated one
        (authenticated stack), else the development pair (open stack)."""
        if self.s3_identity and self.s3_credential:
            return self.s3_identity, self.s3_credential
        creds = self.credentials()
        if creds is not None:
            return creds.s3_access_key, creds.s3_secret_key
        return _DEV_S3_ACCESS_KEY, _DEV_S3_SECRET_KEY

    @property
    def s3_endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.s3_port}"

    @classmethod
    def default(cls) -> Stack:
        """The checkout's stack, authenticated; S3 keys from ``settings.landing`` when both are
        set there, else generated."""
        landing = load_settings().landing
        identity = landing.s3_access_key.get_secret_value() if landing.s3_access_key else None
        secret = landing.s3_secret_key.get_secret_value() if landing.s3_secret_key else None
        return cls(root=stack_root(ROOT), s3_identity=identity, s3_credential=secret,
                   auth=DEFAULT_AUTH)

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def run_dir(self) -> Path:
        return self.var / "run"

    @property
    def log_dir(self) -> Path:
        return self.var / "log"

    @property
    def kafka_dir(self) -> Path:
        return self.var / "kafka"

    @property
    def s3_dir(self) -> Path:
        return self.var / "s3"

    @property
    def home_marker(self) -> str:
        """JVM flag naming this checkout: finds our JVMs again even without a pid file."""
        return f"-Decohub.home={self.root}"

    def pid_file(self, service: str) -> Path:
        return self.run_dir / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.log_dir / f"{service}.log"


def stack_root(checkout: Path) -> Path:
    """The checkout whose ``var/`` holds the stack: ``checkout`` itself, or, when its ``var``
    is a symlink to another checkout's (a git worktree sharing one running stack), that one,
    so the shared stack's pid files and JVM markers are recognised as ours."""
    return (checkout / "var").resolve().parent


WAREHOUSE_URL = Stack(root=stack_root(ROOT), auth=DEFAULT_AUTH).warehouse_url
"""The checkout's ``ecohub`` database (its password file named, see :attr:`Stack.warehouse_url`)."""


def s3_credentials() -> tuple[str, str]:
    """The S3 access key pair of the checkout's endpoint (:meth:`Stack.s3_keys`)."""
    return Stack.default().s3_keys()


@dataclass(frozen=True)
class ServiceStatus:
    """One line of ``status``: is the service's process ours, alive, and answering?"""

    name: str
    pid: int | None
    address: str
    ready: bool
    rss_mb: float | None = None

    def line(self) -> str:
        pid = str(self.pid) if self.pid else "-"
        rss = f"{self.rss_mb:.0f}MB" if self.rss_mb is not None else "-"
        return (
            f"{self.name:<9} pid={pid:<8} {self.address:<24} "
            f"ready={'yes' if self.ready else 'no':<4} rss={rss}"
        )


# --------------------------------------------------------------------------- processes and pids


def read_pid_file(path: Path) -> int | None:
    """The pid recorded in ``path``; ``None`` if absent. A malformed file is stale: warn, None."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("ignoring unreadable pid file %s: %s", path, exc)
        return None
    if not text.isdigit() or int(text) <= 0:
        log.warning("ignoring malformed pid file %s: %r", path, text[:40])
        return None
    return int(text)


def write_pid_file(path: Path, pid: int) -> None:
    """Record ``pid`` atomically (a reader never sees a half-written file)."""
    if pid <= 0:
        raise ValueError(f"not a pid: {pid}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{pid}\n", encoding="ascii")
    tmp.replace(path)


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie counts as dead; our own dead children get reaped)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return stat_line.rpartition(")")[2].split()[0] not in ("Z", "X")


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _proc_pids() -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text(encoding="ascii").splitlines()[1:]:
                cols = row.split()
                if cols[3] == "0A" and int(cols[1].rpartition(":")[2], 16) == port:
                    inodes.add(cols[9])
    return inodes


def listening_pids(port: int) -> set[int]:
    """Pids of processes holding a listening TCP socket on ``port`` (any address), from /proc."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    found: set[int] = set()
    if not wanted:
        return found
    for pid in _proc_pids():
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in wanted:
                        found.add(pid)
                        break
    return found


def _rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` and its descendants (PostgreSQL forks one per connection)."""
    children: dict[int, list[int]] = {}
    for other in _proc_pids():
        with contextlib.suppress(OSError, IndexError, ValueError):
            text = Path(f"/proc/{other}/stat").read_text(encoding="utf-8", errors="replace")
            children.setdefault(int(text.rpartition(")")[2].split()[1]), []).append(other)
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        with contextlib.suppress(OSError):
            for row in Path(f"/proc/{current}/status").read_text(encoding="ascii").splitlines():
                if row.startswith("VmRSS:"):
                    total_kb += int(row.split()[1])
    return round(total_kb / 1024, 1) if total_kb else None


def _port_open(port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=timeout):
        return True
    return False


def _describe_pid(pid: int) -> str:
    return f"pid {pid} ({' '.join(_cmdline(pid))[:120] or '?'})"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 16_384))
            text = handle.read().decode(errors="replace")
    except OSError:
        return "(no log yet)"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- rendering configs


def render_properties(props: Mapping[str, str], header: str = "") -> str:
    """A Java ``.properties`` text, one ``key=value`` a line, in the given order.

    Values are written raw (Kafka and s3proxy values here are hosts, paths and numbers);
    backslashes are escaped, and a line break, which would smuggle in another key, is refused.
    """
    out = [f"# {line}".rstrip() for line in header.splitlines()]
    for key, value in props.items():
        if any(ch in f"{key}{value}" for ch in "\r\n") or not key or "=" in key:
            raise ConfigError("refusing a property with a line break or bad key", key=key)
        out.append(f"{key}={value.replace(chr(92), chr(92) * 2)}")
    return "\n".join(out) + "\n"


def kafka_properties(stack: Stack) -> dict[str, str]:
    """``server.properties`` of the single-node KRaft broker+controller; for an authenticated
    stack with its SASL listeners, JAAS logins and authorizer (:func:`_kafka_auth_properties`)."""
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{LOOPBACK}:{stack.kafka_controller_port}",
        **_kafka_listeners(stack),
        "log.dirs": str(stack.kafka_dir / "data"),
        "num.partitions": "1",
        "num.network.threads": "2",
        "num.io.threads": "4",
        # The hub creates its topics (with partitions/retention from settings): a typo'd topic
        # name must fail, not silently create a new topic.
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
    }
    creds = stack.credentials()
    if creds is not None:
        props.update(_kafka_auth_properties(creds))
    return props


def _kafka_listeners(stack: Stack) -> dict[str, str]:
    """One client listener (SASL_PLAINTEXT on an authenticated stack, else PLAINTEXT) and
    the controller listener, which uses the same protocol."""
    protocol = "SASL_PLAINTEXT" if stack.auth else "PLAINTEXT"
    listeners = (f"{protocol}://{LOOPBACK}:{stack.kafka_port},"
                 f"CONTROLLER://{LOOPBACK}:{stack.kafka_controller_port}")
    return {
        "listeners": listeners,
        "advertised.listeners": listeners,
        "inter.broker.listener.name": protocol,
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": f"CONTROLLER:{protocol},{protocol}:{protocol}",
    }


KAFKA_SCRAM = "SCRAM-SHA-512"
_SCRAM_ITERATIONS = 8192


def _kafka_auth_properties(creds: LocalStackCredentials) -> dict[str, str]:
    """Clients and the broker's own connections authenticate with SCRAM-SHA-512 (credentials
    in the cluster metadata: the admin's from the storage format, the others from ``up``); the
    controller listener with PLAIN for the admin only (the controller must authenticate the
    broker before it has read any metadata). No TLS: every listener is on loopback. ACLs are
    enforced by the StandardAuthorizer, nothing is allowed without one, and the admin is the
    only super user."""
    admin = creds.principal("admin")
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
    login = f'username="{admin.username}" password="{admin.password}"'
    return {
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms": KAFKA_SCRAM,
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.inter.broker.protocol": KAFKA_SCRAM,
        "sasl.mechanism.controller.protocol": "PLAIN",
        f"listener.name.sasl_plaintext.{KAFKA_SCRAM.lower()}.sasl.jaas.config":
            f"{scram} required {login};",
        "listener.name.controller.plain.sasl.jaas.config":
            f'{plain} required {login} user_{admin.username}="{admin.password}";',
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{admin.username}",
        "allow.everyone.if.no.acl.found": "false",
    }  # fmt: skip


def kafka_cluster_id() -> str:
    """A fresh KRaft cluster id, as ``StorageTool random-uuid`` makes it (without a JVM start).

    Kafka's ``Uuid.toString`` is URL-safe base64 of 16 random bytes without padding; like
    ``Uuid.randomUuid`` we skip ids starting with ``-`` (they read as a command-line flag).
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text


def s3proxy_properties(stack: Stack) -> dict[str, str]:
    """s3proxy's ``--properties`` file: filesystem-nio2 under ``var/s3``, AWS v2/v4 auth with
    the stack's one key pair (:meth:`Stack.s3_keys`)."""
    identity, credential = stack.s3_keys()
    return {
        "s3proxy.endpoint": stack.s3_endpoint_url,
        "s3proxy.authorization": "aws-v2-or-v4",
        "s3proxy.identity": identity,
        "s3proxy.credential": credential,
        "jclouds.provider": "filesystem-nio2",
        "jclouds.filesystem.basedir": str(stack.s3_dir),
    }


# --------------------------------------------------------------------------- installing


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise ConfigError("java (17+) not found: run `python -m infra.stack install`")
    return found


def _pg_bindir() -> Path | None:
    """Newest Debian PostgreSQL (``/usr/lib/postgresql/N/bin``), else ``pg_ctl`` on PATH."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _missing_debian_packages(services: Sequence[str]) -> list[str]:
    missing = []
    if {"kafka", "s3"} & set(services):
        if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
            missing.append("openjdk-17-jre-headless")
        if not shutil.which("mvn"):
            missing.append("maven")
    if "postgres" in services and _pg_bindir() is None:
        missing.append("postgresql")
    return missing


def _apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0:
        raise ConfigError(
            f"missing system packages {packages}: install them (apt-get install -y "
            f"{' '.join(packages)}) or run as root"
        )
    log.info("installing Debian packages %s", packages)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise FatalError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    if "postgresql" in packages:
        _park_debian_clusters()


def _park_debian_clusters() -> None:
    """Stop and set to manual the cluster Debian's postinst may create and start on 5432.

    Only called right after *we* installed the package, so that cluster is nobody's yet.
    """
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False
    )
    for row in listing.stdout.splitlines():
        cols = row.split()
        if len(cols) < 4:
            continue
        version, name = cols[0], cols[1]
        subprocess.run(["pg_ctlcluster", version, name, "stop"], capture_output=True, check=False)
        start_conf = Path(f"/etc/postgresql/{version}/{name}/start.conf")
        if start_conf.is_file():
            start_conf.write_text("manual\n", encoding="ascii")
        log.info(
            "parked Debian's PostgreSQL cluster %s/%s (stopped, start.conf=manual)", version, name
        )


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def _jars_complete(component: Path) -> bool:
    stamp = component / "lib" / ".complete"
    return stamp.is_file() and stamp.read_text(encoding="ascii").strip() == _pom_digest(
        component / "pom.xml"
    )


def _fetch_jars(component: Path) -> None:
    """Copy the runtime jars of ``component/pom.xml`` into ``component/lib`` (Maven caches in
    ~/.m2). Done in a side folder and renamed, so a broken download never looks complete."""
    if _jars_complete(component):
        log.info("%s/lib is complete", component.relative_to(ROOT))
        return
    partial = component / "lib.partial"
    shutil.rmtree(partial, ignore_errors=True)
    cmd = [
        "mvn", "-B", "-q", "-f", str(component / "pom.xml"), "dependency:copy-dependencies",
        "-DincludeScope=runtime", f"-DoutputDirectory={partial}",
    ]  # fmt: skip
    log.info("fetching jars of %s from Maven Central", component.relative_to(ROOT))
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not any(partial.glob("*.jar")):
        raise FatalError(
            f"mvn could not collect the jars of {component}:\n{(done.stdout + done.stderr)[-3000:]}"
        )
    (partial / ".complete").write_text(_pom_digest(component / "pom.xml") + "\n", encoding="ascii")
    shutil.rmtree(component / "lib", ignore_errors=True)
    partial.rename(component / "lib")


def _ensure_installed(services: Sequence[str]) -> None:
    missing = _missing_debian_packages(services)
    if missing:
        _apt_install(missing)
    if "kafka" in services:
        _fetch_jars(INFRA_DIR / "kafka")
    if "s3" in services:
        _fetch_jars(INFRA_DIR / "s3proxy")


def install() -> None:
    """Fetch everything the stack needs: Debian packages when missing, then the jars of Kafka
    and s3proxy (skipped when ``infra/*/lib`` matches its POM)."""
    with _stack_lock(Stack.default()):  # a concurrent `up` may be fetching the same jars
        _ensure_installed(SERVICES)


# --------------------------------------------------------------------------- Kafka


def _kafka_jvm(stack: Stack, main_class: str, *args: str) -> list[str]:
    return [
        _java(), *_kafka_tuning(stack, main_class), *_JVM_COMMON, stack.home_marker,
        f"-Dlog4j2.configurationFile={INFRA_DIR / 'kafka' / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={stack.log_dir}",
        "-cp", f"{INFRA_DIR / 'kafka' / 'lib'}/*", main_class, *args,
    ]  # fmt: skip


def _kafka_tuning(stack: Stack, main_class: str) -> tuple[str, ...]:
    """Heap, GC and compiler options; a quick-restarting broker's also name its class-data
    archive: written at its first clean exit, mapped from then on (a stale or unreadable
    archive only costs the speed-up: ``-Xshare:auto`` is the default)."""
    if not stack.kafka_quick_restart:
        return (*_KAFKA_HEAP, *_KAFKA_GC)
    if main_class != "kafka.Kafka":  # the storage tool: its classes are not the broker's
        return _KAFKA_QUICK_JVM
    archive = stack.kafka_dir / "classes.jsa"
    flag = "SharedArchiveFile" if archive.is_file() else "ArchiveClassesAtExit"
    return (*_KAFKA_QUICK_JVM, f"-XX:{flag}={archive}")


def _scram_argument(name: str, password: str) -> str:
    """A ``--add-scram`` value with the salted password (RFC 5802 ``Hi``), so the clear
    password never appears on a command line."""
    salt = os.urandom(24)
    salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _SCRAM_ITERATIONS)
    b64 = base64.b64encode
    return (f'{KAFKA_SCRAM}=[name={name},iterations={_SCRAM_ITERATIONS},'
            f'salt="{b64(salt).decode()}",saltedpassword="{b64(salted).decode()}"]')


def _auth_marker(stack: Stack) -> Path:
    return stack.kafka_dir / "data" / ".ecohub-scram"


def _kafka_format(stack: Stack, config: Path) -> None:
    """Format the KRaft storage once (``--ignore-formatted`` makes a rerun harmless); an
    authenticated stack's storage gets the admin's SCRAM credential, which its broker needs
    before anything else. Storage formatted by an open stack is moved aside, not deleted."""
    data = stack.kafka_dir / "data"
    creds = stack.credentials()
    if (data / "meta.properties").is_file():
        if creds is None or _auth_marker(stack).is_file():
            return
        aside = stack.kafka_dir / f"data.open-{time.strftime('%Y%m%dT%H%M%S')}"
        log.warning("Kafka storage was formatted without authentication: moved to %s, "
                    "formatting afresh (the hub re-creates its topics)", aside)
        data.rename(aside)
    id_file = stack.kafka_dir / "cluster.id"
    if not id_file.is_file():
        id_file.write_text(kafka_cluster_id() + "\n", encoding="ascii")
    cluster_id = id_file.read_text(encoding="ascii").strip()
    extra: list[str] = []
    if creds is not None:
        admin = creds.principal("admin")
        extra = ["--add-scram", _scram_argument(admin.username, admin.password)]
    cmd = _kafka_jvm(
        stack, "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id,
        "-c", str(config), "--ignore-formatted", *extra,
    )  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise FatalError(
            f"formatting Kafka storage failed:\n{(done.stdout + done.stderr)[-3000:]}",
            log=str(stack.log_file("kafka")),
        )
    if creds is not None:
        _auth_marker(stack).write_text("admin credential added at format\n", encoding="ascii")


def _write_private_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (it may hold a secret)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _start_kafka(stack: Stack) -> int:
    config = stack.kafka_dir / "server.properties"
    _write_private_text(
        config, render_properties(kafka_properties(stack), "generated by infra.stack: do not edit")
    )
    _kafka_format(stack, config)
    return _spawn(stack, "kafka", _kafka_jvm(stack, "kafka.Kafka", str(config)), stack.kafka_dir)


def kafka_client_config(stack: Stack, role: str = "admin") -> dict[str, object]:
    """kafka-python settings for a client of ``stack`` as ``role``'s principal (open stack:
    bootstrap only)."""
    config: dict[str, object] = {"bootstrap_servers": stack.kafka_bootstrap}
    creds = stack.credentials()
    if creds is not None:
        who = creds.principal(role)
        config.update(security_protocol="SASL_PLAINTEXT", sasl_mechanism=KAFKA_SCRAM,
                      sasl_plain_username=who.username, sasl_plain_password=who.password)
    return config


def _kafka_ready(stack: Stack) -> bool:
    """The broker answers a metadata request listing itself (a bare open port is not enough)."""
    if not _port_open(stack.kafka_port):
        return False
    from kafka import KafkaAdminClient

    try:
        admin = KafkaAdminClient(
            client_id="ecohub-services",
            bootstrap_timeout_ms=3000,
            request_timeout_ms=3000,
            **kafka_client_config(stack),
        )
    except Exception:  # any failure means "not ready yet"
        return False
    try:
        return bool(admin.describe_cluster().get("brokers"))
    except Exception:
        return False
    finally:
        admin.close()


def _admin_settings(stack: Stack, creds: LocalStackCredentials) -> Settings:
    admin = creds.principal("admin")
    return load_settings({
        "ECOHUB_STACK_CREDENTIALS": "off",
        "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        "ECOHUB_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "ECOHUB_KAFKA__SASL_MECHANISM": KAFKA_SCRAM,
        "ECOHUB_KAFKA__SASL_USERNAME": admin.username,
        "ECOHUB_KAFKA__SASL_PASSWORD": admin.password,
    })


def kafka_acls(creds: LocalStackCredentials) -> list[AclRule]:
    """The stack's ACLs (:func:`ecohub.kafka.hub_acls` on every topic: tests use their own
    prefixes): only the loader may read ``ecohub.restricted.pii.v1``."""
    return hub_acls(load_settings({"ECOHUB_STACK_CREDENTIALS": "off"}),
                    publisher=creds.principal("publisher").username,
                    loader=creds.principal("loader").username,
                    reader=creds.principal("reader").username, all_topics=True)  # fmt: skip


def _kafka_secure(stack: Stack) -> None:
    """Upsert the SCRAM credentials of the non-admin principals and the ACLs, as the admin
    (idempotent: run by every ``up``, so a changed password in the credentials file takes
    effect)."""
    creds = stack.credentials()
    if creds is None:
        return
    users = {p.username: p.password for role, p in creds.kafka_principals.items()
             if role != "admin"}
    try:
        secure_cluster(_admin_settings(stack, creds), users, kafka_acls(creds),
                       mechanism=KAFKA_SCRAM, iterations=_SCRAM_ITERATIONS)
    except ServiceUnavailable as exc:
        raise FatalError(f"the stack's Kafka users or ACLs: {exc}") from exc


def _is_kafka(stack: Stack, argv: list[str]) -> bool:
    return "kafka.Kafka" in argv and stack.home_marker in argv


# --------------------------------------------------------------------------- PostgreSQL


@functools.lru_cache(maxsize=4)
def _pg_home(stack: Stack) -> Path:
    """``var/postgres``, unless the ``postgres`` user cannot reach it (a checkout under a
    private home directory): then a folder under /var/tmp named after the checkout."""
    home = stack.var / "postgres"
    if os.geteuid() != 0 or _traversable_by_postgres(stack.var):
        return home
    digest = hashlib.sha256(str(stack.root).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"ecohub-postgres-{digest}"  # noqa: S108 - root-owned, fixed name


def _traversable_by_postgres(path: Path) -> bool:
    import pwd

    try:
        user = pwd.getpwnam(PG_USER)
    except KeyError:  # PostgreSQL not installed yet: nothing to decide
        return True
    groups = set(os.getgrouplist(PG_USER, user.pw_gid))
    for folder in [path, *path.parents]:
        if not folder.exists():
            continue
        st = folder.stat()
        if st.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _as_pg_user() -> dict[str, object]:
    """PostgreSQL refuses to run as root: as root, its commands run as the ``postgres`` user."""
    if os.geteuid() != 0:
        return {}
    return {"user": PG_USER, "group": PG_USER, "extra_groups": []}


def _chown_pg(*paths: Path) -> None:
    if os.geteuid() == 0:
        for path in paths:
            shutil.chown(path, PG_USER, PG_USER)


def _pg_run(cmd: list[str], what: str, stdin: str | None = None) -> None:
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "HOME": "/tmp"}  # noqa: S108
    done = subprocess.run(  # type: ignore[call-overload]
        cmd, capture_output=True, text=True, check=False, env=env, cwd="/", input=stdin,
        **_as_pg_user(),
    )
    if done.returncode != 0:
        raise FatalError(f"{what} failed:\n{(done.stdout + done.stderr)[-3000:]}", cmd=cmd[0])


def _pg_conf(stack: Stack) -> str:
    """Settings of our cluster, rewritten at each start (so a change here takes effect)."""
    return "\n".join(
        [
            "# generated by infra.stack: do not edit",
            f"listen_addresses = '{LOOPBACK}'",
            f"port = {stack.pg_port}",
            "unix_socket_directories = ''",
            "max_connections = 100",
            "shared_buffers = 128MB",
            "synchronous_commit = off",
            "timezone = 'UTC'",
            "log_timezone = 'UTC'",
            "password_encryption = 'scram-sha-256'",
            "",
        ]
    )


def _pg_hba(stack: Stack) -> str:
    """``pg_hba.conf``, rewritten at each start: TCP on loopback only (no socket is open),
    scram-sha-256 for an authenticated stack, ``trust`` for an open one."""
    method = "scram-sha-256" if stack.auth else "trust"
    return "\n".join([
        "# generated by infra.stack: do not edit",
        "# TYPE  DATABASE  USER  ADDRESS       METHOD",
        f"host    all       all   127.0.0.1/32  {method}",
        f"host    all       all   ::1/128       {method}",
        "",
    ])  # fmt: skip


def scram_sha256_verifier(password: str, *, iterations: int = 4096) -> str:
    """PostgreSQL's stored form of a scram-sha-256 password (RFC 5802/7677), computed here so
    that only the verifier, never the password, reaches the server."""
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = base64.b64encode
    return (f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
            f"${b64(stored_key).decode()}:{b64(server_key).decode()}")


def _pg_set_password(stack: Stack, data: Path, bindir: Path) -> None:
    """Give the superuser the stack's password, in single-user mode before the server starts
    (every start: a changed password in the credentials file takes effect). The statement
    carries the verifier only and goes through stdin, not the command line."""
    creds = stack.credentials()
    if creds is None:
        return
    statement = f"ALTER ROLE \"{PG_USER}\" PASSWORD '{scram_sha256_verifier(creds.pg_password)}'\n"
    _pg_run([str(bindir / "postgres"), "--single", "-D", str(data), "postgres"],
            "setting the PostgreSQL password (single-user mode)", stdin=statement)


def _pg_init(data: Path, bindir: Path) -> None:
    version_file = data / "PG_VERSION"
    if version_file.is_file():
        found = version_file.read_text(encoding="ascii").strip()
        if found != bindir.parent.name and bindir.parent.name.isdigit():
            raise ConfigError(
                f"{data} holds a PostgreSQL {found} cluster but the server is "
                f"{bindir.parent.name}: remove {data.parent} to start afresh",
            )
        return
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    _chown_pg(data.parent, data)
    _pg_run(
        [str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
         "--locale=C.UTF-8"],
        "initdb",
    )  # fmt: skip
    with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("\ninclude_if_exists = 'ecohub.conf'\n")


def _pg_logfile(stack: Stack, home: Path) -> Path:
    """``var/log/postgres.log``; with the /var/tmp fallback the file lives beside the cluster
    (the ``postgres`` user cannot write into the checkout) and var/log gets a symlink to it."""
    logfile = stack.log_file("postgres")
    if home.is_relative_to(stack.var):
        return logfile
    if logfile.is_symlink() or logfile.exists():
        logfile.unlink()
    logfile.symlink_to(home / "postgres.log")
    return home / "postgres.log"


def _start_postgres(stack: Stack) -> int:
    bindir = _pg_bindir()
    if bindir is None:
        raise ConfigError("PostgreSQL not installed: run `python -m infra.stack install`")
    data = _pg_home(stack) / "data"
    _pg_init(data, bindir)
    (data / "ecohub.conf").write_text(_pg_conf(stack), encoding="utf-8")
    (data / "pg_hba.conf").write_text(_pg_hba(stack), encoding="utf-8")
    logfile = _pg_logfile(stack, data.parent)
    logfile.touch()
    _chown_pg(data / "ecohub.conf", data / "pg_hba.conf", logfile)
    _pg_set_password(stack, data, bindir)
    _pg_run(
        [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-w", "-t", "60", "start"],
        f"pg_ctl start (see {logfile})",
    )
    lines = (data / "postmaster.pid").read_text(encoding="ascii").splitlines()
    pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None  # line 1: the pid
    if pid is None:
        raise FatalError(f"PostgreSQL started but left no postmaster.pid; see {logfile}")
    return pid


def _pg_connect(stack: Stack, dbname: str):  # type: ignore[no-untyped-def]
    import psycopg

    creds = stack.credentials()
    return psycopg.connect(
        host=LOOPBACK, port=stack.pg_port, user=PG_USER, dbname=dbname, connect_timeout=3,
        autocommit=True, password=creds.pg_password if creds else None,
    )  # fmt: skip


def _pg_ready(stack: Stack) -> bool:
    if not _port_open(stack.pg_port):
        return False
    try:
        with _pg_connect(stack, "postgres") as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:  # any failure means "not ready yet"
        return False


def _pg_create_database(stack: Stack) -> None:
    with _pg_connect(stack, "postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,))
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
            log.info("created database %s", PG_DATABASE)


def _is_postgres(stack: Stack, argv: list[str]) -> bool:
    data = str(_pg_home(stack) / "data")
    return bool(argv) and Path(argv[0]).name in ("postgres", "postmaster") and data in argv


# --------------------------------------------------------------------------- s3proxy


def _s3_config_file(stack: Stack) -> Path:
    return stack.run_dir / "s3proxy.properties"


def _start_s3(stack: Stack) -> int:
    """Start s3proxy. Its properties hold the credential, so the file is private (0600) and is
    deleted once the endpoint answers (s3proxy reads it only at start)."""
    stack.s3_dir.mkdir(parents=True, exist_ok=True)
    config = _s3_config_file(stack)
    config.unlink(missing_ok=True)
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(render_properties(s3proxy_properties(stack), "generated; deleted at start"))
    cmd = [
        _java(), *_S3_JVM, *_JVM_COMMON, stack.home_marker,
        f"-Dlogback.configurationFile={INFRA_DIR / 's3proxy' / 'logback.xml'}",
        f"-Decohub.log.dir={stack.log_dir}",
        "-cp", f"{INFRA_DIR / 's3proxy' / 'lib'}/*", "org.gaul.s3proxy.Main",
        "--properties", str(config),
    ]  # fmt: skip
    return _spawn(stack, "s3proxy", cmd, stack.s3_dir)


def _s3_ready(stack: Stack) -> bool:
    if not _port_open(stack.s3_port):
        return False
    try:
        with urllib.request.urlopen(f"{stack.s3_endpoint_url}/healthz", timeout=3) as resp:  # noqa: S310
            return resp.status == 200 and json.load(resp).get("status") == "OK"
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _s3_client(stack: Stack):  # type: ignore[no-untyped-def]
    import boto3
    from botocore.config import Config

    identity, credential = stack.s3_keys()
    return boto3.client(
        "s3",
        endpoint_url=stack.s3_endpoint_url,
        region_name=S3_REGION,
        aws_access_key_id=identity,
        aws_secret_access_key=credential,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )


def _s3_create_bucket(stack: Stack) -> None:
    _s3_config_file(stack).unlink(missing_ok=True)
    client = _s3_client(stack)
    names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if LANDING_BUCKET not in names:
        client.create_bucket(Bucket=LANDING_BUCKET)
        log.info("created bucket %s", LANDING_BUCKET)


def _is_s3proxy(stack: Stack, argv: list[str]) -> bool:
    return "org.gaul.s3proxy.Main" in argv and stack.home_marker in argv


# --------------------------------------------------------------------------- H.OIP push receiver


def _start_webhooks(stack: Stack) -> int:
    """``ecohub webhooks serve`` on loopback, with the caller's ECOHUB_* settings (the same
    warehouse, landing zone and Kafka as the CLI). ``-X ecohub.home=`` marks it as ours."""
    cmd = [
        sys.executable, "-X", f"ecohub.home={stack.root}", "-m", "ecohub.cli",
        "webhooks", "serve", "--host", LOOPBACK, "--port", str(stack.webhooks_port),
    ]  # fmt: skip
    return _spawn(stack, "webhooks", cmd, stack.root)


def _webhooks_ready(stack: Stack) -> bool:
    if not _port_open(stack.webhooks_port):
        return False
    url = f"http://{LOOPBACK}:{stack.webhooks_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status == 200 and json.load(resp).get("status") == "ok"
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _is_webhooks(stack: Stack, argv: list[str]) -> bool:
    return "ecohub.cli" in argv and "webhooks" in argv and f"ecohub.home={stack.root}" in argv


# --------------------------------------------------------------------------- the service table


@dataclass(frozen=True)
class _Service:
    name: str
    log_name: str  # var/log/<log_name>.log (the service's own log) and .out (its stdout)
    address: Callable[[Stack], str]
    ports: Callable[[Stack], tuple[int, ...]]
    start: Callable[[Stack], int]
    ready: Callable[[Stack], bool]
    after_ready: Callable[[Stack], None]
    identifies: Callable[[Stack, list[str]], bool]
    stop_signal: signal.Signals
    ready_timeout: float


_TABLE = {
    "postgres": _Service(
        "postgres", "postgres", lambda st: f"{LOOPBACK}:{st.pg_port}", lambda st: (st.pg_port,),
        _start_postgres, _pg_ready,
        _pg_create_database, _is_postgres, signal.SIGINT, 60.0,  # SIGINT = "fast" shutdown
    ),
    "kafka": _Service(
        "kafka", "kafka", lambda st: st.kafka_bootstrap,
        lambda st: (st.kafka_port, st.kafka_controller_port), _start_kafka,
        _kafka_ready, _kafka_secure, _is_kafka, signal.SIGTERM, 120.0,
    ),
    "s3": _Service(
        "s3", "s3proxy", lambda st: st.s3_endpoint_url, lambda st: (st.s3_port,), _start_s3,
        _s3_ready, _s3_create_bucket,
        _is_s3proxy, signal.SIGTERM, 60.0,
    ),
    "webhooks": _Service(
        "webhooks", "webhooks", lambda st: f"http://{LOOPBACK}:{st.webhooks_port}/hooks/hoip",
        lambda st: (st.webhooks_port,), _start_webhooks, _webhooks_ready, lambda _stack: None,
        _is_webhooks, signal.SIGTERM, 90.0,
    ),
}  # fmt: skip


def _select(only: Sequence[str] | None) -> list[_Service]:
    wanted = list(SERVICES) if not only else [name.strip() for name in only if name.strip()]
    unknown = sorted(set(wanted) - set(SERVICES))
    if unknown:
        raise ConfigError(f"unknown service(s) {unknown}; valid: {', '.join(SERVICES)}")
    return [_TABLE[name] for name in SERVICES if name in wanted]


def _spawn(stack: Stack, log_name: str, cmd: list[str], cwd: Path) -> int:
    """Start a JVM detached from our session (it outlives this process), output to var/log."""
    out = stack.log_dir / f"{log_name}.out"
    with out.open("ab") as sink:
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
    return proc.pid


def _our_pid(stack: Stack, svc: _Service) -> int | None:
    """The recorded pid, if that process is alive and still *our* service (pids get reused)."""
    pid = read_pid_file(stack.pid_file(svc.name))
    if pid is not None and pid_alive(pid) and svc.identifies(stack, _cmdline(pid)):
        return pid
    return None


def _strays(stack: Stack, svc: _Service) -> set[int]:
    """Processes of this checkout's service that no pid file names (e.g. a lost pid file)."""
    return {pid for pid in _proc_pids() if pid_alive(pid) and svc.identifies(stack, _cmdline(pid))}


@contextlib.contextmanager
def _stack_lock(stack: Stack) -> Iterator[None]:
    """One ``up``/``down`` at a time per checkout (parallel test sessions call ``up``)."""
    stack.run_dir.mkdir(parents=True, exist_ok=True)
    with (stack.run_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _wait_ready(stack: Stack, svc: _Service, pid: int) -> None:
    logfile = stack.log_file(svc.log_name)
    deadline = time.monotonic() + svc.ready_timeout
    while not svc.ready(stack):
        if not pid_alive(pid):
            problem = "exited during start"
        elif time.monotonic() > deadline:
            problem = f"not ready after {svc.ready_timeout:.0f}s"
        else:
            time.sleep(0.5)
            continue
        raise ServiceUnavailable(
            f"{svc.name} {problem}; see {logfile} (and {svc.log_name}.out beside it). "
            f"Last lines:\n{_tail(logfile)}",
            service=svc.name,
            log=str(logfile),
        )


def _check_ports_free(stack: Stack, svc: _Service) -> None:
    for port in svc.ports(stack):
        holders = listening_pids(port)
        if holders or _port_open(port, 0.2):
            who = ", ".join(_describe_pid(p) for p in sorted(holders)) or "an unknown process"
            raise ServiceUnavailable(
                f"cannot start {svc.name}: port {port} is held by {who}, which ecohub did not "
                f"start; stop it (a Debian cluster: `pg_ctlcluster <ver> main stop`) and rerun",
                service=svc.name,
                port=port,
            )


def _mode_file(stack: Stack, svc: _Service) -> Path:
    """Records whether the running service was started with authentication."""
    return stack.run_dir / f"{svc.name}.auth"


def _refuse_open_services(stack: Stack, services: Sequence[_Service]) -> None:
    """An authenticated stack does not adopt a service some earlier ``up`` started without
    authentication (its clients would now present credentials it does not check, or the
    reverse): stop and start the stack instead. Checked before any credential is generated."""
    if not stack.auth:
        return
    wrong = []
    for svc in services:
        pid = _our_pid(stack, svc)
        mode = _mode_file(stack, svc)
        if pid is not None and (not mode.is_file() or mode.read_text().strip() != "on"):
            wrong.append(f"{svc.name} (pid {pid})")
    if wrong:
        raise ServiceUnavailable(
            f"{', '.join(wrong)} run without authentication, the stack now runs with it: "
            "restart the stack (`python -m infra.stack down` then `up`; `make down up`)",
            services=[w.split()[0] for w in wrong],
        )


def _up_one(stack: Stack, svc: _Service) -> None:
    pid = _our_pid(stack, svc)
    strays = _strays(stack, svc) if pid is None else set()
    if len(strays) == 1:  # ours, its pid file lost (or a start cut short): adopt it
        pid = strays.pop()
        log.warning("%s: adopting pid %d of this checkout (no pid file)", svc.name, pid)
        write_pid_file(stack.pid_file(svc.name), pid)
    if pid is not None:
        _wait_ready(stack, svc, pid)  # returns at once when it already answers
        svc.after_ready(stack)  # idempotent: re-creates a dropped database or bucket
        log.info("%s already up (pid %d)", svc.name, pid)
        return
    stack.pid_file(svc.name).unlink(missing_ok=True)
    _check_ports_free(stack, svc)
    started = time.monotonic()
    pid = svc.start(stack)
    write_pid_file(stack.pid_file(svc.name), pid)
    try:
        _wait_ready(stack, svc, pid)
        svc.after_ready(stack)
    except BaseException:
        _stop_pid(pid, svc.stop_signal)
        stack.pid_file(svc.name).unlink(missing_ok=True)
        raise
    _mode_file(stack, svc).write_text("on\n" if stack.auth else "off\n", encoding="ascii")
    log.info("%s up (pid %d) in %.1fs", svc.name, pid, time.monotonic() - started)


def _stop_pid(pid: int, sig: signal.Signals, grace: float = _STOP_GRACE_SECONDS) -> None:
    """``sig``, wait up to ``grace`` seconds, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(pid):
        log.warning("pid %d ignored %s for %.0fs: SIGKILL", pid, sig.name, grace)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)


def _down_one(stack: Stack, svc: _Service) -> None:
    pid = _our_pid(stack, svc)
    victims = ([pid] if pid else []) + sorted(_strays(stack, svc) - {pid})
    for victim in victims:
        if victim != pid:
            log.warning("%s: stopping a process of this checkout without pid file", svc.name)
        log.info("stopping %s (pid %d)", svc.name, victim)
        _stop_pid(victim, svc.stop_signal)
    left = sorted(p for p in victims if pid_alive(p)) + sorted(_strays(stack, svc))
    if left:
        raise FatalError(f"{svc.name} still running after stop", pids=left, service=svc.name)
    stack.pid_file(svc.name).unlink(missing_ok=True)
    _mode_file(stack, svc).unlink(missing_ok=True)
    if svc.name == "s3":
        _s3_config_file(stack).unlink(missing_ok=True)


# --------------------------------------------------------------------------- public API


def up(only: Sequence[str] | None = None, stack: Stack | None = None) -> list[ServiceStatus]:
    """Start the stack (or the services named in ``only``), one after the other, each waited
    on until it answers. Installs what is missing first. A service already up is left as is."""
    stack = stack or Stack.default()
    services = _select(only)
    for folder in (stack.run_dir, stack.log_dir, stack.kafka_dir, stack.s3_dir):
        folder.mkdir(parents=True, exist_ok=True)
    with _stack_lock(stack):
        _ensure_installed([svc.name for svc in services])
        _refuse_open_services(stack, services)
        stack.credentials(create=True)
        for svc in services:
            _up_one(stack, svc)
    return status([svc.name for svc in services], stack)


def down(only: Sequence[str] | None = None, stack: Stack | None = None) -> None:
    """Stop the services this checkout started (pid files under var/run; SIGTERM, or SIGINT
    for PostgreSQL's fast shutdown, then SIGKILL after 30s), in reverse start order."""
    stack = stack or Stack.default()
    services = _select(only)
    with _stack_lock(stack):
        for svc in reversed(services):
            _down_one(stack, svc)


def status(only: Sequence[str] | None = None, stack: Stack | None = None) -> list[ServiceStatus]:
    """One :class:`ServiceStatus` per service: our pid (if alive), address, answering or not."""
    stack = stack or Stack.default()
    rows = []
    for svc in _select(only):
        pid = _our_pid(stack, svc)
        ready = pid is not None and svc.ready(stack)
        rss = _rss_mb(pid) if pid is not None else None
        rows.append(ServiceStatus(svc.name, pid, svc.address(stack), ready, rss))
    return rows


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m infra.stack", description="The local Kafka/PostgreSQL/S3 stack."
    )
    parser.add_argument("command", choices=["install", "up", "down", "status"])
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated subset of {','.join(SERVICES)} (default: all)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; exit 0 when the command did what it says, 1 otherwise."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s services: %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # readiness polling is noisy
    only = [name for name in args.only.split(",") if name.strip()] or None
    try:
        if args.command == "install":
            install()
            return 0
        if args.command == "down":
            down(only)
            return 0
        rows = up(only) if args.command == "up" else status(only)
    except EcohubError as exc:
        log.error("%s failed: %s", args.command, exc)
        return 1
    for row in rows:
        print(row.line())
    return 0 if all(row.ready for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
