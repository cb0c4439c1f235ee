"""The expectation suites an auditor reviews, and where GX Data Docs come from.

Why the report reads ``quality/*.json`` itself: :mod:`ecohub.quality` validates in an
*ephemeral* GX context (fast, nothing written to disk), so there are no stored validation
results for GX to build Data Docs from. When :mod:`ecohub.quality` offers a builder,
``build_data_docs(out_dir: Path) -> Path`` returning the Data Docs ``index.html``, the report
calls it and links the result; otherwise it says so on the page and renders every suite as a
table (expectation name, type, columns, arguments, severity, rationale) next to the number of
quarantined rows that failed each expectation.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecohub import quality
from ecohub.errors import EcohubError
from ecohub.quality import DELETE_SUITE, ENVELOPE_SUITE, SUITES_DIR, load_suite_file

__all__ = ["DataDocs", "Expectation", "Suite", "build_data_docs", "load_suites"]

log = logging.getLogger(__name__)

_COLUMN_KEYS = ("column", "column_A", "column_B", "column_list")


@dataclass(frozen=True)
class Expectation:
    name: str
    type: str
    columns: str
    arguments: str
    severity: str
    why: str


@dataclass
class Suite:
    name: str
    applies_to: str
    expectations: list[Expectation] = field(default_factory=list)


@dataclass(frozen=True)
class DataDocs:
    """Where the GX Data Docs are (relative to the report folder), or why there are none."""

    index: str | None
    note: str


def _describe(exp: dict[str, Any]) -> Expectation:
    kwargs = dict(exp.get("kwargs") or {})
    columns: list[str] = []
    for key in _COLUMN_KEYS:
        value = kwargs.pop(key, None)
        if isinstance(value, list):
            columns.extend(str(v) for v in value)
        elif value is not None:
            columns.append(str(value))
    meta = exp.get("meta") or {}
    return Expectation(
        name=str(meta.get("name", exp.get("type", "?"))),
        type=str(exp.get("type", "?")),
        columns=", ".join(columns),
        arguments=json.dumps(kwargs, ensure_ascii=False, sort_keys=True) if kwargs else "",
        severity=str(exp.get("severity", "critical")),
        why=str(meta.get("why", "")),
    )


def load_suites(suites_dir: Path | None = None) -> list[Suite]:
    """Every suite file, envelope first, then entity types, then the delete suite."""
    root = suites_dir or SUITES_DIR
    paths = sorted(root.glob("*.json"))
    order = {ENVELOPE_SUITE: 0, DELETE_SUITE: 2}
    paths.sort(key=lambda p: (order.get(p.stem, 1), p.stem))
    suites = []
    for path in paths:
        raw = load_suite_file(path)
        suites.append(
            Suite(
                name=str(raw.get("name", path.stem)),
                applies_to=str((raw.get("meta") or {}).get("applies_to", "")),
                expectations=[_describe(e) for e in raw["expectations"]],
            )
        )
    return suites


def build_data_docs(out_dir: Path) -> DataDocs:
    """Ask :mod:`ecohub.quality` for GX Data Docs in ``out_dir/gx``; explain when it cannot."""
    builder = getattr(quality, "build_data_docs", None)
    if builder is None:
        return DataDocs(
            index=None,
            note=(
                "ecohub.quality validates in an ephemeral Great Expectations context and keeps "
                "no validation store, so GX Data Docs cannot be built; the suites are rendered "
                "below from quality/*.json instead."
            ),
        )
    target = out_dir / "gx"
    try:
        index = Path(builder(target))
    except (EcohubError, OSError) as exc:
        log.warning("GX Data Docs could not be built: %s", exc)
        return DataDocs(index=None, note=f"GX Data Docs could not be built: {exc}")
    try:
        relative = index.resolve().relative_to(out_dir.resolve()).as_posix()
    except ValueError:
        relative = index.resolve().as_uri()
    return DataDocs(
        index=relative,
        note=(
            "GX Data Docs were built by ecohub.quality. GX's own pages load their styles and "
            "scripts from public CDNs: offline they show unstyled but complete."
        ),
    )
