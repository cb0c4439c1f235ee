"""Static checks of ecohub's Docker Compose deployment (docker-compose.yml, .env.example and the
Dockerfile).

Why static and why here: the machines that run ``make test`` have no Docker engine, yet a compose
file drifts silently (a setting added to the code but not to the deployment, a Kafka upgrade made
in one place only). Each rule below is a pure function over plain data (the parsed YAML, the
parsed env file, names taken from the code) that returns human-readable problems, so it can be
tested against a mutated copy and reports exactly what is wrong. Only :func:`project_facts`
knows about ecohub; ``python infra/compose/check.py`` runs every rule and exits 1 on a problem.
"""

from __future__ import annotations

import ast
import fnmatch
import hashlib
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ecohub.errors import ConfigError
from infra.compose.portals import (
    PortalBlock,
    compose_block,
    env_block,
    replace_compose_block,
    replace_env_block,
)

__all__ = [
    "DEPLOYMENT_TEXTS",
    "SCHEMA_SHA256",
    "EnvFile",
    "Facts",
    "InterpolationError",
    "Reset",
    "check_all",
    "depends_on_problems",
    "direct_env_reads",
    "dockerfile_problems",
    "documented_value_problems",
    "environment_of",
    "example_env",
    "expected_defaults",
    "healthcheck_problems",
    "hub_services",
    "interpolate",
    "kafka_problems",
    "landing_problems",
    "load_compose",
    "load_override",
    "missing_setting_problems",
    "override_problems",
    "parse_env_file",
    "pinned_versions",
    "pom_property",
    "port_problems",
    "portal_block_problems",
    "project_facts",
    "published_ports",
    "resolve",
    "scalable_problems",
    "schema_problems",
    "secret_problems",
    "topic_problems",
    "unknown_setting_problems",
    "volume_problems",
    "warehouse_problems",
]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCHEMA_PATH = HERE / "compose-spec.json"
SCHEMA_SHA256 = "89f4bdc4ba651ff024118917a7cdb67d9d78c1af4bab9b12ec2fc85f5b7d90d3"
PREFIX = "ECOHUB_"
# Names that hold credentials whatever the code says (AIRFLOW__CORE__FERNET_KEY, POSTGRES_PASSWORD).
STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY)$")
# Where each stateful image keeps its data; a named volume must be mounted there.
DATA_DIRS = {
    "apache/kafka": "/var/lib/kafka/data",
    "postgres": "/var/lib/postgresql/data",
    "minio/minio": "/data",
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_LINE = re.compile(r"^(?P<comment>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
_URL_PASSWORD = re.compile(r"://[^/:@\s]+:(?P<password>[^@\s]+)@")


# --- reading ------------------------------------------------------------------------------------


def load_compose(path: Path) -> dict[str, Any]:
    """The compose file as data, YAML anchors and ``<<`` merge keys applied as Compose does."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a YAML mapping")
    return data


class Reset:
    """A ``!reset`` (or ``!override``) tag of a Compose override file."""

    def __init__(self, tag: str, value: Any) -> None:
        self.tag, self.value = tag, value


class _OverrideLoader(yaml.SafeLoader):
    """SafeLoader that also reads Compose's merge tags instead of refusing them."""


for _tag in ("!reset", "!override"):
    _OverrideLoader.add_constructor(
        _tag,
        lambda loader, node, _tag=_tag: Reset(
            _tag,
            loader.construct_scalar(node)
            if isinstance(node, yaml.ScalarNode)
            else loader.construct_object(node, deep=True),
        ),
    )


def load_override(path: Path) -> dict[str, Any]:
    """A Compose override file that may use ``!reset``/``!override``."""
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_OverrideLoader)  # noqa: S506
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a YAML mapping")
    return data


@dataclass(frozen=True)
class EnvFile:
    """A dotenv file: ``values`` are the active lines, ``documented`` the ``#NAME=value`` ones."""

    values: dict[str, str] = field(default_factory=dict)
    documented: dict[str, str] = field(default_factory=dict)
    duplicates: tuple[str, ...] = ()

    @property
    def names(self) -> set[str]:
        return set(self.values) | set(self.documented)


def parse_env_file(text: str) -> EnvFile:
    """Parse ``NAME=value`` lines; ``#NAME=value`` lines document a setting left at its default."""
    values: dict[str, str] = {}
    documented: dict[str, str] = {}
    duplicates: list[str] = []
    for line in text.splitlines():
        match = _ENV_LINE.match(line.strip())
        if not match:
            continue
        name, value = match["name"], match["value"].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        target = documented if match["comment"] is not None else values
        if name in values or name in documented:
            duplicates.append(name)
        target[name] = value
    return EnvFile(values, documented, tuple(duplicates))


def environment_of(service: Mapping[str, Any]) -> dict[str, str | None]:
    """A service's ``environment`` as a dict, whether written as a mapping or a list."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {name: value for name, value in pairs}
    return {name: None if value is None else str(value) for name, value in env.items()}


def hub_services(compose: Mapping[str, Any]) -> list[str]:
    """Services built from the hub image (they have ``build``): the ones that run ecohub code."""
    return sorted(name for name, svc in compose.get("services", {}).items() if "build" in svc)


# --- interpolation, as Compose does it -----------------------------------------------------------


class InterpolationError(ConfigError, ValueError):
    """A ``${NAME:?message}`` whose variable is unset or empty, or a malformed expression."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Substitute ``$NAME``, ``${NAME}``, ``${NAME:-default}``, ``${NAME-default}``,
    ``${NAME:?err}``, ``${NAME?err}``, ``${NAME:+alt}``, ``${NAME+alt}`` and ``$$``; defaults may
    nest. Only the branch taken is evaluated, as in Compose."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "$" or i + 1 == len(text):
            out.append(char)
            i += 1
        elif text[i + 1] == "$":
            out.append("$")
            i += 2
        elif text[i + 1] == "{":
            end = _closing_brace(text, i + 1)
            out.append(_expression(text[i + 2 : end], env))
            i = end + 1
        else:
            match = _NAME.match(text, i + 1)
            if not match:
                out.append(char)
                i += 1
                continue
            out.append(env.get(match.group(), ""))
            i = match.end()
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 0
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise InterpolationError(text[start:], "unclosed ${")


def _expression(body: str, env: Mapping[str, str]) -> str:
    match = _NAME.match(body)
    if not match:
        raise InterpolationError(body, "invalid variable name")
    name, rest = match.group(), body[match.end() :]
    value = env.get(name)
    if not rest:
        return value or ""
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            unset = value is None or (op.startswith(":") and value == "")
            if op.endswith("-"):
                return interpolate(arg, env) if unset else str(value)
            if op.endswith("?"):
                if unset:
                    raise InterpolationError(name, interpolate(arg, env) or "required")
                return str(value)
            return "" if unset else interpolate(arg, env)
    raise InterpolationError(name, f"unsupported modifier {rest!r}")


def resolve(node: Any, env: Mapping[str, str]) -> Any:
    """Interpolate every string value of a parsed compose file (keys are left alone, as Compose)."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [resolve(item, env) for item in node]
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    return node


# --- rules ---------------------------------------------------------------------------------------


def schema_problems(compose: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every violation of the Compose Specification schema, with its location."""
    from jsonschema import Draft7Validator

    validator = Draft7Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(compose), key=lambda e: list(map(str, e.path))):
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(f"schema: {where}: {error.message}")
    return problems


