"""write_report end to end on SQLite: every figure on every page equals the warehouse's."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from ecohub.errors import ServiceUnavailable
from ecohub.portals import portal_names
from ecohub.report import write_report
from ecohub.settings import Settings

PAGES = ("index.html", "runs.html", "expectations.html")


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_on_the_page_equals_the_warehouse(sample_report, oracle_tools, page):
    reader = oracle_tools.read_page(sample_report.page(page))
    assert len(reader.metrics) > 100
    wrong = [
        (name, shown, sample_report.oracle.value(name))
        for name, shown in reader.metrics
        if not oracle_tools.matches(shown, sample_report.oracle.value(name))
    ]
    assert wrong == []


@pytest.mark.parametrize(
    "metric",
    [
        "runs.total", "runs.balanced", "runs.unbalanced", "runs.pending", "runs.unchecked",
        "records.fetched", "deadletter.total", "events.loaded", "events.quarantined",
        "quarantine.total", "validity.events", "entities.current",
        *[f"portal.{p}.{f}" for p in portal_names() for f in ("fetched", "dead_lettered", "loaded",
                                                        "quarantined", "age_hours")],
        "entity.techport.technology_offer.completeness", "entity.stinet.document.validity",
        "resolution.organization.golden", "resolution.organization.multi_portal",
        "resolution.person.unlinked", "resolution.organization.overrides",
    ],
)
def test_the_summary_page_shows_the_figures_auditors_ask_for(sample_report, oracle_tools,
                                                              metric):
    shown = dict(oracle_tools.read_page(sample_report.page()).metrics)
    assert metric in shown
    assert oracle_tools.matches(shown[metric], sample_report.oracle.value(metric))


def test_the_sample_exercises_every_run_status(sample_report):
    """Otherwise the equality checks above would compare zeros with zeros."""
    assert set(sample_report.summary.statuses.values()) == {
        "balanced", "unbalanced", "pending", "unchecked"
    }
    oracle = sample_report.oracle
    assert oracle.value("runs.unbalanced") == 1
    assert oracle.value("quarantine.total") > 0
    assert oracle.value("deadletter.total") > 0
    assert oracle.value("resolution.organization.multi_portal") > 0


def test_top_failing_expectations_are_the_most_frequent_first(sample_report, oracle_tools):
    html = sample_report.page()
    section = html[html.index('id="quality"'):html.index('id="resolution"')]
    names = [n for n, _ in oracle_tools.read_page(section).metrics
             if n.startswith("expectation.")]
    counts = sample_report.oracle.failures()
    shown = [counts[n.removeprefix("expectation.").removesuffix(".failures")] for n in names]
    assert shown == sorted(counts.values(), reverse=True)[: len(shown)]
    assert len(shown) == min(15, len(counts))


def test_every_run_is_listed_on_the_runs_page(sample_report, oracle_tools):
    names = {n for n, _ in oracle_tools.read_page(sample_report.page("runs.html")).metrics}
    assert {f"run.{r}.status" for r in sample_report.summary.run_ids} <= names


def test_every_expectation_of_quality_is_on_the_suites_page(sample_report, oracle_tools):
    import json

    from ecohub.quality import SUITES_DIR

    expected = {
        f"expectation.{e['meta']['name']}.failures"
        for path in SUITES_DIR.glob("*.json")
        for e in json.loads(path.read_text(encoding="utf-8"))["expectations"]
    }
    page = oracle_tools.read_page(sample_report.page("expectations.html"))
    assert {n for n, _ in page.metrics if n.startswith("expectation.")} == expected


@pytest.mark.parametrize("page", PAGES)
def test_pages_reference_nothing_outside_the_report_folder(sample_report, oracle_tools, page):
    html = sample_report.page(page)
    reader = oracle_tools.read_page(html)
    external = [r for r in reader.references if urlparse(r).scheme or r.startswith("//")]
    assert external == []
    for ref in reader.references:
        target = ref.split("#", 1)[0]
        if target:
            assert (sample_report.out_dir / target).is_file(), ref
    assert re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", html, re.I) is None
    assert "@import" not in html and "url(" not in html
    assert "<script" not in html.lower()


def test_an_empty_warehouse_gives_a_complete_page_that_says_no_runs_yet(empty_report,
                                                                         oracle_tools):
    html = empty_report.page()
    assert empty_report.index == empty_report.settings.var_dir / "report" / "index.html"
    assert "No runs yet" in html
    shown = dict(oracle_tools.read_page(html).metrics)
    for metric in ("runs.total", "records.fetched", "events.loaded", "quarantine.total"):
        assert shown[metric] == "0"
    assert shown["validity.events"] == ""  # no events is not "0 % valid"
    assert "No runs yet" in empty_report.page("runs.html")
    assert html.rstrip().endswith("</html>")


def test_a_second_write_replaces_the_pages_in_place(sample_report, report_now):
    before = sorted(p.name for p in sample_report.out_dir.iterdir())
    index = write_report(sample_report.settings, sample_report.out_dir, now=report_now)
    assert index.read_text(encoding="utf-8") == sample_report.page()
    assert sorted(p.name for p in sample_report.out_dir.iterdir()) == before


def test_an_unreachable_warehouse_is_named_without_its_password(tmp_path):
    settings = Settings(
        var_dir=tmp_path,
        warehouse_url="postgresql+psycopg://kiemtoan:mat-khau-bi-mat@127.0.0.1:1/ecohub",
    )
    with pytest.raises(ServiceUnavailable) as caught:
        write_report(settings, tmp_path / "site")
    assert "warehouse cannot be read" in str(caught.value)
    assert "mat-khau-bi-mat" not in str(caught.value)
    assert not (tmp_path / "site").exists()
