"""Which tables the warehouse migrations own (the connector toolkit's state tables included).

Kept apart from :mod:`ecohub.warehouse.tables` so Alembic's environment and the migration
tests see one complete :class:`~sqlalchemy.MetaData` whichever module was imported first.
"""

from __future__ import annotations

from sqlalchemy import MetaData

import ecohub.warehouse.tables  # noqa: F401  (declares every table on the shared metadata)
from ecohub.db import metadata

__all__ = ["target_metadata"]


def target_metadata() -> MetaData:
    """The shared metadata with every table the migrations create registered on it."""
    return metadata
