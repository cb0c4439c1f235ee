"""Credentials of the local development stack: the file ``infra.stack`` generates, and how the
settings pick them up.

Why: the local stack (``make up``) runs PostgreSQL with scram-sha-256, Kafka with SASL/SCRAM
and ACLs, and s3proxy with generated keys. Its secrets are generated once per checkout and kept
in one private file, ``var/secrets/local-stack.json`` (mode 0600, folder 0700), with a libpq
password file beside it. So that ``make test``, ``make demo`` and a developer's ``ecohub``
commands keep working with no manual environment, :func:`apply` fills in what the configuration
leaves out -- Kafka's SASL principals, the S3 keys, the PostgreSQL password file -- and only for
the endpoints the file names (all on loopback). What is configured explicitly always wins, and
nothing is picked up with ``ECOHUB_ENV=production`` or ``ECOHUB_STACK_CREDENTIALS=off``.

The file is written only by :meth:`LocalStackCredentials.write` (``infra.stack``); it never
leaves ``var/``, and no secret in it is ever printed (the settings hold them as ``SecretStr``;
the warehouse URL names only the password *file*).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr

from ecohub.errors import ConfigError

if TYPE_CHECKING:
    from ecohub.settings import Settings

__all__ = [
    "CREDENTIALS_FILE",
    "KAFKA_ROLES",
    "PGPASS_FILE",
    "LocalStackCredentials",
    "Principal",
    "apply",
    "credentials_path",
    "new_secret",
]

CREDENTIALS_FILE = Path("secrets") / "local-stack.json"
"""Where the credentials live, relative to a stack's ``var/``."""
PGPASS_FILE = Path("secrets") / "pgpass"
KAFKA_ROLES = ("admin", "publisher", "loader", "reader")
"""Kafka principals of the local stack: ``admin`` (super user: users, ACLs, the broker's own
connections), ``publisher`` (the hub's default principal: writes every topic, may not read the
restricted one), ``loader`` (the only one that may read the restricted topic), ``reader``
(read-only, restricted topic excluded: downstream consumers)."""
_CHECKOUT_VAR = Path(__file__).resolve().parents[1] / "var"
_LOOPBACK_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}


def new_secret() -> str:
    """A fresh random secret: 32 bytes, URL-safe (it may appear in JAAS, pgpass, properties)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Principal:
    """A Kafka SASL user."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class LocalStackCredentials:
    """The local stack's endpoints and the generated secrets that open them."""

    pg_host: str
    pg_port: int
    pg_user: str
    pg_password: str = field(repr=False)
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_mechanism: str = "SCRAM-SHA-512"
    kafka_principals: Mapping[str, Principal] = field(default_factory=dict)
    s3_endpoint_url: str = "http://127.0.0.1:9000"
    s3_access_key: str = field(default="", repr=False)
    s3_secret_key: str = field(default="", repr=False)
    path: Path | None = None

    @classmethod
    def generate(cls, *, pg_host: str, pg_port: int, pg_user: str, kafka_bootstrap: str,
                 s3_endpoint_url: str) -> LocalStackCredentials:
        """New random secrets for a stack on these endpoints."""
        return cls(
            pg_host=pg_host, pg_port=pg_port, pg_user=pg_user, pg_password=new_secret(),
            kafka_bootstrap=kafka_bootstrap,
            kafka_principals={role: Principal(f"ecohub-{role}", new_secret())
                              for role in KAFKA_ROLES},
            s3_endpoint_url=s3_endpoint_url,
            s3_access_key="ecohub-" + secrets.token_hex(8), s3_secret_key=new_secret(),
        )  # fmt: skip

    def principal(self, role: str) -> Principal:
        try:
            return self.kafka_principals[role]
        except KeyError:
            raise ConfigError(
                f"the local stack has no Kafka principal {role!r}; valid: {', '.join(KAFKA_ROLES)}"
            ) from None

    @property
    def pgpass_path(self) -> Path | None:
        """The libpq password file beside the credentials file."""
        return None if self.path is None else self.path.parent / PGPASS_FILE.name

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "postgres": {"host": self.pg_host, "port": self.pg_port, "user": self.pg_user,
                         "password": self.pg_password},
            "kafka": {"bootstrap_servers": self.kafka_bootstrap, "mechanism": self.kafka_mechanism,
                      "principals": {role: {"username": p.username, "password": p.password}
                                     for role, p in self.kafka_principals.items()}},
            "s3": {"endpoint_url": self.s3_endpoint_url, "access_key": self.s3_access_key,
                   "secret_key": self.s3_secret_key},
        }  # fmt: skip

    def write(self, path: Path) -> LocalStackCredentials:
        """Write the file (0600, its folder 0700) and the libpq password file beside it;
        atomically, so a reader never sees half a file. Returns the credentials with ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        written = LocalStackCredentials(**{**self.__dict__, "path": path})
        _write_private(path, json.dumps(self.to_json(), indent=2) + "\n")
        pgpass = written.pgpass_path
        assert pgpass is not None
        _write_private(pgpass, f"{_pgpass_escape(self.pg_host)}:{self.pg_port}:*:"
                               f"{_pgpass_escape(self.pg_user)}:{_pgpass_escape(self.pg_password)}\n")
        return written

    @classmethod
    def read(cls, path: Path) -> LocalStackCredentials:
        """Parse the file; :class:`ConfigError` naming it when it is unreadable or malformed."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            pg, kafka, s3 = data["postgres"], data["kafka"], data["s3"]
            return cls(
                pg_host=str(pg["host"]), pg_port=int(pg["port"]), pg_user=str(pg["user"]),
                pg_password=str(pg["password"]),
                kafka_bootstrap=str(kafka["bootstrap_servers"]),
                kafka_mechanism=str(kafka["mechanism"]),
                kafka_principals={role: Principal(str(p["username"]), str(p["password"]))
                                  for role, p in kafka["principals"].items()},
                s3_endpoint_url=str(s3["endpoint_url"]), s3_access_key=str(s3["access_key"]),
                s3_secret_key=str(s3["secret_key"]), path=path,
            )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"cannot read the local stack's credentials ({type(exc).__name__}); remove the "
                "file and run `python -m infra.stack up` to generate new ones", path=str(path),
            ) from None

    def secret_values(self) -> list[str]:
        """Every secret in the file (for masking and for tests that search outputs)."""
        return [self.pg_password, self.s3_secret_key,
                *(p.password for p in self.kafka_principals.values())]


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    tmp.replace(path)


