"""Dispatch of source records to per-portal mappers.

Why a registry: the pipeline calls one function, :func:`normalize`, for every record of every
portal; each portal's mapping module (the ``mapping`` of its spec in :mod:`ecohub.portals`,
imported here on the portal's first record) declares which streams it maps with
:func:`ecohub.normalize.mapping.register`. Stream names
are matched loosely (``startup-projects`` = ``startup_projects``) and each mapper lists its
aliases (Techport's Vietnamese paths ``cong-nghe`` and the English ``technologies``), so the
connectors' naming does not have to be coordinated character by character.

Rules every mapper follows (enforced by :class:`~ecohub.normalize.mapping.MapContext`):

* ``entity_key`` = ``<portal>:<entity_type>:<source id>``;
* ``version`` = the source's last-change time in epoch milliseconds;
* ``operation``: ``delete`` for deletes (``data`` is ``{}``), ``create`` when the portal's own
  change counter is 1 (``revision``/``phien_ban``/``version``), ``update`` otherwise - and
  ``update`` when the portal has no counter (OAI-PMH): consumers must upsert on both;
* a value that is missing where the schema requires one raises
  :class:`~ecohub.errors.NormalizationError` (field, value, why) and the record is dead-lettered;
  an unusable *optional* value (an impossible date, unreadable money) becomes ``null`` with an
  entry in ``issues`` - the record is kept, the problem visible.
"""

from __future__ import annotations

from typing import Any

from ecohub.errors import ConfigError, NormalizationError
from ecohub.normalize.dates import epoch_ms, parse_date
from ecohub.normalize.mapping import MapContext, mapper_for, registered_mappers, stream_of
from ecohub.normalize.pii import ContactTokens
from ecohub.normalize.text import clean_optional
from ecohub.portals import portal_spec, portal_specs, resolve_ref
from ecohub.records import CanonicalRecord, SourceRecord

__all__ = ["load_mapping", "normalize", "registered_streams"]

_LOADED: set[str] = set()


def load_mapping(portal: str) -> bool:
    """Import the mapping module of ``portal`` (its spec's ``mapping``) once, so its mappers
    are registered; False for a portal that is not registered (its records have no mapper)."""
    if portal in _LOADED:
        return True
    try:
        spec = portal_spec(portal)
    except ConfigError:
        return False
    resolve_ref(spec.mapping)
    _LOADED.add(portal)
    return True


def registered_streams() -> dict[tuple[str, str], str]:
    """``(portal, stream) -> primary entity type`` for every stream name of the registered
    portals (a portal unregistered since its mapping was imported is left out, so the answer
    is the same in every process, workers included)."""
    names = set()
    for spec in portal_specs():
        load_mapping(spec.name)
        names.add(spec.name)
    return {key: types[0] for key, types in registered_mappers().items() if key[0] in names}


_DELETE_TIME_FIELDS = ("deleted_at", "datestamp", "updated_at", "modified", "ngay_cap_nhat",
                       "detected_at")


def _delete(record: SourceRecord, entity_types: tuple[str, ...],
            id_formats: dict[str, str]) -> list[CanonicalRecord]:
    """Deletes: version from the deletion time the record carries, else from its cursor."""
    data = record.data if isinstance(record.data, dict) else {}
    header_value = data.get("header")
    header: dict[str, Any] = header_value if isinstance(header_value, dict) else {}
    candidates = [source.get(name) for source in (data, header) for name in _DELETE_TIME_FIELDS]
    candidates.append(record.cursor)
    for raw in candidates:
        if clean_optional(raw) is None:
            continue
        try:
            when = parse_date(raw)
        except NormalizationError:
            continue
        return [
            CanonicalRecord(
                entity_type=entity_type,
                entity_key=(f"{record.portal}:{entity_type}:"
                            f"{id_formats.get(entity_type, '{}').format(record.key)}"),
                operation="delete",
                version=epoch_ms(when),
                data={},
                source=record,
            )
            for entity_type in entity_types
        ]
    raise NormalizationError(
        "delete carries no deletion time (expected deleted_at/datestamp in data, or a "
        "date-time cursor): its entityversion cannot be derived deterministically",
        field="deleted_at", value=None, ref=record.ref,
    )


def normalize(record: SourceRecord, *, pii_key: bytes) -> list[CanonicalRecord]:
    """Map one source record to its canonical entities (see the module doc for the rules).

    Raises :class:`NormalizationError` for an unknown portal/stream or an unmappable record.
    """
    found = mapper_for(record.portal, stream_of(record)) if load_mapping(record.portal) else None
    if found is None:
        # every portal's streams, not only those of the portals seen so far in this process
        known = sorted(f"{p}/{s}" for p, s in registered_streams())
        raise NormalizationError(
            f"no mapper for stream {record.portal}/{record.stream}", field="stream",
            value=record.stream, ref=record.ref, known=", ".join(known),
        )
    entity_types, mapper, id_formats = found
    if record.deleted:
        return _delete(record, entity_types, id_formats)
    if not isinstance(record.data, dict):
        raise NormalizationError("record data is not an object", field="data", ref=record.ref)
    context = MapContext(record=record, pii=ContactTokens(pii_key), entity_type=entity_types[0],
                         id_formats=id_formats)
    context.issues = context.pii.issues
    return mapper(context)

