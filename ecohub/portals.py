"""The portal registry: one :class:`PortalSpec` per portal, from which everything else derives.

Why: a portal used to be spelled in some thirty places (settings, connectors, normalizers, the
resolver's source rank, catalog entities, simulators, schemas, compose files). Now a portal is
one registered spec; settings (``ECOHUB_<PORTAL>__*``), the connector and mapping lookups,
entity resolution's source rank, the catalog's entities and topics, the DAGs, the CLI's choices,
the staging tables, the schemas' ``portal`` enums and the deployment blocks all read it.

Standard library only (its one project import, :mod:`ecohub.errors`, is standard library only
too), so DAG files may read it at parse time and every layer may import it without a cycle.
Code is named, never imported, here: ``"module:attr"`` strings resolved on use
(:func:`resolve_ref`), so the spec of a development-only simulator costs the runtime nothing.

Where specs come from: the built-in three (:data:`BUILTIN_PORTALS`), then the specs named by
``ECOHUB_PORTAL_SPECS`` (``"package.module:SPEC,..."``: a portal kept outside this repository,
registered in every process that imports the hub: CLI, DAG processor, workers), then
:func:`register_portal` calls (tests).

Adding a portal (see ``docs/connectors.md``, "A fourth portal")::

    register_portal(PortalSpec(
        name="labnet", title="LabNet", entities=("document", "organization"),
        default_port=8104, auth="api_key", dev_credentials={"api_key": "dev-labnet-key"},
        connector="connectors.labnet:LabnetConnector", mapping="ecohub.normalize.labnet",
        simulator="simulators.labnet:LabnetPortal", rank=3,
        scales={"small": {"papers": 100}, "real": {"papers": 20_000}},
    ))
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ecohub.errors import ConfigError

__all__ = [
    "AUTH_KINDS",
    "BUILTIN_PORTALS",
    "SPECS_VARIABLE",
    "PortalSpec",
    "adopt_portals",
    "portal_names",
    "portal_spec",
    "portal_specs",
    "register_from_environment",
    "register_portal",
    "resolve_ref",
    "spell_portal_sets",
    "unregister_portal",
]

AuthKind = Literal["none", "api_key", "oauth2"]
AUTH_KINDS: tuple[str, ...] = ("none", "api_key", "oauth2")
SPECS_VARIABLE = "ECOHUB_PORTAL_SPECS"
_NAME = re.compile(r"^[a-z][a-z0-9]{1,30}$")
_REF = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$")
# the credential each auth kind needs, and the settings field holding it
_CREDENTIAL_FIELDS = {"none": (), "api_key": ("api_key",), "oauth2": ("client_id", "client_secret")}


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class PortalSpec:
    """Everything the hub needs to know about one portal, and where its code lives.

    * ``name``: lower-case letters and digits; the ``ECOHUB_<NAME>__*`` settings prefix, the
      ``stg_<name>`` staging table, the ``<name>:`` entity-key prefix, the schemas' enum value.
    * ``entities``: the canonical entity types its mapping produces (the sync DAG's Assets).
    * ``default_port``: where its simulator listens; the default ``base_url`` is loopback there.
    * ``auth`` and ``dev_credentials``: the settings fields of the simulator's credentials
      (refused in production and off loopback); ``defaults``: any other default setting.
    * ``connector`` (``"module:Class"``), ``mapping`` (a module registering its mappers with
      :func:`ecohub.normalize.mapping.register` on import), ``simulator`` (``"module:Class"``
      called as ``cls(seed, scale)``, development only; empty when there is none).
    * ``rank``: the source precedence when golden records pick an attribute (lower wins).
    * ``scales``: the simulator's initial record counts per scale and resource (``xl`` is
      derived: ten times ``real``).
    """

    name: str
    title: str
    entities: tuple[str, ...]
    default_port: int
    connector: str
    mapping: str
    rank: int
    auth: AuthKind = "none"
    dev_credentials: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    simulator: str = ""
    scales: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise ConfigError(f"invalid portal spec {self.name!r}: {'; '.join(problems)}")
        object.__setattr__(self, "entities", tuple(self.entities))
        object.__setattr__(self, "dev_credentials", _frozen(self.dev_credentials))
        object.__setattr__(self, "defaults", _frozen(self.defaults))
        object.__setattr__(
            self, "scales", _frozen({k: _frozen(v) for k, v in self.scales.items()})
        )

    def _problems(self) -> list[str]:
        problems = []
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            problems.append("name must be 2-31 lower-case letters/digits, starting with a letter")
        if not self.entities:
            problems.append("entities must name at least one entity type")
        if not 0 < self.default_port < 65536:
            problems.append("default_port must be in 1..65535")
        if self.auth not in AUTH_KINDS:
            problems.append(f"auth must be one of {', '.join(AUTH_KINDS)}")
        for label, ref in (("connector", self.connector), ("mapping", self.mapping),
                           ("simulator", self.simulator)):
            if (ref or label != "simulator") and not _REF.match(ref or ""):
                problems.append(f"{label} must be a 'module' or 'module:attr' reference")
        if ":" in self.mapping:
            problems.append("mapping names a module, without ':attr'")
        unknown = sorted(set(self.dev_credentials) - set(_CREDENTIAL_FIELDS.get(self.auth, ())))
        if unknown:
            problems.append(f"dev_credentials {unknown} are not fields of auth {self.auth!r}")
        return problems

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable, so worker processes can adopt the parent's registry (read-only mapping
        views do not pickle: they travel as plain dicts)."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        fields["dev_credentials"] = dict(self.dev_credentials)
        fields["defaults"] = dict(self.defaults)
        fields["scales"] = {k: dict(v) for k, v in self.scales.items()}
        return (_spec_from_fields, (fields,))

    @property
    def default_base_url(self) -> str:
        return f"http://127.0.0.1:{self.default_port}"

    @property
    def env_prefix(self) -> str:
        """``ECOHUB_<NAME>__``: the environment prefix of its settings."""
        return f"ECOHUB_{self.name.upper()}__"

    def default_settings(self) -> dict[str, Any]:
        """The portal's default settings block (plain values; secrets as text)."""
        return {"base_url": self.default_base_url, "auth": self.auth, **self.defaults,
                **self.dev_credentials}

    def scale(self, scale: str) -> dict[str, int]:
        """The simulator's initial sizes at ``scale`` (``xl``: ten times ``real``)."""
        if scale == "xl" and "xl" not in self.scales and "real" in self.scales:
            return {k: v * 10 for k, v in self.scales["real"].items()}
        return dict(self.scales.get(scale, {}))


