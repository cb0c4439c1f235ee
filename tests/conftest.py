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
from referencing import Registry, Resource

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


_OL_OFFICIAL = ROOT / "tests/ecohub/lineage/official"
_OL_RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_OL_FACET_KEYS = ("facets", "inputFacets", "outputFacets")


def _ol_registry() -> Registry:
    """The official OpenLineage schemas vendored under tests/ecohub/lineage/official/, by $id."""
    resources = []
    for path in sorted(_OL_OFFICIAL.glob("*.json")):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def _ol_facets(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every facet of a run event with where it sits: run, job, inputs and outputs."""
    holders = [("run", event.get("run") or {}), ("job", event.get("job") or {})]
    for side in ("inputs", "outputs"):
        holders += [(f"{side}[{i}]", d) for i, d in enumerate(event.get(side) or [])]
    for where, holder in holders:
        for key in _OL_FACET_KEYS:
            for name, facet in (holder.get(key) or {}).items():
                yield f"{where}.{key}.{name}", facet


@pytest.fixture(scope="session")
def ol_check() -> Callable[[dict[str, Any]], None]:
    """Assert an event is an OpenLineage 2-0-2 RunEvent by the OFFICIAL spec schema and that each
    standard facet is valid by the official schema its ``_schemaURL`` names (both vendored from
    the OpenLineage repository with its licence); the project's stricter statement
    (tests/ecohub/lineage/run-event.schema.json) and the ``ecohub`` run facet's schema
    (schemas/lineage/ecohub-run-facet.json) are checked too. A standard facet whose schema
    version is not vendored fails: upgrading the client means vendoring its schemas."""
    registry = _ol_registry()
    schema = json.loads((ROOT / "tests/ecohub/lineage/run-event.schema.json").read_text())
    facet_schema = json.loads((ROOT / "schemas/lineage/ecohub-run-facet.json").read_text())
    validator = Draft202012Validator(schema, format_checker=_OL_FORMATS)
    facet_validator = Draft202012Validator(facet_schema, format_checker=_OL_FORMATS)

    def official(ref: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": ref}, registry=registry, format_checker=_OL_FORMATS)

    def assert_valid(event: dict[str, Any]) -> None:
        errors = sorted(official(_OL_RUN_EVENT).iter_errors(event), key=str)
        errors += sorted(validator.iter_errors(event), key=str)
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
        for where, facet in _ol_facets(event):
            url = facet.get("_schemaURL", "")
            if url.startswith("https://openlineage.io/spec/facets/"):
                base = url.split("#", 1)[0]
                assert base in registry, f"{where}: {base} is not vendored in {_OL_OFFICIAL}"
                problems = [p.message for p in official(url).iter_errors(facet)]
                assert not problems, (where, problems)
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