def missing_setting_problems(
    required: Iterable[str], compose: Mapping[str, Any], env_file: EnvFile, env_file_name: str
) -> list[str]:
    """Each setting the code reads must reach every hub container and be listed in the env file."""
    problems = []
    services = compose.get("services", {})
    for name in sorted(set(required)):
        for svc in hub_services(compose):
            if name not in environment_of(services[svc]):
                problems.append(f"{name}: missing from the environment of service {svc!r}")
        if name not in env_file.names:
            problems.append(f"{name}: missing from {env_file_name}")
    return problems


def unknown_setting_problems(
    known: Iterable[str], compose: Mapping[str, Any], env_file: EnvFile, env_file_name: str
) -> list[str]:
    """An ``ECOHUB_*`` name nothing reads is a typo (one underscore for two), silently ignored."""
    known = set(known)
    problems = [f"{env_file_name}: {name} appears twice" for name in env_file.duplicates]
    for svc, definition in sorted(compose.get("services", {}).items()):
        for name in sorted(environment_of(definition)):
            if name.startswith(PREFIX) and name not in known:
                problems.append(f"{name}: set for service {svc!r} but ecohub reads no such setting")
    for name in sorted(env_file.names):
        if name.startswith(PREFIX) and name not in known:
            problems.append(f"{name}: in {env_file_name} but ecohub reads no such setting")
    return problems


