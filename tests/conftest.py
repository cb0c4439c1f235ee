"""Suite-wide fixtures. Integration tests talk to the real services that `make test` starts;
they fail (never skip) when a service is missing."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from tests.fixtures.warehouse_sample import temporary_postgres_database

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_var(tmp_path, monkeypatch):
    """Unit tests never touch the developer's var/: embedded defaults point into tmp_path."""
    monkeypatch.setenv("ECOHUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ECOHUB_WAREHOUSE_URL", f"sqlite:///{tmp_path}/var/warehouse.db")
    monkeypatch.setenv("ECOHUB_LANDING__URL", f"file://{tmp_path}/var/landing")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # Tests that build settings from a dict keep the relative default var_dir ("var"): their
    # OpenLineage events go to this test's folder, not to the checkout's var/lineage.
    from ecohub import lineage

    default_file = lineage.default_file
    monkeypatch.setattr(
        lineage, "default_file",
        lambda var_dir: tmp_path / "var" / "lineage" / "openlineage.ndjson"
        if Path(var_dir) == Path("var") else default_file(var_dir),
    )
    yield


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """This session's own PostgreSQL database on the local server, dropped at the end: tests
    that share it take one schema each (``postgres_schema_engine``), so concurrent sessions and
    tests never see each other's tables. Fails (never skips) without the server."""
    with temporary_postgres_database() as url:
        yield url


# --------------------------------------------------------------------------- OpenLineage

_OL_FORMATS = FormatChecker(formats=())


@_OL_FORMATS.checks("date-time", raises=ValueError)
def _ol_date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


@_OL_FORMATS.checks("uri", raises=ValueError)
def _ol_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme)


@_OL_FORMATS.checks("uuid", raises=ValueError)
def _ol_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(uuid.UUID(value))


@pytest.fixture(scope="session")
def ol_check() -> Callable[[dict[str, Any]], None]:
    """Assert an event is an OpenLineage 2-0-2 RunEvent (tests/ecohub/lineage/) and that its
    ``ecohub`` run facet follows schemas/lineage/ecohub-run-facet.json."""
    schema = json.loads((ROOT / "tests/ecohub/lineage/run-event.schema.json").read_text())
    facet_schema = json.loads((ROOT / "schemas/lineage/ecohub-run-facet.json").read_text())
    validator = Draft202012Validator(schema, format_checker=_OL_FORMATS)
    facet_validator = Draft202012Validator(facet_schema, format_checker=_OL_FORMATS)

    def assert_valid(event: dict[str, Any]) -> None:
        errors = sorted(validator.iter_errors(event), key=str)
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
        facet = (event["run"].get("facets") or {}).get("ecohub")
        if facet is not None:
            problems = list(facet_validator.iter_errors(facet))
            assert not problems, [p.message for p in problems]

    return assert_valid


@pytest.fixture(scope="session")
def ol_events() -> Callable[[Path], list[dict[str, Any]]]:
    """The OpenLineage events of a file transport's file, one JSON object per line."""

    def read(path: Path) -> list[dict[str, Any]]:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    return read
