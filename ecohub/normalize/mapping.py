"""What a portal's mapping module builds on: :func:`register` (declare a mapper for streams),
:class:`MapContext` (one record being mapped: typed value readers, issues, the record builder)
and the table of registered mappers that :mod:`ecohub.normalize.registry` dispatches on.

Why apart from the dispatcher: a mapping module (``ecohub/normalize/techport.py``, or a new
portal's, named by the ``mapping`` of its spec in :mod:`ecohub.portals`) imports this module
only; the dispatcher imports the mapping modules on first use. The graph is one-way:
registry -> mapping modules -> mapping (no module imports the one that loads it).
See :mod:`ecohub.normalize.registry` for the rules every mapper follows.
"""


from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from ecohub.contract import entity_schema
from ecohub.errors import EcohubError, NormalizationError
from ecohub.normalize.addresses import parse_address
from ecohub.normalize.dates import DateValue, epoch_ms, parse_date
from ecohub.normalize.fields import map_fields
from ecohub.normalize.identifiers import Identifier
from ecohub.normalize.money import parse_money
from ecohub.normalize.names import PersonName, split_person_name
from ecohub.normalize.orgnames import OrgName, parse_org_name
from ecohub.normalize.pii import ContactTokens
from ecohub.normalize.taxcodes import normalize_tax_code
from ecohub.normalize.text import clean_optional, describe_json, fold, is_text_like, type_name
from ecohub.portals import portal_names
from ecohub.records import CanonicalRecord, Operation, SourceRecord

__all__ = [
    "MapContext",
    "Mapper",
    "mapper_for",
    "register",
    "register_stream_resolver",
    "registered_mappers",
    "skeleton",
    "stream_of",
]

Mapper = Callable[["MapContext"], list[CanonicalRecord]]
_REGISTRY: dict[tuple[str, str], tuple[tuple[str, ...], Mapper, dict[str, str]]] = {}
# portal -> function giving the real stream of a record (H.OIP's change feed names a resource)
_STREAM_RESOLVERS: dict[str, Callable[[SourceRecord], str]] = {}
T = TypeVar("T")


def _stream_key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace("/", "_")


def register(
    portal: str, entity_types: str | tuple[str, ...], *streams: str,
    id_formats: dict[str, str] | None = None,
) -> Callable[[Mapper], Mapper]:
    """Declare ``mapper`` as the one for ``portal`` and each of ``streams`` (aliases).

    ``entity_types`` names the primary entity type first; a delete of the stream yields one
    delete per listed type (for streams whose records can map to several types, or that yield
    derived entities: see each portal module). ``id_formats`` gives, per entity type, how the
    source id is written in the entity key (``"lab-{}"``) when two resources of one portal
    map to the same entity type and their ids could collide.
    """
    types = (entity_types,) if isinstance(entity_types, str) else entity_types

    def decorator(mapper: Mapper) -> Mapper:
        for stream in streams:
            key = (portal, _stream_key(stream))
            if key in _REGISTRY and _REGISTRY[key][1] is not mapper:
                raise ValueError(f"stream {portal}/{stream} registered twice")
            _REGISTRY[key] = (types, mapper, dict(id_formats or {}))
        return mapper

    return decorator


def register_stream_resolver(portal: str, resolver: Callable[[SourceRecord], str]) -> None:
    _STREAM_RESOLVERS[portal] = resolver


def skeleton(entity_type: str) -> dict[str, Any]:
    """Every property of the entity schema, empty (``[]`` for arrays, else ``None``)."""
    names, arrays = _skeleton_shape(entity_type, portal_names())
    data: dict[str, Any] = dict.fromkeys(names)
    for name in arrays:
        data[name] = []
    return data


@cache
def _skeleton_shape(entity_type: str, portals: tuple[str, ...]) -> tuple[tuple[str, ...],
                                                                         tuple[str, ...]]:
    """The entity schema's property names in order, and those that are arrays: read once per
    schema (as the schema itself is loaded), not once per record (a few % of a worker)."""
    properties = entity_schema(entity_type)["properties"]
    return (tuple(properties),
            tuple(name for name, spec in properties.items() if spec.get("type") == "array"))


def mapper_for(portal: str, stream: str) -> tuple[tuple[str, ...], Mapper, dict[str, str]] | None:
    """``(entity types, mapper, id formats)`` registered for ``portal``/``stream`` (loosely
    matched: ``startup-projects`` = ``startup_projects``), or None."""
    return _REGISTRY.get((portal, _stream_key(stream)))


def stream_of(record: SourceRecord) -> str:
    """The stream a record maps as (a portal's stream resolver may name another one)."""
    resolver = _STREAM_RESOLVERS.get(record.portal)
    return resolver(record) if resolver else record.stream


def registered_mappers() -> dict[tuple[str, str], tuple[str, ...]]:
    """``(portal, stream key) -> entity types`` of every registered mapper."""
    return {key: found[0] for key, found in _REGISTRY.items()}


