"""What a stream declares (layer 3) and what a portal's parser hands back for each page.

A stream is data, not code: name, path, key, cursor, schema, and how deletes arrive. Adding an
endpoint to a connector is one :class:`Stream` literal in the portal's module (about fifteen
lines); the portal's client (layer 2) knows how to page, authenticate and parse its pages, and
the toolkit (layer 1) does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema_rs
from jsonschema import Draft202012Validator

from connectors.toolkit.pagination import PageInfo
from ecohub.errors import PortalContractError

__all__ = ["DeleteSignal", "ParsedPage", "RawRecord", "Stream", "raw_records", "record_schema"]

DeleteSignal = Literal["inline", "reconcile", "none"]


@dataclass(frozen=True)
class Stream:
    """One resource of a portal.

    ``key`` and ``cursor`` name fields of the served record; ``schema`` is the JSON Schema the
    portal's contract promises for a record (checked on every record: a violation is a broken
    contract, raised with the page and key). ``deletes`` says how removals reach us: ``inline``
    (deleted headers or tombstones in the listing itself), ``reconcile`` (no signal: compare key
    sets, verified through ``detail_path``), or ``none``. ``params`` are fixed query parameters;
    ``options`` carry portal-specific settings (e.g. an OAI set).
    """

    name: str
    path: str
    key: str
    cursor: str | None
    schema: Mapping[str, Any]
    deletes: DeleteSignal = "none"
    detail_path: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Draft202012Validator.check_schema(dict(self.schema))
        object.__setattr__(self, "_validator", Draft202012Validator(dict(self.schema)))
        object.__setattr__(self, "_compiled", jsonschema_rs.Draft202012Validator(
            dict(self.schema), validate_formats=False))  # as the reference: formats annotate

    def check(self, record: Mapping[str, Any], *, where: str) -> None:
        """Raise :class:`PortalContractError` when ``record`` breaks the declared schema.

        Every record is checked: jsonschema-rs accepts in ~1/10 of the reference's time;
        a record it does not accept (or cannot read) is judged, and explained, by the
        reference validator."""
        try:
            if object.__getattribute__(self, "_compiled").is_valid(record):
                return
        except Exception:  # noqa: S110 -- a value it cannot convert: the reference decides
            pass
        validator: Draft202012Validator = object.__getattribute__(self, "_validator")
        error = next(iter(validator.iter_errors(record)), None)
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path) or "(record)"
            raise PortalContractError(
                f"record breaks the {self.name} contract at {path}: {error.message}",
                stream=self.name, where=where, key=str(record.get(self.key, "?")),
            )


def record_schema(required: Mapping[str, str | list[str]], **extra: Any) -> dict[str, Any]:
    """A JSON Schema requiring the given fields with the given JSON types; others are free."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {name: {"type": kind} for name, kind in required.items()},
        **extra,
    }


@dataclass(frozen=True)
class RawRecord:
    """One record as parsed from a page, before de-duplication."""

    key: str
    data: dict[str, Any]
    cursor: str | None = None
    deleted: bool = False


@dataclass(frozen=True)
class ParsedPage:
    """The records of a page and what it says about pagination."""

    records: list[RawRecord]
    info: PageInfo


def raw_records(items: list[Any], stream: Stream) -> list[RawRecord]:
    """JSON objects of a listing as raw records keyed and cursored as ``stream`` declares."""
    records = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise PortalContractError(
                "listing item is not a JSON object", stream=stream.name, index=index
            )
        cursor = item.get(stream.cursor) if stream.cursor else None
        records.append(RawRecord(str(item.get(stream.key)), item, cursor))
    return records
