"""The auditors' quality report: a static, offline HTML site written from the warehouse.

Called by ``ecohub report`` and by the ``ecohub_report`` DAG. The site has three pages:
``index.html`` (key figures, per-portal and per-entity tables, runs, quality gate, entity
resolution, figures over time, charts), ``runs.html`` (every run) and ``expectations.html``
(every expectation suite of ``quality/`` with its failure counts), plus GX Data Docs under
``gx/`` when :mod:`ecohub.quality` can build them. No page references anything outside the
folder, so the site opens from a file share, a zip or an air-gapped laptop.

Figures come from :mod:`ecohub.report.data` (SQL only); :mod:`ecohub.report.render` formats.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from ecohub.db import get_engine
from ecohub.errors import ServiceUnavailable
from ecohub.report.data import collect
from ecohub.report.render import render_expectations, render_index, render_runs
from ecohub.report.suites import build_data_docs, load_suites
from ecohub.settings import Settings
from ecohub.warehouse import init_db

__all__ = ["write_report"]


def _write(path: Path, text: str) -> None:
    """Replace ``path`` atomically: a reader never sees half a page."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(
    settings: Settings, out_dir: str | Path | None = None, *, now: datetime | None = None
) -> Path:
    """Write the report site to ``out_dir`` (default ``<var_dir>/report``); return index.html.

    ``now`` (naive or aware UTC) is the reference time for freshness ages; default: the clock.
    An empty warehouse gives a complete site that says "no runs yet".
    """
    source = make_url(settings.warehouse_url).render_as_string(hide_password=True)
    moment = now or datetime.now(UTC)
    reference = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    engine = get_engine(settings.warehouse_url)
    try:
        init_db(engine)
        data = collect(engine, reference)
    except OperationalError as exc:
        raise ServiceUnavailable(
            "the warehouse cannot be read; check ECOHUB_WAREHOUSE_URL and that the database "
            "is running (`ecohub doctor` explains)", warehouse=source, error=str(exc.orig)
        ) from exc
    target = Path(out_dir) if out_dir is not None else settings.var_dir / "report"
    target.mkdir(parents=True, exist_ok=True)
    docs = build_data_docs(target)
    _write(target / "runs.html", render_runs(data, source))
    _write(target / "expectations.html", render_expectations(data, load_suites(), docs, source))
    index = target / "index.html"
    _write(index, render_index(data, docs, source))
    return index
