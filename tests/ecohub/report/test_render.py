"""Formatting of figures: the raw value for machines, a readable one for people."""

from __future__ import annotations

from datetime import datetime

import pytest

from ecohub.report.render import Col, metric, table


@pytest.mark.parametrize(
    ("value", "kind", "raw", "shown"),
    [
        (1234567, "int", "1234567", "1,234,567"),
        (0, "int", "0", "0"),
        (None, "int", "", "—"),
        (0.91875, "ratio", "0.91875", "91.9 %"),
        (1.0, "ratio", "1.0", "100.0 %"),
        (None, "ratio", "", "—"),
        (0.9488, "score", "0.9488", "0.949"),
        (31.5, "hours", "31.5", "31.5 h"),
        (datetime(2025, 3, 6, 1, 31, 7), "time", "2025-03-06T01:31:07", "2025-03-06 01:31"),
        (True, "bool", "true", "yes"),
        (False, "bool", "false", "NO"),
    ],
)
def test_a_metric_carries_raw_and_readable_values(value, kind, raw, shown):
    html = metric("portal.techport.fetched", value, kind)
    assert 'data-metric="portal.techport.fetched"' in html
    assert f'data-value="{raw}"' in html
    assert f">{shown}</td>" in html


@pytest.mark.parametrize("status", ["balanced", "unbalanced", "pending", "unchecked"])
def test_a_run_status_is_written_as_a_word_not_only_a_colour(status):
    html = metric("run.hoip-20250306T033000Z-ddc5114c.status", status, "status")
    assert f'<span class="status {status}">{status}</span>' in html
    assert f'data-value="{status}"' in html


def test_table_cells_escape_source_text():
    rows = [{"portal": "hoip", "name": 'Sở Giao thông <Vận tải> "TP.HCM"', "rows": 3}]
    html = table(rows, [Col("Tên", "name", "text"), Col("Rows", "rows", "int", metric="rows")],
                 lambda r: f"quarantine.{r['portal']}")
    assert "Sở Giao thông &lt;Vận tải&gt; &quot;TP.HCM&quot;" in html
    assert 'data-metric="quarantine.hoip.rows" data-value="3"' in html