def _spec_from_fields(fields: dict[str, Any]) -> PortalSpec:
    return PortalSpec(**fields)


_SPECS: dict[str, PortalSpec] = {}
# by rank; recomputed on every change so the lookups on the hot path (per event) are a read
_ORDERED: tuple[PortalSpec, ...] = ()
_NAMES: tuple[str, ...] = ()


def _reorder() -> None:
    global _ORDERED, _NAMES
    _ORDERED = tuple(sorted(_SPECS.values(), key=lambda s: s.rank))
    _NAMES = tuple(s.name for s in _ORDERED)


def register_portal(spec: PortalSpec, *, replace: bool = False) -> PortalSpec:
    """Add ``spec`` to the registry (``replace``: allow re-registering the same name).

    Refuses a second portal with the same name, default port or rank, so two portals never
    share a simulator port or tie when golden records pick attributes.
    """
    if not isinstance(spec, PortalSpec):
        raise ConfigError(f"register_portal expects a PortalSpec, got {type(spec).__name__}")
    if spec.name in _SPECS and not replace:
        raise ConfigError(f"portal {spec.name!r} is already registered")
    for other in _SPECS.values():
        if other.name == spec.name:
            continue
        if other.default_port == spec.default_port:
            raise ConfigError(f"portal {spec.name!r}: default_port {spec.default_port} is "
                              f"already used by {other.name!r}")
        if other.rank == spec.rank:
            raise ConfigError(f"portal {spec.name!r}: rank {spec.rank} is already used by "
                              f"{other.name!r}")
    _SPECS[spec.name] = spec
    _reorder()
    return spec


def adopt_portals(specs: Iterable[PortalSpec]) -> list[PortalSpec]:
    """Register each of ``specs`` not registered as it is (a worker process adopting its
    parent's :func:`portal_specs`, including portals a test or plugin registered at run time);
    the ones newly registered."""
    adopted = []
    for spec in specs:
        if _SPECS.get(spec.name) != spec:
            adopted.append(register_portal(spec, replace=True))
    return adopted


def unregister_portal(name: str) -> None:
    """Remove a registered portal (for tests that register a temporary one)."""
    portal_spec(name)
    del _SPECS[name]
    _reorder()


def portal_spec(name: str) -> PortalSpec:
    """The spec of ``name``; an unknown name fails listing the valid ones."""
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown portal {name!r}; valid portals: {', '.join(sorted(_SPECS))}"
        ) from None


def portal_specs() -> tuple[PortalSpec, ...]:
    """Every registered spec, by rank (the built-ins: Stinet, Techport, H.OIP)."""
    return _ORDERED


def portal_names() -> tuple[str, ...]:
    """Every registered portal name, by rank."""
    return _NAMES


def resolve_ref(ref: str) -> Any:
    """Import what ``"module:attr"`` names (``"module"``: the module itself)."""
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr) if attr else module
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load {ref!r}: {exc}") from exc


# ---- the portal set as committed files spell it ----------------------------------------------

# a JSON array of two or more quoted names: ["stinet", "techport", "hoip"] (any layout)
_JSON_SET = re.compile(r'\[(\s*)"([a-z0-9]+)"((?:\s*,\s*"[a-z0-9]+")+)(\s*)\]')
# a regex alternation of two or more names: (stinet|techport|hoip) or (?:stinet|techport|hoip)
_REGEX_SET = re.compile(r"\((\?:)?([a-z0-9]+(?:\|[a-z0-9]+)+)\)")