@dataclass
class MapContext:
    """One source record being mapped: its data, PII tokenizer, and collected issues."""

    record: SourceRecord
    pii: ContactTokens
    entity_type: str
    issues: list[dict[str, Any]] = field(default_factory=list)
    id_formats: dict[str, str] = field(default_factory=dict)

    @property
    def data(self) -> dict[str, Any]:
        return self.record.data

    # ----------------------------------------------------------------- issues and types
    def issue(self, name: str, kind: str, reason: str, value: str | None) -> None:
        """Record an unusable value of field ``name`` (the field itself becomes null)."""
        self.issues.append({"field": name, "kind": kind, "reason": reason, "value": value})

    def _text_like(self, name: str, raw: Any) -> bool:
        """True for a string/number; for an object, list or boolean: a ``type`` issue, False."""
        if raw is None or is_text_like(raw):
            return True
        self.issue(name, "type", f"expected text, got a JSON {type_name(raw)}",
                   describe_json(raw))
        return False

    # ----------------------------------------------------------------- required values
    def require(self, name: str, value: Any = None) -> str:
        """A required text value, cleaned; raises when missing, blank or not text."""
        raw = self.data.get(name) if value is None else value
        if not is_text_like(raw) and raw is not None:
            raise NormalizationError(
                f"required field {name!r} must be text, got a JSON {type_name(raw)}",
                field=name, value=describe_json(raw), ref=self.record.ref,
            )
        text = clean_optional(raw)
        if text is None:
            raise NormalizationError(
                f"required field {name!r} is missing or empty", field=name, value=raw,
                ref=self.record.ref,
            )
        return text

    def required_date(self, name: str, raw: Any = None) -> DateValue:
        raw = self.data.get(name) if raw is None else raw
        try:
            if not is_text_like(raw):
                raise NormalizationError(f"expected a date, got a JSON {type_name(raw)}")
            return parse_date(raw)
        except NormalizationError as exc:
            raise NormalizationError(
                f"required date {name!r}: {exc.message}", field=name,
                value=describe_json(raw), ref=self.record.ref,
            ) from None

    # ----------------------------------------------------------------- optional values
    def _optional(
        self, name: str, raw: Any, parse: Callable[[Any], T], kind: str
    ) -> T | None:
        if not self._text_like(name, raw) or clean_optional(raw) is None:
            return None
        try:
            return parse(raw if isinstance(raw, str) else str(raw))
        except EcohubError as exc:
            self.issue(name, kind, exc.message, clean_optional(raw))
            return None

    def text(self, name: str, raw: Any = None) -> str | None:
        """Optional free text, cleaned, with embedded emails/phones replaced by tokens."""
        raw = self.data.get(name) if raw is None else raw
        return self.pii.text(raw) if self._text_like(name, raw) else None

    def plain(self, name: str, raw: Any = None) -> str | None:
        """Optional short text (names, codes): cleaned, not scrubbed."""
        raw = self.data.get(name) if raw is None else raw
        return clean_optional(raw) if self._text_like(name, raw) else None

    def date(self, name: str, raw: Any = None) -> dict[str, Any] | None:
        raw = self.data.get(name) if raw is None else raw
        parsed = self._optional(name, raw, parse_date, "date")
        return parsed.to_dict() if parsed else None

    def money(self, name: str, raw: Any = None) -> dict[str, Any] | None:
        raw = self.data.get(name) if raw is None else raw
        parsed = self._optional(name, raw, parse_money, "money")
        return parsed.to_dict() if parsed else None

    def person(self, name: str, raw: Any = None) -> dict[str, Any] | None:
        raw = self.data.get(name) if raw is None else raw
        parsed = self._optional(name, raw, split_person_name, "person_name")
        if parsed is None:
            return None
        self._flag_mixed_script(name, parsed)
        return parsed.to_dict()

    def required_person(self, name: str) -> dict[str, Any]:
        """A person name that must be there (an expert's own name); raises when unusable."""
        parsed = split_person_name(self.require(name))
        self._flag_mixed_script(name, parsed)
        return parsed.to_dict()

    def organization_name(self, name: str) -> OrgName:
        """The record's own organization name (required), legal form recognised."""
        parsed = parse_org_name(self.require(name))
        self._flag_mixed_script(name, parsed)
        return parsed

    def _flag_mixed_script(self, name: str, parsed: PersonName | OrgName) -> None:
        if parsed.mixed_script:
            self.issue(name, "homoglyph", "Latin name with Cyrillic/Greek letters that have no "
                       "Latin look-alike (kept as served)", parsed.as_served)

    def address(self, name: str, raw: Any = None) -> dict[str, Any] | None:
        raw = self.data.get(name) if raw is None else raw
        parsed = self._optional(name, raw, parse_address, "address")
        return parsed.to_dict() if parsed else None

    def tax_code(self, name: str, raw: Any = None) -> dict[str, Any] | None:
        raw = self.data.get(name) if raw is None else raw
        if not self._text_like(name, raw) or clean_optional(raw) is None:
            return None
        code = normalize_tax_code(raw)
        if not code.valid:
            self.issue(name, "tax_code", f"tax code: {code.reason}", code.text)
        return code.to_dict()

    def identifier(self, name: str, raw: Any, check: Callable[[Any], Identifier]) -> str | None:
        """A compact ISBN/ISSN, or null with an issue (kind ``isbn``/``issn``) naming why."""
        if not self._text_like(name, raw) or clean_optional(raw) is None:
            return None
        found = check(str(raw))
        if not found.valid:
            self.issue(name, found.kind, found.reason or found.kind, found.text)
        return found.value

    def fields(self, raw: Any, name: str = "fields") -> list[dict[str, Any]]:
        """Field labels mapped to the canonical classification; an unknown label is kept
        (``code`` null) with a ``taxonomy`` issue, a non-text item is left out with an issue."""
        items = raw if isinstance(raw, list) else [raw]
        labels = [item for item in items if self._text_like(name, item)]
        mapped = [f.to_dict() for f in map_fields(self.record.portal, labels)]
        for entry in mapped:
            if entry["code"] is None:
                self.issue(name, "taxonomy", "unknown field label", str(entry["source_label"]))
        return mapped

    def integer(self, name: str, raw: Any = None) -> int | None:
        raw = self.data.get(name) if raw is None else raw
        if raw is None or raw == "":
            return None
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            self.issue(name, "integer", "not an integer", describe_json(raw))
            return None
        try:
            number = int(raw)
        except ValueError:
            self.issue(name, "integer", "not an integer", clean_optional(raw))
            return None
        if number < 0:
            self.issue(name, "integer", "negative", str(raw))
            return None
        return number

    def strings(self, raw: Any, name: str = "list") -> list[str]:
        if raw is None:
            return []
        items = raw if isinstance(raw, list) else [raw]
        return [text for text in (clean_optional(i) for i in items
                                  if self._text_like(name, i)) if text]

    def enum(
        self, name: str, raw: Any, table: dict[str, str], default: str | None = None
    ) -> str | None:
        """Map a served label through ``table`` (folded keys); unknown -> ``default`` + issue."""
        text = clean_optional(raw) if self._text_like(name, raw) else None
        if text is None:
            return default
        found = table.get(fold(text))
        if found is None:
            self.issue(name, "taxonomy", "unknown value", text)
            return default
        return found

    # ----------------------------------------------------------------- record building
    def key(self, entity_type: str | None = None, source_id: str | None = None) -> str:
        """Entity key of this record as ``entity_type`` (or of another id of this portal)."""
        entity_type = entity_type or self.entity_type
        if source_id is None:
            source_id = self.id_formats.get(entity_type, "{}").format(self.record.key)
        return f"{self.record.portal}:{entity_type}:{source_id}"

    def common(self, updated: DateValue, created: Any, revision: Any) -> dict[str, Any]:
        """Fields every entity has (``issues`` is filled in by :meth:`build`)."""
        return {
            "portal": self.record.portal,
            "source_id": self.record.key,
            "source_url": None,
            "source_revision": self.integer("revision", revision) if revision is not None else None,
            "created_at": self.date("created", created) if created is not None else None,
            "updated_at": updated.to_dict(),
            "issues": [],
        }

    def entity(self, entity_type: str, updated: DateValue, *, created: Any = None,
               revision: Any = None, **values: Any) -> dict[str, Any]:
        """The complete data of an entity: schema skeleton, common fields, then ``values``."""
        data = skeleton(entity_type)
        data.update(self.common(updated, created, revision))
        unknown = sorted(set(values) - set(data))
        if unknown:
            raise ValueError(f"{entity_type} has no properties {unknown}")
        data.update(values)
        return data

    def required_enum(self, name: str, raw: Any, table: dict[str, str]) -> str:
        """A label that must map through ``table``; raises naming the allowed labels."""
        text = clean_optional(raw) if is_text_like(raw) else None
        found = table.get(fold(text)) if text else None
        if found is None:
            raise NormalizationError(
                f"{name!r} has no known value (expected one of {sorted(set(table.values()))})",
                field=name, value=describe_json(raw), ref=self.record.ref,
            )
        return found

    def build(self, data: dict[str, Any], updated: DateValue, *, revision: Any = None,
              entity_type: str | None = None, source_id: str | None = None,
              restricted: dict[str, Any] | None = None,
              issues: list[dict[str, Any]] | None = None) -> CanonicalRecord:
        """A CanonicalRecord for the mapped ``data`` (operation from the portal's counter)."""
        first = revision is not None and str(revision) == "1"
        operation: Operation = "create" if first else "update"
        data["issues"] = list(self.issues if issues is None else issues)
        entity_key = self.key(entity_type, source_id)
        data["source_id"] = entity_key.split(":", 2)[2]
        return CanonicalRecord(
            entity_type=entity_type or self.entity_type,
            entity_key=entity_key,
            operation=operation,
            version=epoch_ms(updated),
            data=data,
            source=self.record,
            restricted=dict(self.pii.restricted) if restricted is None else restricted,
        )