def _pgpass_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def credentials_path(setting: str, checkout_var: Path = _CHECKOUT_VAR) -> Path | None:
    """The file ``ECOHUB_STACK_CREDENTIALS`` names: ``auto`` is the checkout's
    ``var/secrets/local-stack.json``, ``off`` is none, anything else a path."""
    if setting == "off":
        return None
    if setting == "auto":
        return checkout_var / CREDENTIALS_FILE
    return Path(setting)


def _endpoint(host: str | None, port: int | None) -> tuple[str, int | None]:
    name = (host or "").lower().strip("[]")
    return _LOOPBACK_HOSTS.get(name, name), port


def _same_bootstrap(configured: str, stack: str) -> bool:
    def norm(text: str) -> set[tuple[str, int | None]]:
        out = set()
        for item in text.split(","):
            parts = urlsplit("//" + item.strip())
            out.add(_endpoint(parts.hostname, parts.port))
        return out

    return norm(configured) == norm(stack)


def _same_http(configured: str | None, stack: str) -> bool:
    if not configured:
        return False
    a, b = urlsplit(configured.rstrip("/")), urlsplit(stack.rstrip("/"))
    return (a.scheme, *_endpoint(a.hostname, a.port)) == (b.scheme, *_endpoint(b.hostname, b.port))


def _with_passfile(url: str, creds: LocalStackCredentials) -> str:
    """A PostgreSQL URL of the stack's server without a password gets ``passfile=`` (a path,
    not a secret); any other URL is returned as it is."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgresql") or creds.pgpass_path is None:
        return url
    try:
        endpoint = _endpoint(parts.hostname, parts.port or 5432)
    except ValueError:
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    if (endpoint != _endpoint(creds.pg_host, creds.pg_port) or parts.password is not None
            or any(k in ("password", "passfile") for k, _ in query)):
        return url
    query.append(("passfile", str(creds.pgpass_path)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def apply(settings: Settings) -> Settings:
    """``settings`` with the local stack's credentials filled in where they apply (see the
    module docstring); the same object when nothing applies."""
    path = credentials_path(settings.stack_credentials)
    if settings.env == "production" or path is None or not path.is_file():
        return settings
    creds = LocalStackCredentials.read(path)
    update: dict[str, Any] = {}
    kafka = settings.kafka
    explicit = kafka.model_fields_set & {"security_protocol", "sasl_username", "sasl_mechanism"}
    if not explicit and creds.kafka_principals and _same_bootstrap(
            kafka.bootstrap_servers, creds.kafka_bootstrap):
        publisher, loader = creds.principal("publisher"), creds.principal("loader")
        fill: dict[str, Any] = {
            "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": creds.kafka_mechanism,
            "sasl_username": publisher.username, "sasl_password": SecretStr(publisher.password),
        }
        if kafka.loader_sasl_username is None:
            fill |= {"loader_sasl_username": loader.username,
                     "loader_sasl_password": SecretStr(loader.password)}
        update["kafka"] = kafka.model_copy(update=fill)
    landing = settings.landing
    if (landing.s3_access_key is None and landing.s3_secret_key is None and creds.s3_access_key
            and _same_http(landing.s3_endpoint_url, creds.s3_endpoint_url)):
        update["landing"] = landing.model_copy(update={
            "s3_access_key": SecretStr(creds.s3_access_key),
            "s3_secret_key": SecretStr(creds.s3_secret_key)})
    warehouse = _with_passfile(settings.warehouse_url, creds)
    if warehouse != settings.warehouse_url:
        update["warehouse_url"] = warehouse
    return settings.model_copy(update=update) if update else settings
