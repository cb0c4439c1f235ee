"""Which canonical entities exist and which portal produces which: the light registry that DAG
files may import at parse time (standard library only, no I/O). The portals' entities come
from their specs (:mod:`ecohub.portals`).

A test checks that every portal's normalizer only produces the entity types listed here, so the
Airflow Assets a sync DAG declares are exactly the topics it writes.
"""

from __future__ import annotations

from ecohub.portals import portal_spec, portal_specs

__all__ = ["ENTITY_TYPES", "SIDE_TOPICS", "asset_uri", "portal_entities", "topic_name"]

ENTITY_TYPES: tuple[str, ...] = (
    "organization",
    "person",
    "research_project",
    "document",
    "technology_offer",
    "technology_demand",
    "startup_project",
    "programme",
    "challenge",
    "support_application",
)

def portal_entities(portal: str | None = None) -> dict[str, tuple[str, ...]]:
    """Portal name -> the entity types its mapping produces (every registered portal, by rank;
    ``portal``: that one only, an unknown name failing with the valid ones).

    Read from :mod:`ecohub.portals` on each call, so a portal registered after import counts.
    """
    specs = (portal_spec(portal),) if portal is not None else portal_specs()
    return {spec.name: spec.entities for spec in specs}


SIDE_TOPICS: dict[str, str] = {
    "deadletter": "deadletter",
    "quarantine": "quarantine",
    "restricted_pii": "restricted.pii",
}
"""The hub's non-entity topics: message schema stem -> topic name (before the prefix)."""


def topic_name(name: str, prefix: str = "ecohub") -> str:
    """``<prefix>.<name>.v1``: the one place a topic name is spelled.

    ``name`` is an entity type (``ecohub.organization.v1``) or a value of :data:`SIDE_TOPICS`
    (``ecohub.restricted.pii.v1``). It lives here, standard library only, because DAG files name
    their Assets at parse time; :mod:`ecohub.kafka` re-exports it with the per-topic helpers.
    """
    return f"{prefix}.{name}.v1"


def asset_uri(entity_type: str, prefix: str = "ecohub") -> str:
    """The Airflow Asset URI of one entity topic."""
    return f"kafka://ecohub/{topic_name(entity_type, prefix)}"