def documented_value_problems(
    env_file: EnvFile, expected: Mapping[str, str], env_file_name: str
) -> list[str]:
    """A ``#NAME=value`` line must show the value the containers really get while it stays
    commented (the compose default or the code default), so the example never lies."""
    problems = []
    for name, shown in sorted(env_file.documented.items()):
        if name in expected and not _same_value(shown, expected[name]):
            problems.append(
                f"{name}: {env_file_name} shows {shown!r} but the containers get {expected[name]!r}"
            )
    return problems


def _same_value(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def secret_problems(
    compose: Mapping[str, Any], env_file: EnvFile, secrets: Iterable[str], env_file_name: str
) -> list[str]:
    """Credentials come only from .env: no literal or default value in the compose file, no value
    in the committed example, no password written into a URL."""
    secrets = set(secrets)
    problems = []
    for svc, definition in sorted(compose.get("services", {}).items()):
        for name, value in sorted(environment_of(definition).items()):
            if value is None:
                continue
            if (name in secrets or SECRET_NAME.search(name)) and not _pure_reference(value):
                problems.append(
                    f"{name}: service {svc!r} gives a secret a literal or default value"
                )
            for password in _URL_PASSWORD.findall(value):
                if not _pure_reference(password):
                    problems.append(f"{name}: service {svc!r} writes a literal password in a URL")
    for name in sorted(env_file.names):
        value = env_file.values.get(name, env_file.documented.get(name, ""))
        if (name in secrets or SECRET_NAME.search(name)) and value:
            problems.append(f"{name}: {env_file_name} must not carry a secret's value")
    return problems


def _pure_reference(value: str) -> bool:
    """``${NAME}``, ``${NAME:?message}`` or ``${NAME?message}``: nothing but a lookup."""
    return re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*)?\}", value) is not None


def _one_shots(services: Mapping[str, Any]) -> set[str]:
    return {
        target
        for definition in services.values()
        for target, cond in _depends_on(definition).items()
        if cond == "service_completed_successfully"
    }


def _depends_on(service: Mapping[str, Any]) -> dict[str, str | None]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: None for name in deps}
    return {name: (spec or {}).get("condition") for name, spec in deps.items()}


def healthcheck_problems(compose: Mapping[str, Any]) -> list[str]:
    """Long-running services carry a health check and a restart policy; one-shot jobs (awaited
    with ``service_completed_successfully``) must not restart."""
    services = compose.get("services", {})
    one_shots = _one_shots(services)
    problems = []
    for name, definition in sorted(services.items()):
        restart = str(definition.get("restart", "no"))
        if name in one_shots:
            if restart != "no":
                problems.append(f"service {name!r} is a one-shot job but restarts ({restart})")
            continue
        check = definition.get("healthcheck") or {}
        if check.get("disable") or not check.get("test"):
            problems.append(f"service {name!r} is long-running but has no health check")
        if restart == "no":
            problems.append(f"service {name!r} is long-running but has no restart policy")
    return problems


def depends_on_problems(compose: Mapping[str, Any]) -> list[str]:
    """Start order waits for readiness: ``service_healthy`` for servers, completion for jobs, and
    never a service that a profile may leave out."""
    services = compose.get("services", {})
    one_shots = _one_shots(services)
    problems = []
    for name, definition in sorted(services.items()):
        for target, condition in sorted(_depends_on(definition).items()):
            if target not in services:
                problems.append(f"service {name!r} depends on unknown service {target!r}")
                continue
            wanted = "service_completed_successfully" if target in one_shots else "service_healthy"
            if condition != wanted:
                problems.append(
                    f"service {name!r} waits for {target!r} with {condition}, not {wanted}"
                )
            if services[target].get("profiles") and not definition.get("profiles"):
                problems.append(f"service {name!r} depends on {target!r}, which is in a profile")
    return problems


