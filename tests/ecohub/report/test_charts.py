"""Inline SVG charts: proportional marks, gaps for missing values, escaped labels."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ecohub.report.charts import _nice_max, hbar_chart, line_chart, stacked_bar_chart


def _svg(html: str) -> ET.Element:
    figure = ET.fromstring(html)
    svg = figure.find("svg")
    assert svg is not None
    return svg


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 1.0), (0.4, 1.0), (7, 10.0), (10, 10.0), (11, 20.0), (180, 200.0), (230, 250.0),
     (4_100, 5_000.0), (96_000, 100_000.0)],
)
def test_the_axis_maximum_is_round_and_not_below_the_data(value, expected):
    assert _nice_max(value) == expected


def test_stacked_bars_are_proportional_to_the_values():
    svg = _svg(stacked_bar_chart("Sự kiện theo ngày", ["03-01", "03-02"],
                                 {"loaded": [120, 60], "quarantined": [30, 0]}))
    bars = [r for r in svg.iter("rect") if r.find("title") is not None]
    heights = {r.find("title").text: float(r.get("height")) for r in bars}
    assert set(heights) == {"03-01 loaded: 120", "03-01 quarantined: 30", "03-02 loaded: 60"}
    assert heights["03-01 loaded: 120"] == pytest.approx(4 * heights["03-01 quarantined: 30"],
                                                         rel=0.02)
    assert heights["03-01 loaded: 120"] == pytest.approx(2 * heights["03-02 loaded: 60"],
                                                         rel=0.02)
    assert svg.get("aria-label") == "Sự kiện theo ngày"


def test_a_missing_share_leaves_a_gap_instead_of_a_zero():
    svg = _svg(line_chart("Validity", ["03-01", "03-02", "03-03"],
                          {"stinet": [0.9, None, 0.95], "hoip": [None, None, None]}))
    points = [c.find("title").text for c in svg.iter("circle")]
    assert points == ["03-01 stinet: 90.0 %", "03-03 stinet: 95.0 %"]
    assert len(list(svg.iter("polyline"))) == 1


def test_bar_labels_are_escaped():
    svg = _svg(hbar_chart("Top", ["organization.name.present", "a<b & c"], [7, 3]))
    labels = [t.text for t in svg.iter("text")]
    assert "a<b & c" in labels and "organization.name.present" in labels
