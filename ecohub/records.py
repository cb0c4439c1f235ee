"""The hand-off types between the stages of a sync.

A connector yields :class:`SourceRecord` (one record as the portal served it, with where its raw
page was landed); normalization turns it into :class:`CanonicalRecord` (one canonical entity,
ready to be wrapped in the event envelope and published). Keeping these two small and frozen is
what lets every stage be tested on its own and replayed from the landing zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["CanonicalRecord", "Operation", "SourceRecord"]

Operation = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class SourceRecord:
    """One record exactly as a portal served it.

    ``key`` is the portal's own identifier as text; ``cursor`` the incremental-cursor value as
    served (the portal's own format, e.g. ``"05/03/2025 14:30"`` for Techport). ``deleted`` is
    true for OAI-PMH deleted headers, H.OIP tombstones and Techport key-set reconciliation.
    ``landing_uri`` names the landed raw page that contains it (lineage and replay).
    """

    portal: str
    stream: str
    key: str
    data: dict[str, Any]
    cursor: str | None = None
    deleted: bool = False
    landing_uri: str | None = None
    run_id: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.portal}:{self.stream}:{self.key}"


@dataclass(frozen=True)
class CanonicalRecord:
    """One canonical entity built from one source record.

    ``entity_type`` names a schema in ``schemas/entities/`` (e.g. ``organization``);
    ``entity_key`` is stable per source record (``<portal>:<entity_type>:<source id>``);
    ``data`` conforms to the entity schema and holds no clear-text personal data;
    ``restricted`` holds the clear personal values (emails, phones) that only go to the
    restricted topic and warehouse columns.
    """

    entity_type: str
    entity_key: str
    operation: Operation
    version: int
    data: dict[str, Any]
    source: SourceRecord
    restricted: dict[str, Any] = field(default_factory=dict)