def published_ports(service: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """``(host_ip, host_port, container_port)`` of every port published on a fixed host port."""
    found = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            if port.get("published") not in (None, ""):
                host = str(port.get("host_ip", ""))
                found.append((host, int(port["published"]), int(port["target"])))
            continue
        parts = str(port).split("/")[0].rsplit(":", 2)
        if len(parts) == 3:
            found.append((parts[0], int(parts[1]), int(parts[2])))
        elif len(parts) == 2:
            found.append(("", int(parts[0]), int(parts[1])))
    return found


def scalable_problems(compose: Mapping[str, Any], service: str) -> list[str]:
    """``docker compose up --scale NAME=N`` needs no fixed container name and no fixed host port."""
    definition = compose.get("services", {}).get(service)
    if definition is None:
        return [f"service {service!r} is missing"]
    problems = []
    if "container_name" in definition:
        problems.append(f"service {service!r} has a container_name, so it cannot be scaled")
    for _host, host_port, _target in published_ports(definition):
        problems.append(
            f"service {service!r} publishes fixed host port {host_port}, so it cannot be scaled"
        )
    return problems


def port_problems(compose: Mapping[str, Any], expected: Mapping[str, Iterable[int]]) -> list[str]:
    """Host ports are those of the local stack and bound to loopback only."""
    services = compose.get("services", {})
    problems = []
    for name, definition in sorted(services.items()):
        for host, host_port, _target in published_ports(definition):
            if host != "127.0.0.1":
                problems.append(f"service {name!r} publishes port {host_port} beyond 127.0.0.1")
    for name, ports in sorted(expected.items()):
        have = {p for _h, p, _t in published_ports(services.get(name, {}))}
        for port in sorted(set(ports) - have):
            problems.append(
                f"service {name!r} does not publish host port {port} as the local stack does"
            )
    return problems


def volume_problems(compose: Mapping[str, Any]) -> list[str]:
    """State lives in declared named volumes; bind mounts are read-only configuration."""
    services = compose.get("services", {})
    declared = set((compose.get("volumes") or {}).keys())
    used: set[str] = set()
    problems = []
    for name, definition in sorted(services.items()):
        mounts = [_mount(v) for v in definition.get("volumes") or []]
        for source, _target, read_only in mounts:
            if source.startswith((".", "/", "~")):
                if not read_only:
                    problems.append(f"service {name!r} bind-mounts {source} writable")
            else:
                used.add(source)
                if source not in declared:
                    problems.append(f"service {name!r} mounts undeclared volume {source!r}")
        data_dir = DATA_DIRS.get(str(definition.get("image", "")).split(":")[0])
        named_targets = {t for s, t, _ in mounts if not s.startswith((".", "/", "~"))}
        if data_dir and data_dir not in named_targets:
            problems.append(f"service {name!r} keeps its data in {data_dir} without a named volume")
    for volume in sorted(declared - used):
        problems.append(f"volume {volume!r} is declared but no service mounts it")
    return problems


def _mount(volume: Any) -> tuple[str, str, bool]:
    if isinstance(volume, dict):
        return str(volume.get("source", "")), str(volume["target"]), bool(volume.get("read_only"))
    parts = str(volume).split(":")
    return parts[0], parts[1] if len(parts) > 1 else parts[0], "ro" in parts[2:]


def override_problems(
    compose: Mapping[str, Any], override: Mapping[str, Any], dropped: str
) -> list[str]:
    """An override that drops service ``dropped`` must park it in a profile and release every
    service that waits for it, or ``docker compose up`` refuses the file."""
    services = override.get("services", {})
    problems = []
    if not (services.get(dropped) or {}).get("profiles"):
        problems.append(f"override: service {dropped!r} is not moved to a profile")
    for name, definition in sorted(compose.get("services", {}).items()):
        if dropped not in _depends_on(definition):
            continue
        released = ((services.get(name) or {}).get("depends_on") or {}).get(dropped)
        if not isinstance(released, Reset):
            problems.append(f"override: service {name!r} still waits for {dropped!r}")
    return problems


def kafka_problems(
    compose: Mapping[str, Any], resolved: Mapping[str, Any], service: str, version: str
) -> list[str]:
    """The broker is the local stack's Kafka (same version, KRaft combined mode, no implicit
    topics, SASL on every listener and ACLs enforced), and the hub's bootstrap servers name one
    of its advertised listeners."""
    definition = compose.get("services", {}).get(service)
    if definition is None:
        return [f"service {service!r} is missing"]
    env = environment_of(resolved["services"][service])
    problems = []
    image = str(definition.get("image", ""))
    if image != f"apache/kafka:{version}":
        problems.append(
            f"service {service!r} runs {image}, the local stack runs apache/kafka:{version}"
        )
    if set(str(env.get("KAFKA_PROCESS_ROLES", "")).split(",")) != {"broker", "controller"}:
        problems.append(f"service {service!r} is not a combined KRaft broker+controller")
    if str(env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "true")).lower() != "false":
        problems.append(f"service {service!r} lets clients create topics implicitly")
    if env.get("KAFKA_LOG_DIRS") != DATA_DIRS["apache/kafka"]:
        problems.append(
            f"service {service!r} writes its log to {env.get('KAFKA_LOG_DIRS')}, not its volume"
        )
    protocols = str(env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "")).split(",")
    open_listeners = sorted(item.split(":", 1)[0] for item in protocols
                            if not item.split(":", 1)[-1].startswith("SASL_"))
    if open_listeners:
        problems.append(f"service {service!r} lets clients in without SASL authentication on "
                        f"{', '.join(open_listeners)}")
    if (env.get("KAFKA_AUTHORIZER_CLASS_NAME") != STANDARD_AUTHORIZER
            or str(env.get("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND", "")).lower() != "false"):
        problems.append(f"service {service!r} does not enforce ACLs (StandardAuthorizer, "
                        "allow.everyone.if.no.acl.found=false)")
    advertised = {
        item.split("://", 1)[1]
        for item in str(env.get("KAFKA_ADVERTISED_LISTENERS", "")).split(",")
    }
    for svc in hub_services(compose):
        servers = environment_of(resolved["services"][svc]).get("ECOHUB_KAFKA__BOOTSTRAP_SERVERS")
        for server in str(servers).split(","):
            if server not in advertised:
                problems.append(
                    f"service {svc!r} bootstraps from {server}, not a listener of {service!r}"
                )
    return problems


