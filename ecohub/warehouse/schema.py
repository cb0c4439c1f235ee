"""Which tables the warehouse migrations own: ours plus the connector toolkit's state tables.

Kept apart from :mod:`ecohub.warehouse.tables` so Alembic's environment and the migration
tests see one complete :class:`~sqlalchemy.MetaData` whichever module was imported first.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

__all__ = ["target_metadata"]


def target_metadata() -> MetaData:
    """The shared metadata with every table the migrations create registered on it."""
    import ecohub.warehouse.tables  # noqa: F401  (registers the warehouse tables)
    from ecohub.db import metadata

    try:  # sync_state / source_keys belong to the connector toolkit
        importlib.import_module("connectors.toolkit.state")
    except ModuleNotFoundError:
        pass
    return metadata
