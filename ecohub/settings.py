"""Typed configuration of ecohub, read once from ``ECOHUB_*`` variables and an optional file.

Why one object: every component (connectors, publisher, loader, DAGs, CLI) reads the same
validated settings, so a typo fails at start with one clear message instead of half-way
through a sync. Precedence, lowest first: built-in defaults (the embedded stack: SQLite
warehouse and landing directory under ``var/``, Kafka on 127.0.0.1:9092), then the TOML file
named by ``ECOHUB_CONFIG_FILE``, then ``ECOHUB_*`` environment variables.

Nested keys use a double underscore in the environment: ``ECOHUB_TECHPORT__API_KEY`` sets
``portals.techport.api_key``; every portal of the registry (:mod:`ecohub.portals`) has its
block, defaults from its spec. Secrets are :class:`pydantic.SecretStr`, shown as ``***``
everywhere, including ``repr`` and :meth:`Settings.describe`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ecohub import localstack
from ecohub.errors import ConfigError
from ecohub.portals import SPECS_VARIABLE, portal_names, portal_specs
from ecohub.secrets import MIN_SECRET_LENGTH, mask_text

__all__ = [
    "KafkaSettings",
    "LandingSettings",
    "LineageSettings",
    "PortalSettings",
    "Settings",
    "WebhookSettings",
    "env_names",
    "is_loopback",
    "is_tool_variable",
    "load_settings",
    "mask_url",
    "refuse_development_secrets",
    "secret_values",
]

_PREFIX = "ECOHUB_"
# ECOHUB_ variables of the test tools, not settings: ``make acceptance`` exports
# ECOHUB_ACCEPTANCE=1 and a fault run is replayed with ECOHUB_FAULT_SEED=...; a process that
# reads its settings from that environment (the stack's scripts, a sync under test) must not
# refuse them as unknown settings.
_TOOL_VARIABLES = ("ECOHUB_ACCEPTANCE", "ECOHUB_FAULT_")


def is_tool_variable(name: str) -> bool:
    """Whether ``name`` is one of the test tools' ``ECOHUB_`` variables (not a setting: the
    settings loader skips it, and the deployment check does not ask compose to set it)."""
    return name.startswith(_TOOL_VARIABLES)


_UNSAFE_IN_URL = re.compile(r"[\\\x00-\x20\x7f-\x9f]")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
DEV_PII_KEY = "dev-only-pii-key-change-me"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PortalSettings(_Model):
    """Where a portal lives and how politely to talk to it."""

    base_url: str
    auth: Literal["none", "api_key", "oauth2"] = "none"
    api_key: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    page_size: int = Field(default=100, ge=1, le=10_000)
    rate_limit: float = Field(default=20.0, gt=0, description="requests per second")
    timeout: float = Field(default=30.0, gt=0, description="seconds per HTTP request")
    max_retries: int = Field(default=6, ge=0)
    backoff_base: float = Field(default=0.5, ge=0, description="seconds before the first retry")
    backoff_max: float = Field(default=30.0, ge=0, description="cap on any wait, Retry-After too")
    max_response_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    max_pages: int = Field(default=100_000, ge=1, description="pages per stream and run")
    max_run_seconds: float = Field(
        default=6 * 3600.0, gt=0, description="wall-clock seconds per stream and run"
    )
    xml_max_elements: int = Field(
        default=2_000_000, ge=1, description="elements in one XML response"
    )
    lookback_seconds: int = Field(default=3600, ge=0)
    schedule: str | None = Field(default="@hourly", description="Airflow schedule of its sync DAG")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return _plain_url(value).rstrip("/")


class KafkaSettings(_Model):
    """Where the brokers are, the hub's topics, and who the hub is to Kafka.

    ``sasl_username``/``sasl_password`` is the principal of every client the hub builds (it
    publishes); the loader's clients use ``loader_sasl_username``/``loader_sasl_password`` when
    set -- on an ACL'd cluster the only principal allowed to read the restricted PII topic.
    """

    bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = "ecohub"
    partitions: int = Field(default=3, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    retention_ms: int = Field(default=7 * 24 * 3600 * 1000, ge=-1)
    consumer_group: str = "ecohub-loader"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    loader_sasl_username: str | None = None
    loader_sasl_password: SecretStr | None = None
    bootstrap_timeout_s: float = Field(
        default=30.0, gt=0, description="seconds a client waits for its first broker connection"
    )

    def principal(self, role: Literal["default", "loader"]) -> tuple[str | None, str | None]:
        """``(username, password)`` of the clients of ``role`` (the loader falls back to the
        default principal when it has none of its own)."""
        if role == "loader" and self.loader_sasl_username:
            secret = self.loader_sasl_password
            return self.loader_sasl_username, secret.get_secret_value() if secret else None
        secret = self.sasl_password
        return self.sasl_username, secret.get_secret_value() if secret else None


class LandingSettings(_Model):
    """Raw landing zone: ``file:///abs/dir`` (embedded default) or ``s3://bucket/prefix``."""

    url: str = "file://var/landing"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str) -> str:
        if not value.startswith(("file://", "s3://")):
            raise ValueError("must start with file:// or s3://")
        return value


