"""Suite-wide fixtures. Integration tests talk to the real services that `make test` starts;
they fail (never skip) when a service is missing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.warehouse_sample import temporary_postgres_database

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_var(tmp_path, monkeypatch):
    """Unit tests never touch the developer's var/: embedded defaults point into tmp_path."""
    monkeypatch.setenv("ECOHUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ECOHUB_WAREHOUSE_URL", f"sqlite:///{tmp_path}/var/warehouse.db")
    monkeypatch.setenv("ECOHUB_LANDING__URL", f"file://{tmp_path}/var/landing")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    yield


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """This session's own PostgreSQL database on the local server, dropped at the end: tests
    that share it take one schema each (``postgres_schema_engine``), so concurrent sessions and
    tests never see each other's tables. Fails (never skips) without the server."""
    with temporary_postgres_database() as url:
        yield url
