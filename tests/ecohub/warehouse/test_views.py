"""The typed unified views and the marts, compiled for each database."""

from __future__ import annotations

from sqlalchemy import text

from ecohub.warehouse.history import apply_events
from ecohub.warehouse.views import VIEWS


def _fields(*codes):
    from tests.fixtures.warehouse_sample import _field

    return [_field(c) for c in codes]


def _rows(engine, sql: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql)).mappings()]


def test_every_view_exists_and_answers(engine):
    for name in VIEWS:
        assert _rows(engine, f'SELECT * FROM "{name}"') == []


def test_the_organization_view_shows_typed_current_rows_only(engine, entity):
    with engine.begin() as conn:
        apply_events(
            conn,
            [
                entity("organization", "TP-NCC-0001", version=1_700_000_000_000, name="Cty TNHH A"),
                entity(
                    "organization",
                    "TP-NCC-0001",
                    version=1_750_000_000_000,
                    name="Công ty TNHH Giải pháp Sao Việt",
                ),
                entity("organization", "TP-NCC-0002", version=1_700_000_000_000),
                entity(
                    "organization", "TP-NCC-0002", version=1_760_000_000_000, operation="delete"
                ),
            ],
        )
    rows = _rows(
        engine, "SELECT entity_key, name, tax_code, tax_code_valid, org_kind FROM organization"
    )

    assert rows == [
        {
            "entity_key": "techport:organization:TP-NCC-0001",
            "name": "Công ty TNHH Giải pháp Sao Việt",
            "tax_code": "0312345678",
            "tax_code_valid": True,
            "org_kind": "enterprise",
        }
    ]


def test_marts_count_technologies_per_field_and_startup_support_per_stage(engine, entity):
    with engine.begin() as conn:
        apply_events(
            conn,
            [
                entity("technology_offer", "TP-TECH-1", fields=_fields("211", "209")),
                entity("technology_offer", "TP-TECH-2", fields=_fields("211")),
                entity("technology_demand", "TP-DEM-1", fields=_fields("207")),
                entity(
                    "startup_project",
                    "SP-1",
                    portal="hoip",
                    stage="incubation",
                    approved_support_vnd=80_000_000,
                    fields=_fields("202"),
                ),
                entity(
                    "startup_project",
                    "SP-2",
                    portal="hoip",
                    stage="incubation",
                    approved_support_vnd=60_000_000,
                    fields=_fields("202"),
                ),
                entity(
                    "startup_project",
                    "SP-3",
                    portal="hoip",
                    stage="speedup",
                    approved_support_vnd=2_000_000_000,
                    fields=_fields("102"),
                ),
            ],
        )
    tech = _rows(
        engine,
        "SELECT field_code, entity_type, entity_count FROM "
        "mart_technologies_per_field ORDER BY field_code, entity_type",
    )
    support = _rows(
        engine,
        "SELECT stage, field_code, project_count, support_vnd FROM "
        "mart_startup_support ORDER BY stage, field_code",
    )

    assert tech == [
        {"field_code": "207", "entity_type": "technology_demand", "entity_count": 1},
        {"field_code": "209", "entity_type": "technology_offer", "entity_count": 1},
        {"field_code": "211", "entity_type": "technology_offer", "entity_count": 2},
    ]
    assert support == [
        {
            "stage": "incubation",
            "field_code": "202",
            "project_count": 2,
            "support_vnd": 140_000_000,
        },
        {"stage": "speedup", "field_code": "102", "project_count": 1, "support_vnd": 2_000_000_000},
    ]