def landing_problems(
    resolved: Mapping[str, Any], bucket: str, s3_service: str, init: str
) -> list[str]:
    """The hub lands into the local stack's bucket on the compose S3 endpoint, and the init job
    creates that same bucket."""
    services = resolved["services"]
    problems = []
    urls = {}
    for svc in [*hub_services(resolved), init]:
        env = environment_of(services[svc])
        url = urlsplit(str(env.get("ECOHUB_LANDING__URL")))
        urls[svc] = url.netloc
        if url.scheme != "s3" or url.netloc != bucket:
            problems.append(f"service {svc!r} lands into {url.geturl()}, not the bucket {bucket!r}")
        if svc == init:
            continue
        endpoint = urlsplit(str(env.get("ECOHUB_LANDING__S3_ENDPOINT_URL")))
        targets = {t for _h, _p, t in published_ports(services[s3_service])}
        if endpoint.hostname != s3_service or endpoint.port not in targets:
            problems.append(
                f"service {svc!r} uses S3 endpoint {endpoint.geturl()}, not {s3_service!r}"
            )
    return problems


def warehouse_problems(resolved: Mapping[str, Any], service: str, database: str) -> list[str]:
    """The hub's default warehouse URL is the warehouse service (host, database, user, password),
    whose database has the local stack's name."""
    services = resolved["services"]
    pg = environment_of(services[service])
    problems = []
    if pg.get("POSTGRES_DB") != database:
        problems.append(
            f"service {service!r} creates database {pg.get('POSTGRES_DB')!r}, not {database!r}"
        )
    for svc in hub_services(resolved):
        url = urlsplit(str(environment_of(services[svc]).get("ECOHUB_WAREHOUSE_URL")))
        wanted = (service, 5432, "/" + str(pg.get("POSTGRES_DB")), pg.get("POSTGRES_USER"))
        if (url.hostname, url.port, url.path, url.username) != wanted:
            problems.append(
                f"service {svc!r}: warehouse URL does not point at {service!r} as configured"
            )
        if url.password != pg.get("POSTGRES_PASSWORD"):
            problems.append(f"service {svc!r}: warehouse URL password differs from {service!r}'s")
    return problems


def topic_problems(texts: Mapping[str, str], topics: Iterable[str], prefix: str) -> list[str]:
    """Every Kafka topic named in the deployment files is one the code creates."""
    topics = set(topics)
    pattern = re.compile(rf"(?<![\w.]){re.escape(prefix)}\.[a-z0-9_.]+\.v[0-9]+(?![\w.])")
    problems = []
    for where, text in sorted(texts.items()):
        for name in sorted(set(pattern.findall(text)) - topics):
            problems.append(f"{where}: topic {name} is not one ecohub creates")
    return problems


