"""HTML of the report pages: formatting only, every number comes from :mod:`ecohub.report.data`.

Why this shape: auditors read tables first, so each page is headline figures, then tables per
portal and entity type, then charts drawn from the same rows. Every figure is wrapped in an
element carrying ``data-metric`` (a stable dotted name, listed in ``docs/report.md``) and
``data-value`` (the raw value), so tests and scripts read the page without parsing prose.
The page is self-contained: inline CSS, inline SVG, no script, no external reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from ecohub.report.charts import hbar_chart, line_chart, stacked_bar_chart
from ecohub.report.data import ReportData
from ecohub.report.suites import DataDocs, Suite

__all__ = ["LATEST_RUNS", "TOP_EXPECTATIONS", "render_expectations", "render_index",
           "render_runs"]

LATEST_RUNS = 20
TOP_EXPECTATIONS = 15

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
 margin:0 auto;max-width:1200px;padding:0 20px 40px;color:#1b1b1b;background:#fff}
h1{font-size:1.6em;margin:24px 0 4px}h2{font-size:1.25em;margin:32px 0 8px;
 border-bottom:2px solid #0072B2;padding-bottom:3px}h3{font-size:1.05em;margin:20px 0 6px}
p.meta{color:#555;margin:0 0 8px}nav{margin:8px 0 16px;font-size:.95em}nav a{margin-right:14px}
a{color:#005a8c}table{border-collapse:collapse;margin:6px 0 12px;font-size:.92em}
th,td{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top}td{overflow-wrap:anywhere}
th{background:#f3f5f7;text-align:left;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.t{white-space:nowrap}td.key{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
table.figures td.n{font-size:1.15em;font-weight:600}
table.runs{font-size:.84em}table.runs th,table.runs td{padding:3px 5px}
table.runs td{overflow-wrap:normal}
.status{font-weight:600;padding:1px 6px;border-radius:3px;white-space:nowrap}
.balanced{background:#d9f2e6;color:#05603a}.unbalanced{background:#fde2dd;color:#a4200b}
.pending{background:#fff1cc;color:#7a5200}.unchecked{background:#eceff1;color:#37474f}
.empty{padding:12px 16px;background:#fff8e1;border-left:4px solid #E69F00;font-weight:600}
.note{padding:8px 12px;background:#eef6fb;border-left:4px solid #0072B2}
figure{margin:12px 0 24px}figcaption{font-weight:600;margin-bottom:4px}
svg.chart{max-width:760px;display:block;border:1px solid #e3e7eb}
svg .grid{stroke:#e3e7eb}svg .tick,svg .legend{font-size:11px;fill:#333}
svg .legend{font-size:12px}details{margin:8px 0}summary{cursor:pointer;font-weight:600}
@media print{nav{display:none}h2{break-after:avoid}table{break-inside:auto}}
"""


# --------------------------------------------------------------------------- values