class LineageSettings(_Model):
    """Where OpenLineage run events go (``ecohub/lineage.py``).

    ``file`` (the default) appends one JSON event per line to ``file_path`` (by default
    ``<var_dir>/lineage/openlineage.ndjson``): always on, nothing to run, readable by an
    auditor, and loadable into Marquez later. ``http`` posts to an OpenLineage endpoint
    (Marquez, DataHub, OpenMetadata...), ``console`` logs them, ``off`` emits nothing.
    """

    transport: Literal["off", "console", "file", "http"] = "file"
    namespace: str = Field(default="ecohub", min_length=1, description="OpenLineage job namespace")
    file_path: Path | None = None
    url: str | None = Field(default=None, description="base URL of the HTTP transport")
    endpoint: str = "api/v1/lineage"
    api_key: SecretStr | None = None
    timeout: float = Field(default=5.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class WebhookSettings(_Model):
    """The H.OIP push receiver (``ecohub/webhooks.py``): where it listens, the subscription
    secret it verifies deliveries with, and how fresh a delivery must be."""

    host: str = "127.0.0.1"
    port: int = Field(default=8110, ge=0, le=65535)
    secret: SecretStr = SecretStr("dev-hoip-webhook-secret")
    callback_url: str = Field(
        default="http://127.0.0.1:8110/hooks/hoip",
        description="the URL H.OIP delivers to (as the platform reaches this receiver)",
    )
    tolerance_seconds: int = Field(default=300, ge=1, description="max clock distance")
    replay_cache_size: int = Field(default=100_000, ge=100)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)


def _default_portals() -> dict[str, PortalSettings]:
    """One block per registered portal, from its spec (loopback simulator, dev credentials)."""
    return {s.name: PortalSettings.model_validate(s.default_settings()) for s in portal_specs()}