def dockerfile_problems(
    text: str, root: Path, dockerignore: str, airflow_version: str, python: str
) -> list[str]:
    """The hub image builds from the pinned Airflow on the project's Python, copies only what
    exists and is not ignored, puts the DAGs where Airflow reads them, and ends non-root."""
    lines = _dockerfile_instructions(text)
    problems = []
    wanted_base = f"apache/airflow:{airflow_version}-python{python}"
    bases = [args for op, args in lines if op == "FROM"]
    if bases != [wanted_base]:
        problems.append(f"Dockerfile: FROM {bases}, expected exactly {wanted_base}")
    ignored = [p.strip() for p in dockerignore.splitlines() if p.strip() and not p.startswith("#")]
    for op, args in lines:
        if op not in ("COPY", "ADD"):
            continue
        parts = [p for p in args.split() if not p.startswith("--")]
        for source in parts[:-1]:
            if not (root / source).exists():
                problems.append(f"Dockerfile: COPY source {source} does not exist")
            elif _ignored(source, ignored):
                problems.append(f"Dockerfile: COPY source {source} is excluded by .dockerignore")
    if not any(op == "COPY" and args.split()[-1] == "/opt/airflow/dags" for op, args in lines):
        problems.append("Dockerfile: the DAGs are not copied to /opt/airflow/dags")
    users = [args for op, args in lines if op == "USER"]
    if not users or users[-1] in ("root", "0"):
        problems.append("Dockerfile: the image does not end as a non-root user")
    for secret in (".env", ".venv", "var", ".git"):
        if not _ignored(secret, ignored):
            problems.append(f".dockerignore: {secret} is not excluded from the build context")
    return problems


def _dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, args = line.partition(" ")
            found.append((op.upper(), args.strip()))
    return found


def _ignored(path: str, patterns: list[str]) -> bool:
    path = path.rstrip("/")
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern.removeprefix("**/")):
            verdict = not negate
    return verdict


# --- the project's side --------------------------------------------------------------------------


def pom_property(pom: Path, name: str) -> str:
    """A ``<properties>`` value of a Maven pom (the local stack's Kafka version lives in one)."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(pom).getroot().find(f"m:properties/m:{name}", ns)  # noqa: S314 - own file
    value = (node.text or "").strip() if node is not None else ""
    if not value:
        raise ValueError(f"{pom}: no <{name}> property")
    return value


def direct_env_reads(paths: Iterable[Path]) -> dict[str, list[str]]:
    """``ECOHUB_*`` names the code spells out as string literals (``os.environ["ECOHUB_X"]``,
    ``os.getenv("ECOHUB_X")``), with the files that do: reads that bypass the settings model."""
    found: dict[str, list[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"ECOHUB_[A-Z0-9_]+", node.value):
                    found.setdefault(node.value, []).append(str(path))
    return found


@dataclass(frozen=True)
class Facts:
    """What the code and the local stack say the deployment must match."""

    settings: frozenset[str]
    secrets: frozenset[str]
    code_defaults: Mapping[str, str]
    kafka_version: str
    bucket: str
    database: str
    topic_prefix: str
    topics: frozenset[str]
    host_ports: Mapping[str, tuple[int, ...]]
    portals: tuple[PortalBlock, ...] = ()


def project_facts(root: Path = ROOT) -> Facts:
    """Gather the facts from the code: settings, secrets and defaults from ``ecohub.settings``
    plus literal ``ECOHUB_*`` reads anywhere in ecohub/, connectors/ and dags/; topics from
    ``ecohub.catalog`` and ``ecohub.kafka.topic_plan`` (every topic the hub creates); the local
    stack from ``infra/kafka/pom.xml`` and ``infra.stack``."""
    from ecohub import catalog, kafka
    from ecohub.settings import env_names, is_tool_variable, load_settings
    from infra import stack as services

    # the code's own defaults: never the local development stack's picked-up credentials
    defaults = load_settings({"ECOHUB_STACK_CREDENTIALS": "off"})
    names = set(env_names()) | set(direct_env_reads(_iter_python(root, CODE_FOLDERS)))
    names = {name for name in names if not is_tool_variable(name)}  # the tests', not deployed
    secrets = {name for name in names if _is_secret_setting(name)}
    prefix = defaults.kafka.topic_prefix
    topics = {catalog.topic_name(e, prefix) for e in catalog.ENTITY_TYPES}
    topics |= set(kafka.topic_plan(defaults))
    return Facts(
        settings=frozenset(names),
        secrets=frozenset(secrets),
        code_defaults=_code_defaults(defaults, names - secrets),
        kafka_version=pom_property(root / "infra/kafka/pom.xml", "kafka.version"),
        bucket=services.LANDING_BUCKET,
        database=services.PG_DATABASE,
        topic_prefix=prefix,
        topics=frozenset(topics),
        host_ports={
            "kafka": (services.KAFKA_PORT,),
            "warehouse": (services.PG_PORT,),
            "minio": (services.S3_PORT,),
            "simulators": tuple(_port(p.base_url) for p in defaults.portals.values()),
        },
        portals=_portal_blocks(defaults),
    )


def _portal_blocks(defaults: Any) -> tuple[PortalBlock, ...]:
    """The built-in portals as the deployment files show them: the code's defaults, secrets
    empty (they come from .env only), ``base_url`` the simulator of the ``dev`` profile."""
    from ecohub.portals import BUILTIN_PORTALS
    from ecohub.settings import PortalSettings

    blocks = []
    for spec in sorted(BUILTIN_PORTALS, key=lambda s: s.rank):
        base_url = f"http://simulators:{spec.default_port}"
        prefix = f"{PREFIX}{spec.name.upper()}__"
        names = {f: f"{prefix}{f.upper()}" for f in PortalSettings.model_fields}
        values = _code_defaults(defaults, [n for n in names.values() if not _is_secret_setting(n)])
        shown = {f: base_url if f == "base_url" else values.get(name, "")
                 for f, name in names.items()}
        blocks.append(PortalBlock(spec.name, base_url, shown))
    return tuple(blocks)


def portal_block_problems(texts: Mapping[str, str], portals: Iterable[PortalBlock]) -> list[str]:
    """The portals' blocks of docker-compose.yml and .env.example are the generated ones."""
    portals = list(portals)
    expected = {"docker-compose.yml": compose_block(portals), ".env.example": env_block(portals)}
    return [
        f"{name}: the portals' block is not the one generated from the built-in portal specs; "
        "run python -m infra.compose.check --write-portals"
        for name, block in expected.items() if block not in texts[name]
    ]