def _raw(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _shown(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "ratio":
        return f"{float(value) * 100:.1f} %"
    if kind == "score":
        return f"{float(value):.3f}"
    if kind == "hours":
        return f"{float(value):,.1f} h"
    if kind == "time":
        return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)
    if kind == "bool":
        return "yes" if value else "NO"
    return str(value)


def metric(name: str, value: Any, kind: str = "int", tag: str = "td") -> str:
    """One figure with its machine-readable hook."""
    css = "n" if kind in {"int", "ratio", "score", "hours"} else "t" if kind == "time" else ""
    if kind == "status":
        return (f'<{tag} data-metric="{escape(name)}" data-value="{escape(_raw(value))}">'
                f'<span class="status {escape(str(value))}">{escape(str(value))}</span></{tag}>')
    return (f'<{tag} class="{css}" data-metric="{escape(name)}" '
            f'data-value="{escape(_raw(value))}">{escape(_shown(value, kind))}</{tag}>')


@dataclass(frozen=True)
class Col:
    """A table column: header, row key, format, and the metric suffix (None = plain cell)."""

    title: str
    key: str
    kind: str = "int"
    metric: str | None = None


def table(rows: Iterable[Mapping[str, Any]], cols: Sequence[Col],
          prefix: Callable[[Mapping[str, Any]], str], css: str = "") -> str:
    head = "".join(f"<th>{escape(c.title)}</th>" for c in cols)
    body = []
    for row in rows:
        cells = []
        for c in cols:
            value = row.get(c.key)
            if c.metric is not None:
                cells.append(metric(f"{prefix(row)}.{c.metric}", value, c.kind))
            elif c.kind in {"key", "time"}:
                cells.append(f'<td class="{"t" if c.kind == "time" else "key"}">'
                             f"{escape(_shown(value, c.kind))}</td>")
            else:
                cells.append(f"<td>{escape(_shown(value, c.kind))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    rows_html = "".join(body)
    return (f'<table class="{css}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows_html}</tbody></table>")


def _m(title: str, key: str, kind: str = "int") -> Col:
    return Col(title, key, kind, metric=key)


def _page(title: str, generated: datetime, source: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta">Generated <span data-metric="report.generated_at" '
        f'data-value="{_raw(generated)}">{escape(_shown(generated, "time"))} UTC</span> from the '
        f"warehouse <code>{escape(source)}</code>. Every figure is one SQL query in "
        "<code>ecohub/report/data.py</code>; definitions are in <code>docs/report.md</code>.</p>"
        f"{body}</body></html>"
    )


def _section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def _empty(text: str) -> str:
    return f'<p class="empty">{escape(text)}</p>'


# --------------------------------------------------------------------------- index page


_HEADLINE = (
    ("runs.total", "runs_total", "int", "Sync runs recorded (run_extracts)"),
    ("runs.balanced", "runs_balanced", "int", "Runs whose stored verdict is balanced"),
    ("runs.unbalanced", "runs_unbalanced", "int", "Runs that do not balance: records were lost"),
    ("runs.pending", "runs_pending", "int", "Runs the loader has not finished consuming"),
    ("runs.unchecked", "runs_unchecked", "int", "Runs never reconciled (no row in runs)"),
    ("records.fetched", "fetched", "int", "Source records fetched from the portals"),
    ("records.published", "published", "int", "Records normalized and published"),
    ("deadletter.total", "dead_lettered", "int", "Records dead-lettered (normalization/schema)"),
    ("validity.records", "record_validity", "ratio", "Published / fetched"),
    ("events.published", "events", "int", "Canonical events published to Kafka"),
    ("events.loaded", "loaded", "int", "Events that passed the quality gate and loaded"),
    ("events.quarantined", "quarantined", "int", "Events that failed the quality gate"),
    ("validity.events", "event_validity", "ratio", "Loaded / (loaded + quarantined)"),
    ("quarantine.total", "quarantine_rows", "int", "Rows in the quarantine table"),
    ("entities.current", "entities_current", "int", "Entities live in the warehouse"),
    ("entities.deleted", "entities_deleted", "int", "Entities soft-deleted by the source"),
    ("entities.versions", "entities_versions", "int", "SCD2 versions kept (history)"),
)


def _headline(data: ReportData) -> str:
    rows = "".join(
        f"<tr><th>{escape(text)}</th>{metric(name, data.headline.get(key), kind)}"
        f'<td class="key">{escape(name)}</td></tr>'
        for name, key, kind, text in _HEADLINE
    )
    note = "" if data.has_runs else _empty(
        "No runs yet: the warehouse holds no sync run. Run `ecohub sync <portal>` and "
        "`ecohub consume` (or the Airflow DAGs), then write this report again."
    )
    return _section("summary", "Key figures", note,
                    f'<table class="figures"><tbody>{rows}</tbody></table>')


_PORTAL_RECON = (
    Col("Portal", "portal", "text"), _m("Runs", "runs"), _m("Balanced", "balanced"),
    _m("Unbalanced", "unbalanced"), _m("Pending", "pending"), _m("Unchecked", "unchecked"),
    _m("Fetched", "fetched"), _m("Published", "published"),
    _m("Dead-lettered", "dead_lettered"), _m("Events", "events"), _m("Loaded", "loaded"),
    _m("Quarantined", "quarantined"),
)
_PORTAL_QUALITY = (
    Col("Portal", "portal", "text"), _m("Record validity", "record_validity", "ratio"),
    _m("Event validity", "event_validity", "ratio"),
    _m("Quarantine rows", "quarantine_rows"), _m("Last run (UTC)", "last_run", "time"),
    _m("Age at report time", "age_hours", "hours"),
)
_ENTITY = (
    Col("Portal", "portal", "text"), Col("Entity type", "entity_type", "key"),
    _m("Current", "current"), _m("Deleted", "deleted"), _m("Versions", "versions"),
    _m("Loaded events", "loaded"), _m("Quarantined", "quarantined"),
    _m("Validity", "validity", "ratio"), _m("Completeness", "completeness", "ratio"),
    _m("Newest source change (UTC)", "latest_change", "time"),
    _m("Newest load (UTC)", "latest_load", "time"),
)
_ATTRIBUTES = (
    Col("Portal", "portal", "text"), Col("Entity type", "entity_type", "key"),
    Col("Attribute", "attribute", "key"), _m("Entities", "entities"), _m("Filled", "filled"),
)


def _portal_prefix(row: Mapping[str, Any]) -> str:
    return f"portal.{row['portal']}"


def _entity_prefix(row: Mapping[str, Any]) -> str:
    return f"entity.{row['portal']}.{row['entity_type']}"


def _portals(data: ReportData) -> str:
    if not data.portals:
        return _section("portals", "Per portal", _empty("No portal has data yet."))
    return _section(
        "portals", "Per portal",
        "<h3>Reconciliation: fetched = published + dead-lettered; events = loaded + "
        "quarantined</h3>",
        table(data.portals, _PORTAL_RECON, _portal_prefix),
        "<h3>Validity and freshness</h3>",
        table(data.portals, _PORTAL_QUALITY, _portal_prefix),
    )


def _entities(data: ReportData) -> str:
    if not data.entities:
        return _section("entities", "Per portal and entity type", _empty("No entities yet."))
    attributes = table(
        data.attributes, _ATTRIBUTES,
        lambda r: f"attribute.{r['portal']}.{r['entity_type']}.{r['attribute']}",
    )
    return _section(
        "entities", "Per portal and entity type",
        "<p>Validity: loaded / (loaded + quarantined) events. Completeness: share of key "
        "attributes filled in current entities (details below).</p>",
        table(data.entities, _ENTITY, _entity_prefix),
        f"<details><summary>Key-attribute fill rates</summary>{attributes}</details>",
    )


_RUN = (
    Col("Run", "run_id", "key"), Col("Portal", "portal", "text"),
    Col("Started (UTC)", "started", "time"), _m("Streams", "streams"), _m("Fetched", "fetched"),
    _m("Published", "published"), _m("Dead-lettered", "dead_lettered"), _m("Events", "events"),
    _m("Loaded", "loaded"), _m("Quarantined", "quarantined"),
    _m("Validity", "validity", "ratio"), _m("Balances now", "balanced_now", "bool"),
    _m("Stored verdict", "status", "status"), Col("Message", "message", "text"),
)


def runs_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Fourteen columns: compact type, so it fits a 1280 px screen (the browser test checks)."""
    return table(rows, _RUN, lambda r: f"run.{r['run_id']}", css="runs")


def _runs(data: ReportData) -> str:
    if not data.runs:
        return _section("runs", "Runs", _empty("No runs yet."))
    shown = data.runs[:LATEST_RUNS]
    return _section(
        "runs", f"Latest runs ({len(shown)} of {len(data.runs)})",
        runs_table(shown), '<p><a href="runs.html">All runs</a></p>',
    )


_EXPECTATION = (
    Col("Expectation", "expectation", "key"), _m("Quarantined rows", "failures"),
    Col("Entity type", "example_entity_type", "key"),
)
_QUARANTINE = (
    Col("Portal", "portal", "text"), Col("Entity type", "entity_type", "key"),
    _m("Rows", "rows"), Col("Newest (UTC)", "latest", "time"),
)
_DEAD = (
    Col("Portal", "portal", "text"), Col("Stream", "stream", "key"), _m("Runs", "runs"),
    _m("Fetched", "fetched"), _m("Dead-lettered", "dead_lettered"),
    _m("Rate", "rate", "ratio"),
)

_FIELD_ISSUES = (
    Col("Portal", "portal", "text"), Col("Kind", "kind", "key"), _m("Issues", "issues"),
    _m("Entities", "entities"),
)


def _quality(data: ReportData) -> str:
    top = data.expectations[:TOP_EXPECTATIONS]
    parts = [
        f"<h3>Top failing expectations (of {len(data.expectations)} that failed)</h3>",
        table(top, _EXPECTATION, lambda r: f"expectation.{r['expectation']}")
        if top else _empty("No expectation has failed."),
        '<p>Every suite with every expectation: <a href="expectations.html">expectation '
        "suites</a>.</p>",
        "<h3>Quarantine by portal and entity type</h3>",
        table(data.quarantine, _QUARANTINE,
              lambda r: f"quarantine.{r['portal']}.{r['entity_type']}")
        if data.quarantine else _empty("The quarantine is empty."),
        "<h3>Dead letters by portal and stream</h3>",
        table(data.dead_letters, _DEAD, lambda r: f"deadletter.{r['portal']}.{r['stream']}")
        if data.dead_letters else _empty("No dead letters."),
        "<h3>Field issues by portal and kind (records loaded, the value nulled)</h3>",
        table(data.field_issues, _FIELD_ISSUES,
              lambda r: f"fieldissue.{r['portal']}.{r['kind']}")
        if data.field_issues else _empty("No field issues."),
    ]
    return _section("quality", "Quality gate", *parts)


_RESOLUTION = (
    Col("Kind", "kind", "key"), _m("Golden records", "golden"),
    _m("Source entities", "source_entities"), _m("Links", "links"),
    _m("Unlinked", "unlinked"), _m("On 2+ portals", "multi_portal"),
    _m("Mean link score", "avg_score", "score"), _m("Overrides", "overrides"),
)
_RULES = (
    Col("Kind", "kind", "key"), Col("Rule", "rule", "key"), _m("Links", "links"),
    _m("Min score", "min_score", "score"), _m("Mean score", "avg_score", "score"),
)
_SPREAD = (Col("Kind", "kind", "key"), Col("Portals", "portal_count", "int"),
           _m("Golden records", "golden"))


def _resolution(data: ReportData) -> str:
    if not data.resolution:
        return _section("resolution", "Entity resolution",
                        _empty("Entity resolution has not run yet."))
    return _section(
        "resolution", "Entity resolution",
        table(data.resolution, _RESOLUTION, lambda r: f"resolution.{r['kind']}"),
        "<h3>Links by rule</h3>",
        table(data.resolution_rules, _RULES,
              lambda r: f"resolution.{r['kind']}.rule.{r['rule']}"),
        "<h3>Golden records by number of portals</h3>",
        table(data.resolution_spread, _SPREAD,
              lambda r: f"resolution.{r['kind']}.portals.{r['portal_count']}"),
    )


_DAILY = (
    Col("Day", "day", "text"), Col("Portal", "portal", "text"), _m("Runs", "runs"),
    _m("Fetched", "fetched"), _m("Published", "published"),
    _m("Dead-lettered", "dead_lettered"), _m("Events", "events"), _m("Loaded", "loaded"),
    _m("Quarantined", "quarantined"), _m("Validity", "validity", "ratio"),
)


def _over_time(data: ReportData) -> str:
    if not data.daily:
        return _section("over-time", "Over time", _empty("No runs yet."))
    return _section("over-time", "Over time (per day of the run's start, UTC)",
                    table(data.daily, _DAILY, lambda r: f"day.{r['day']}.{r['portal']}"))


def _charts(data: ReportData) -> str:
    if not data.daily:
        return _section("charts", "Charts", _empty("No data to chart yet."))
    days = sorted({r["day"] for r in data.daily})
    per_day: dict[str, dict[str, float]] = {d: {} for d in days}
    for r in data.daily:
        for key in ("loaded", "quarantined", "dead_lettered"):
            per_day[r["day"]][key] = per_day[r["day"]].get(key, 0) + (r[key] or 0)
    labels = [d[5:] for d in days]
    volume = stacked_bar_chart(
        "Per day: events loaded, events quarantined, records dead-lettered", labels,
        {"loaded": [per_day[d]["loaded"] for d in days],
         "quarantined": [per_day[d]["quarantined"] for d in days],
         "dead-lettered": [per_day[d]["dead_lettered"] for d in days]},
    )
    portals = [p["portal"] for p in data.portals if any(r["portal"] == p["portal"]
                                                        for r in data.daily)]
    validity = {(r["day"], r["portal"]): r["validity"] for r in data.daily}
    trend = line_chart("Event validity per day and portal", labels,
                       {p: [validity.get((d, p)) for d in days] for p in portals})
    parts = [volume, trend]
    top = data.expectations[:TOP_EXPECTATIONS]
    if top:
        parts.append(hbar_chart("Top failing expectations (quarantined rows)",
                                [r["expectation"] for r in top], [r["failures"] for r in top]))
    if data.resolution_spread:
        parts.append(hbar_chart(
            "Golden records by number of portals",
            [f"{r['kind']} on {r['portal_count']} portal(s)" for r in data.resolution_spread],
            [r["golden"] for r in data.resolution_spread]))
    return _section("charts", "Charts", *parts)


def _nav(docs: DataDocs) -> str:
    links = [("#summary", "Key figures"), ("#portals", "Per portal"),
             ("#entities", "Per entity type"), ("#runs", "Runs"), ("#quality", "Quality gate"),
             ("#resolution", "Entity resolution"), ("#over-time", "Over time"),
             ("#charts", "Charts"), ("expectations.html", "Expectation suites"),
             ("runs.html", "All runs")]
    if docs.index:
        links.append((docs.index, "GX Data Docs"))
    return "<nav>" + "".join(f'<a href="{escape(h)}">{escape(t)}</a>' for h, t in links) + "</nav>"


def render_index(data: ReportData, docs: DataDocs, source: str) -> str:
    """The summary page: headline figures, per-portal tables, runs, quality, charts."""
    body = "".join((
        _nav(docs),
        f'<p class="note" id="gx-data-docs">{escape(docs.note)}</p>',
        _headline(data), _portals(data), _entities(data), _runs(data), _quality(data),
        _resolution(data), _over_time(data), _charts(data),
    ))
    return _page("ecohub: auditors' quality report", data.generated_at, source, body)


def render_runs(data: ReportData, source: str) -> str:
    """Every run, newest first, with its live balance and stored verdict."""
    body = ('<nav><a href="index.html">Back to the summary</a></nav>'
            + (runs_table(data.runs) if data.runs else _empty("No runs yet.")))
    return _page("ecohub: all sync runs", data.generated_at, source, body)


_SUITE = (
    Col("Expectation", "name", "key"), Col("Type", "type", "key"),
    Col("Columns", "columns", "key"), Col("Arguments", "arguments", "text"),
    Col("Severity", "severity", "text"), Col("Why", "why", "text"),
    _m("Quarantined rows", "failures"),
)


def render_expectations(data: ReportData, suites: Sequence[Suite], docs: DataDocs,
                        source: str) -> str:
    """Every expectation suite of quality/, with how many quarantined rows failed each."""
    failures = {r["expectation"]: r["failures"] for r in data.expectations}
    parts = ['<nav><a href="index.html">Back to the summary</a>'
             + (f'<a href="{escape(docs.index)}">GX Data Docs</a>' if docs.index else "")
             + "</nav>", f'<p class="note">{escape(docs.note)}</p>']
    for suite in suites:
        rows = [{**vars(e), "failures": failures.get(e.name, 0)} for e in suite.expectations]
        parts.append(f'<section id="suite-{escape(suite.name)}"><h2>{escape(suite.name)} '
                     f"({len(rows)} expectations)</h2><p>{escape(suite.applies_to)}</p>"
                     + table(rows, _SUITE, lambda r: f"expectation.{r['name']}")
                     + "</section>")
    return _page("ecohub: expectation suites", data.generated_at, source, "".join(parts))
