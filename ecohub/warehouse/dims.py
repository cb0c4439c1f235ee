"""Conformed dimensions: the calendar and the S&T field classification.

Seeded by :func:`ecohub.warehouse.init_db`; re-seeding only adds what is missing, so codes a
newer normalizer introduces appear after the next start and nothing is ever deleted.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ecohub.normalize.fields import FIELDS
from ecohub.warehouse.sqlutil import insert_ignore
from ecohub.warehouse.tables import dim_date, dim_field

__all__ = ["DATE_RANGE", "date_rows", "field_rows", "seed_dimensions"]

DATE_RANGE = (date(1975, 1, 1), date(2050, 12, 31))


def date_rows(start: date = DATE_RANGE[0], end: date = DATE_RANGE[1]) -> list[dict[str, Any]]:
    """One row per calendar day; ``date_key`` is ``yyyymmdd``."""
    rows = []
    day = start
    while day <= end:
        rows.append(
            {
                "date_key": day.year * 10000 + day.month * 100 + day.day,
                "date": day,
                "year": day.year,
                "quarter": (day.month - 1) // 3 + 1,
                "month": day.month,
                "day": day.day,
                "iso_week": day.isocalendar().week,
                "weekday": day.isoweekday(),
            }
        )
        day += timedelta(days=1)
    return rows


def field_rows() -> list[dict[str, Any]]:
    """The canonical field classification the normalizer maps every portal's labels onto."""
    rows = []
    for code, cls in sorted(FIELDS.items()):
        major = len(code) == 1
        rows.append(
            {
                "field_code": code,
                "name_vi": cls.label_vi,
                "name_en": cls.label_en,
                "oecd_fos": cls.oecd_fos,
                "parent_code": None if major else code[0],
                "level": 1 if major else 2,
            }
        )
    return rows


def seed_dimensions(conn: Connection) -> None:
    """Fill the dimensions (idempotent)."""
    expected = (DATE_RANGE[1] - DATE_RANGE[0]).days + 1
    if conn.execute(select(func.count()).select_from(dim_date)).scalar_one() < expected:
        insert_ignore(conn, dim_date, date_rows())
    insert_ignore(conn, dim_field, field_rows())