def write_portal_blocks(root: Path = ROOT, facts: Facts | None = None) -> list[str]:
    """Rewrite the portals' blocks of docker-compose.yml and .env.example; the files changed."""
    portals = (facts or project_facts(root)).portals
    rewrite = {"docker-compose.yml": (replace_compose_block, compose_block(portals)),
               ".env.example": (replace_env_block, env_block(portals))}
    changed = []
    for name, (replace, block) in rewrite.items():
        path = root / name
        text = path.read_text(encoding="utf-8")
        new = replace(text, block)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(name)
    return changed


CODE_FOLDERS = ("ecohub", "connectors", "dags")


def _port(address: str) -> int:
    port = urlsplit(address if "://" in address else f"//{address}").port
    if port is None:
        raise ValueError(f"no port in {address!r}")
    return port


def _setting_field(name: str) -> Any:
    """The pydantic field behind an ``ECOHUB_*`` name, or None for names outside the model."""
    from ecohub.portals import portal_names
    from ecohub.settings import PortalSettings, Settings

    path = name[len(PREFIX) :].lower().split("__")
    model: Any = Settings
    if path[0] in portal_names():
        model, path = PortalSettings, path[1:]
    for part in path[:-1]:
        info = model.model_fields.get(part)
        if info is None:
            return None
        model = info.annotation
    return getattr(model, "model_fields", {}).get(path[-1])


def _is_secret_setting(name: str) -> bool:
    from typing import get_args

    from pydantic import SecretStr

    info = _setting_field(name)
    return info is not None and SecretStr in (info.annotation, *get_args(info.annotation))


def _code_defaults(settings: Any, names: Iterable[str]) -> dict[str, str]:
    from ecohub.portals import portal_names

    tree = settings.model_dump(mode="json")
    defaults = {}
    for name in names:
        path = name[len(PREFIX) :].lower().split("__")
        node: Any = tree["portals"] if path[0] in portal_names() else tree
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None or _setting_field(name) is not None:
            defaults[name] = "" if node is None else str(node)
    return defaults


