"""The expectation suites page and the GX Data Docs decision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecohub import quality
from ecohub.errors import ConfigError
from ecohub.report.suites import build_data_docs, load_suites


def test_every_suite_file_is_read_envelope_first_and_delete_last():
    suites = load_suites()
    files = sorted(quality.SUITES_DIR.glob("*.json"))
    assert {s.name for s in suites} == {json.loads(p.read_text())["name"] for p in files}
    assert suites[0].name == "envelope" and suites[-1].name == "delete"
    for suite in suites:
        raw = json.loads((quality.SUITES_DIR / f"{suite.name}.json").read_text())
        assert [e.name for e in suite.expectations] == [
            e["meta"]["name"] for e in raw["expectations"]
        ]


def test_an_expectation_row_separates_columns_from_arguments(tmp_path):
    (tmp_path / "organization.json").write_text(json.dumps({
        "name": "organization",
        "meta": {"applies_to": "tổ chức"},
        "expectations": [{
            "type": "expect_column_pair_values_to_be_equal",
            "kwargs": {"column_A": "data.portal", "column_B": "sourceref.portal",
                       "mostly": 0.99},
            "severity": "warning",
            "meta": {"name": "organization.portal.matches", "why": "cùng cổng"},
        }],
    }), encoding="utf-8")
    (suite,) = load_suites(tmp_path)
    (exp,) = suite.expectations
    assert (exp.columns, exp.arguments, exp.severity, exp.why) == (
        "data.portal, sourceref.portal", '{"mostly": 0.99}', "warning", "cùng cổng")


def test_without_a_builder_in_ecohub_quality_the_report_says_why(monkeypatch, tmp_path):
    monkeypatch.delattr(quality, "build_data_docs", raising=False)
    docs = build_data_docs(tmp_path)
    assert docs.index is None
    assert "ephemeral" in docs.note
    assert not (tmp_path / "gx").exists()


def test_a_builder_in_ecohub_quality_is_used_and_linked(monkeypatch, tmp_path):
    def fake_builder(out_dir: Path) -> Path:
        out_dir.mkdir(parents=True)
        (out_dir / "index.html").write_text("<html></html>")
        return out_dir / "index.html"

    monkeypatch.setattr(quality, "build_data_docs", fake_builder, raising=False)
    docs = build_data_docs(tmp_path)
    assert docs.index == "gx/index.html"
    assert (tmp_path / docs.index).is_file()


def test_a_failing_builder_does_not_stop_the_report(monkeypatch, tmp_path):
    def broken(out_dir: Path) -> Path:
        raise ConfigError("GX store is unreadable", path=str(out_dir))

    monkeypatch.setattr(quality, "build_data_docs", broken, raising=False)
    docs = build_data_docs(tmp_path)
    assert docs.index is None
    assert "GX store is unreadable" in docs.note


@pytest.mark.parametrize("page", ["index.html", "expectations.html"])
def test_the_pages_explain_the_data_docs_decision(sample_report, page):
    assert "GX Data Docs cannot be built" in sample_report.page(page)