def spell_portal_sets(text: str, names: tuple[str, ...] | None = None) -> str:
    """``text`` (a JSON Schema, an expectation suite) with every spelling of the portal set
    naming ``names`` (default: the registered portals, by rank) instead.

    A spelling of the portal set is a JSON array, or a regular-expression alternation inside a
    pattern, of two or more portal names (built-in or registered) and nothing else. The
    committed files spell the built-in portals (``python -m ecohub.contract check`` says when
    they drift); the loaders call this, so a portal registered at run time is in every enum,
    pattern and value set the contract and the quality gate apply.
    """
    names = portal_names() if names is None else names
    known = {spec.name for spec in BUILTIN_PORTALS} | set(_SPECS) | set(names)

    def json_set(match: re.Match[str]) -> str:
        found = re.findall(r'"([a-z0-9]+)"', match.group(0))
        if not set(found) <= known:
            return match.group(0)
        separator = re.match(r'\s*,\s*', match.group(3))
        joiner = separator.group(0) if separator else ", "
        inner = joiner.join(f'"{name}"' for name in names)
        return f"[{match.group(1)}{inner}{match.group(4)}]"

    def regex_set(match: re.Match[str]) -> str:
        if not set(match.group(2).split("|")) <= known:
            return match.group(0)
        return f"({match.group(1) or ''}{'|'.join(names)})"

    return _REGEX_SET.sub(regex_set, _JSON_SET.sub(json_set, text))


# ---- the built-in portals ------------------------------------------------------------------

BUILTIN_PORTALS: tuple[PortalSpec, ...] = (
    PortalSpec(
        name="stinet",
        title="Stinet",
        entities=("document", "research_project", "person", "organization"),
        default_port=8101,
        connector="connectors.stinet:StinetConnector",
        mapping="ecohub.normalize.stinet",
        simulator="simulators.stinet:StinetPortal",
        rank=0,
        scales={
            "small": {"documents": 400, "tasks": 120, "experts": 80, "laboratories": 30,
                      "organizations": 40},
            "real": {"documents": 150_000, "tasks": 4_500, "experts": 626, "laboratories": 134,
                     "organizations": 208},
        },
    ),
    PortalSpec(
        name="techport",
        title="Techport",
        entities=("technology_offer", "technology_demand", "organization", "person",
                  "research_project"),
        default_port=8102,
        connector="connectors.techport:TechportConnector",
        mapping="ecohub.normalize.techport",
        simulator="simulators.techport:TechportPortal",
        rank=1,
        auth="api_key",
        dev_credentials={"api_key": "dev-techport-key"},
        scales={
            "small": {"cong-nghe": 300, "nhu-cau": 120, "nha-cung-cap": 60, "tu-van": 80,
                      "tim-doi-tac": 40},
            "real": {"cong-nghe": 18_600, "nhu-cau": 6_000, "nha-cung-cap": 2_370,
                     "tu-van": 3_000, "tim-doi-tac": 660},
        },
    ),
    PortalSpec(
        name="hoip",
        title="H.OIP",
        entities=("startup_project", "organization", "programme", "challenge",
                  "support_application", "person"),
        default_port=8103,
        connector="connectors.hoip:HoipConnector",
        mapping="ecohub.normalize.hoip",
        simulator="simulators.hoip:HoipPortal",
        rank=2,
        auth="oauth2",
        dev_credentials={"client_secret": "dev-hoip-secret"},
        defaults={"client_id": "ecohub"},
        scales={
            "small": {"startup-projects": 120, "organizations": 50, "programs": 12,
                      "challenges": 20, "support-applications": 150},
            "real": {"startup-projects": 2_000, "organizations": 360, "programs": 60,
                     "challenges": 180, "support-applications": 3_200},
        },
    ),
)



def register_from_environment(environ: Mapping[str, str] | None = None) -> list[PortalSpec]:
    """Register the specs named by ``ECOHUB_PORTAL_SPECS`` (comma-separated ``module:ATTR``
    references to :class:`PortalSpec` objects); the ones newly registered. Idempotent: a spec
    already registered unchanged is skipped. A bad reference fails naming the variable."""
    environ = os.environ if environ is None else environ
    registered = []
    for ref in (r.strip() for r in environ.get(SPECS_VARIABLE, "").split(",")):
        if not ref:
            continue
        try:
            spec = resolve_ref(ref)
        except ConfigError as exc:
            raise ConfigError(f"{SPECS_VARIABLE}: {exc.message}", variable=SPECS_VARIABLE) from exc
        if not isinstance(spec, PortalSpec):
            raise ConfigError(f"{SPECS_VARIABLE}: {ref!r} is a {type(spec).__name__}, not a "
                              "PortalSpec", variable=SPECS_VARIABLE)
        if _SPECS.get(spec.name) != spec:
            registered.append(register_portal(spec))
    return registered


for _spec in BUILTIN_PORTALS:
    register_portal(_spec)
register_from_environment()