def check_all(root: Path = ROOT, facts: Facts | None = None) -> list[str]:
    """Every rule against the repository's files."""
    facts = facts or project_facts(root)
    compose = load_compose(root / "docker-compose.yml")
    env_file = parse_env_file((root / ".env.example").read_text(encoding="utf-8"))
    resolved = resolve(compose, example_env(env_file))
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    problems = []
    if hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() != SCHEMA_SHA256:
        problems.append(f"{SCHEMA_PATH.name}: changed since it was vendored (see README.md)")
    problems += schema_problems(compose, schema)
    problems += missing_setting_problems(facts.settings, compose, env_file, ".env.example")
    problems += unknown_setting_problems(facts.settings, compose, env_file, ".env.example")
    problems += documented_value_problems(
        env_file, expected_defaults(compose, env_file, facts), ".env.example"
    )
    problems += secret_problems(compose, env_file, facts.secrets, ".env.example")
    problems += healthcheck_problems(compose) + depends_on_problems(compose)
    problems += scalable_problems(compose, "consumer") + volume_problems(compose)
    problems += port_problems(compose, facts.host_ports)
    problems += kafka_problems(compose, resolved, "kafka", facts.kafka_version)
    problems += landing_problems(resolved, facts.bucket, "minio", "minio-init")
    problems += warehouse_problems(resolved, "warehouse", facts.database)
    override = load_override(HERE / "external-warehouse.yml")
    problems += override_problems(compose, override, "warehouse")
    texts = {p: (root / p).read_text(encoding="utf-8") for p in DEPLOYMENT_TEXTS}
    problems += topic_problems(texts, facts.topics, facts.topic_prefix)
    problems += portal_block_problems(
        {p: (root / p).read_text(encoding="utf-8") for p in ("docker-compose.yml", ".env.example")},
        facts.portals,
    )
    airflow, python = pinned_versions(root)
    problems += dockerfile_problems(
        (root / "Dockerfile").read_text(encoding="utf-8"),
        root,
        (root / ".dockerignore").read_text(encoding="utf-8"),
        airflow,
        python,
    )
    return problems


def pinned_versions(root: Path) -> tuple[str, str]:
    """``(apache-airflow pin of requirements.txt, lowest Python of pyproject.toml)``."""
    import tomllib

    pins = {}
    for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            pins[name.strip().lower()] = version.split("#")[0].strip()
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    python = re.search(r">=\s*([0-9]+\.[0-9]+)", project["requires-python"])
    if "apache-airflow" not in pins or python is None:
        raise ValueError("requirements.txt must pin apache-airflow and pyproject.toml a Python")
    return pins["apache-airflow"], python.group(1)


DEPLOYMENT_TEXTS = ("docker-compose.yml", ".env.example", "docs/deploy.md")


def example_env(env_file: EnvFile) -> dict[str, str]:
    """The example's values with each empty required secret filled, so it resolves as a real
    ``.env`` would."""
    return {name: value or f"example-{name.lower()}" for name, value in env_file.values.items()}


def expected_defaults(
    compose: Mapping[str, Any], env_file: EnvFile, facts: Facts
) -> dict[str, str]:
    """The value a container gets for each setting left unset in .env: the compose default
    where the compose file gives one, else the code's default. Settings whose compose value
    cannot be computed without a secret are left out. (Every hub service gets the same block,
    which :func:`missing_setting_problems` checks, so the first one speaks for all.)"""
    env = {name: value for name, value in env_file.values.items() if value}
    expected = {}
    for svc in hub_services(compose)[:1]:
        for name, raw in environment_of(compose["services"][svc]).items():
            if not name.startswith(PREFIX):
                continue
            if raw is None:
                if name in facts.code_defaults:
                    expected[name] = facts.code_defaults[name]
                continue
            try:
                expected[name] = interpolate(raw, {k: v for k, v in env.items() if k != name})
            except InterpolationError:  # needs a secret that the example leaves empty
                continue
    return expected


def _iter_python(root: Path, folders: Iterable[str]) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((root / folder).rglob("*.py"))


def main(argv: list[str] | None = None) -> int:
    """Print every problem; exit 1 if there is one (a new setting goes into ``x-ecohub-env`` of
    docker-compose.yml and into .env.example). ``--write-portals`` first rewrites the portals'
    blocks from the built-in portal specs."""
    if "--write-portals" in (sys.argv[1:] if argv is None else argv):
        for name in write_portal_blocks():
            print(f"portals' block rewritten: {name}")
    problems = check_all()
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)" if problems else "deployment check: OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