class Settings(_Model):
    """The whole configuration; build it with :func:`load_settings`."""

    var_dir: Path = Path("var")
    warehouse_url: str = "sqlite:///var/warehouse.db"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    env: Literal["development", "production"] | None = Field(
        default=None, description="production refuses development keys and credentials"
    )
    normalize_workers: int | None = Field(
        default=None, ge=0, le=64,
        description="worker processes normalizing a sync's or replay's pages (0: in process; "
                    "default: one per core, at most 4)",
    )
    loader_workers: int = Field(
        default=1, ge=0, le=64,
        description="loader processes of `ecohub consume` and the Airflow load task, members "
                    "of one consumer group (0: about one per core, dividing the partitions)",
    )
    pii_hmac_key: SecretStr = SecretStr(DEV_PII_KEY)
    pii_key_id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9._\-]{1,32}$",
        description="id of the PII key carried by events (default: derived from the key)",
    )
    kafka: KafkaSettings = KafkaSettings()
    landing: LandingSettings = LandingSettings()
    lineage: LineageSettings = LineageSettings()
    webhooks: WebhookSettings = WebhookSettings()
    portals: dict[str, PortalSettings] = Field(default_factory=_default_portals)
    stack_credentials: str = Field(
        default="auto", min_length=1,
        description="the local stack's generated credentials (ecohub/localstack.py): auto "
        "(the checkout's var/secrets/local-stack.json when present), off, or a file path",
    )

    @field_validator("portals")
    @classmethod
    def _known_portals(cls, value: dict[str, PortalSettings]) -> dict[str, PortalSettings]:
        unknown = sorted(set(value) - set(portal_names()))
        if unknown:
            raise ValueError(f"unknown portal(s) {unknown}; valid: {list(portal_names())}")
        return value

    def portal(self, name: str) -> PortalSettings:
        """Settings of one portal; an unknown name fails listing the valid ones."""
        try:
            return self.portals[name]
        except KeyError:
            raise ConfigError(
                f"unknown portal {name!r}; valid portals: {', '.join(sorted(self.portals))}"
            ) from None

    def pii_key_identifier(self) -> str:
        """``pii_key_id``, or ``k-`` and 10 hex digits of an HMAC of a fixed label under the key:
        stable for one key, different after a rotation, and not a hash of the key itself."""
        if self.pii_key_id:
            return self.pii_key_id
        key = self.pii_hmac_key.get_secret_value().encode("utf-8")
        return "k-" + hmac.new(key, b"ecohub pii key id", hashlib.sha256).hexdigest()[:10]

    def describe(self) -> dict[str, Any]:
        """A printable view with every secret masked: secret settings, user-info and password
        parameters in any URL, and any text shaped like a credential."""
        masked: dict[str, Any] = _mask(self.model_dump(mode="python"), secret_values(self))
        return masked


def _plain_url(value: str) -> str:
    """A URL without the forms parsers disagree on, user-info, or a port that is not one."""
    if _UNSAFE_IN_URL.search(value):
        raise ValueError("must not contain backslashes, whitespace or control characters")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise ValueError("has a port that is not a number between 0 and 65535") from None
    if "@" in parts.netloc:
        raise ValueError("must not carry credentials (user-info); use the portal's auth settings")
    if not parts.hostname:
        raise ValueError("has no host")
    return value


def is_loopback(url: str) -> bool:
    """True for a URL whose host is this machine (127.0.0.0/8, ::1, localhost)."""
    host = (urlsplit(url).hostname or "").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_development_secrets(settings: Settings) -> None:
    """In production, or when a portal lives off this machine, the development PII key and the
    simulators' credentials are configuration errors naming the variable to set.

    ``ECOHUB_ENV=development`` allows them off loopback (the compose ``dev`` profile, whose
    simulators run in another container); ``ECOHUB_ENV=production`` refuses them everywhere.
    """
    if settings.env == "development":
        return
    remote = [name for name, p in settings.portals.items() if not is_loopback(p.base_url)]
    if settings.env != "production" and not remote:
        return
    why = "ECOHUB_ENV=production" if settings.env == "production" else (
        f"{', '.join(remote)} off loopback")
    if settings.pii_hmac_key.get_secret_value() == DEV_PII_KEY:
        raise ConfigError(
            f"ECOHUB_PII_HMAC_KEY is the public development key ({why}); set a random key "
            "of 32+ bytes", variable="ECOHUB_PII_HMAC_KEY",
        )
    for portal, field, dev_value in _dev_credentials():
        portal_settings = settings.portals.get(portal)
        if portal_settings is None:
            continue
        if settings.env != "production" and portal not in remote:
            continue
        secret = getattr(portal_settings, field)
        if isinstance(secret, SecretStr):
            secret = secret.get_secret_value()
        if secret == dev_value:
            variable = f"ECOHUB_{portal.upper()}__{field.upper()}"
            raise ConfigError(
                f"{variable} is the simulator's development credential ({why}); set the "
                "portal's real credential", variable=variable,
            )


def _dev_credentials() -> list[tuple[str, str, str]]:
    """``(portal, settings field, value)`` of every simulator credential (from the specs): fine
    on loopback, never to be sent to a real portal."""
    return [(s.name, f, v) for s in portal_specs() for f, v in s.dev_credentials.items()]


def mask_url(url: str) -> str:
    """``postgresql://u:pw@host/db?password=x`` -> ``postgresql://u:***@host/db?password=***``."""
    return mask_text(url)


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold (as configured and URL-decoded), for exact masking
    (:func:`ecohub.secrets.mask_text` masks them wherever they appear)."""
    values: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, SecretStr):
            values.append(node.get_secret_value())
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif hasattr(node, "model_fields"):
            for name in type(node).model_fields:  # type: ignore[attr-defined]
                walk(getattr(node, name))

    walk(settings)
    for url in _urls(settings):
        match = re.search(r"://[^/@:]*:([^@/]+)@", url)
        if match:
            values += [match.group(1), unquote(match.group(1))]
        values += [unquote(v) for v in re.findall(r"(?i)[?&]password=([^&#]+)", url)]
    return [v for v in values if len(v) >= MIN_SECRET_LENGTH]


def _urls(settings: Settings) -> list[str]:
    urls = [settings.warehouse_url, settings.landing.url, settings.landing.s3_endpoint_url or ""]
    return urls + [p.base_url for p in settings.portals.values()]


def _mask(value: Any, known: list[str]) -> Any:
    if isinstance(value, SecretStr):
        return "***"
    if isinstance(value, dict):
        return {k: _mask(v, known) for k, v in value.items()}
    if isinstance(value, Path | str):
        return mask_text(str(value), known)
    return value


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """``ECOHUB_KAFKA__PARTITIONS=6`` -> ``{"kafka": {"partitions": "6"}}``; portals nest under
    ``portals`` (``ECOHUB_TECHPORT__API_KEY``)."""
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(_PREFIX) or name in ("ECOHUB_CONFIG_FILE", SPECS_VARIABLE):
            continue
        if is_tool_variable(name):
            continue
        path = name[len(_PREFIX) :].lower().split("__")
        if path[0] in portal_names():
            path = ["portals", *path]
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name} conflicts with another ECOHUB_ variable")
        node[path[-1]] = value
    return tree


def _defaults_tree() -> dict[str, Any]:
    return {"portals": {k: v.model_dump() for k, v in _default_portals().items()}}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the configuration; raise :class:`ConfigError` naming each bad key."""
    environ = os.environ if environ is None else environ
    tree = _defaults_tree()
    config_file = environ.get("ECOHUB_CONFIG_FILE")
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError("ECOHUB_CONFIG_FILE does not name a readable file", path=str(path))
        try:
            tree = _deep_merge(tree, tomllib.loads(path.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"ECOHUB_CONFIG_FILE is not valid TOML: {exc}", path=str(path)
            ) from exc
    tree = _deep_merge(tree, _from_env(environ))
    try:
        settings = Settings.model_validate(tree)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid ecohub configuration: {problems}") from None
    refuse_development_secrets(settings)
    return localstack.apply(settings)


def env_names() -> list[str]:
    """Every ``ECOHUB_*`` variable ecohub reads (for ``.env.example`` and the compose check)."""
    names = ["ECOHUB_CONFIG_FILE", SPECS_VARIABLE]
    for field_name, info in Settings.model_fields.items():
        annotation = info.annotation
        if field_name == "portals":
            for portal in portal_names():
                names += [
                    f"ECOHUB_{portal.upper()}__{f.upper()}" for f in PortalSettings.model_fields
                ]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += [f"ECOHUB_{field_name.upper()}__{f.upper()}" for f in annotation.model_fields]
        else:
            names.append(f"ECOHUB_{field_name.upper()}")
    return names
