"""The test oracle: every report figure recomputed from a SQLite warehouse with plain SQL.

Deliberately independent of ``ecohub.report.data``: raw SQL strings through the standard
``sqlite3`` module, plus Python where a figure is easier to state that way (JSON arrays,
attribute fill rates). Shared by the unit tests and the headless-browser test, which load
this file by path (pytest runs with --import-mode=importlib).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

PORTALS = ("stinet", "techport", "hoip")

HEADLINE_SQL = {
    "runs.total": "SELECT COUNT(DISTINCT run_id) FROM run_extracts",
    "runs.balanced": "SELECT COUNT(*) FROM runs WHERE status = 'balanced'",
    "runs.unbalanced": "SELECT COUNT(*) FROM runs WHERE status = 'unbalanced'",
    "runs.pending": "SELECT COUNT(*) FROM runs WHERE status = 'pending'",
    "runs.unchecked": "SELECT COUNT(DISTINCT run_id) FROM run_extracts "
                      "WHERE run_id NOT IN (SELECT run_id FROM runs)",
    "records.fetched": "SELECT COALESCE(SUM(fetched), 0) FROM run_extracts",
    "records.published": "SELECT COALESCE(SUM(published), 0) FROM run_extracts",
    "deadletter.total": "SELECT COALESCE(SUM(dead_lettered), 0) FROM run_extracts",
    "validity.records": "SELECT CAST(SUM(published) AS REAL) / SUM(fetched) FROM run_extracts",
    "events.published": "SELECT COALESCE(SUM(events), 0) FROM run_extracts",
    "events.loaded": "SELECT COUNT(*) FROM load_receipts WHERE outcome = 'loaded'",
    "events.quarantined": "SELECT COUNT(*) FROM load_receipts WHERE outcome = 'quarantined'",
    "validity.events": "SELECT CAST(SUM(outcome = 'loaded') AS REAL) / COUNT(*) "
                       "FROM load_receipts",
    "quarantine.total": "SELECT COUNT(*) FROM quarantine",
    "entities.current": "SELECT COUNT(*) FROM entity_version "
                        "WHERE is_current = 1 AND is_deleted = 0",
    "entities.deleted": "SELECT COUNT(*) FROM entity_version "
                        "WHERE is_current = 1 AND is_deleted = 1",
    "entities.versions": "SELECT COUNT(*) FROM entity_version",
}

_RUN_PORTAL = "(SELECT run_id, MIN(portal) AS portal FROM run_extracts GROUP BY run_id)"


def _ts(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _div(part: float | None, whole: float | None) -> float | None:
    return None if not whole else float(part or 0) / whole


class Oracle:
    """``value(metric)`` answers what the report should show for ``metric``."""

    def __init__(self, db_path: Path, now: datetime, key_attributes: dict[str, tuple[str, ...]]):
        self.db = sqlite3.connect(db_path)
        self.now = now
        self.key_attributes = key_attributes

    def one(self, sql: str, *params: Any) -> Any:
        return self.db.execute(sql, params).fetchone()[0]

    # ------------------------------------------------------------------ dispatch

    def value(self, name: str) -> Any:
        if name == "report.generated_at":
            return self.now
        if name in HEADLINE_SQL:
            return self.one(HEADLINE_SQL[name])
        family, rest = name.split(".", 1)
        handler = getattr(self, f"_{family}")
        return handler(rest)

    # ------------------------------------------------------------------ families

    def _receipts(self, where: str, *params: Any) -> tuple[int, int]:
        sql = (f"SELECT COALESCE(SUM(r.outcome = 'loaded'), 0), "
               f"COALESCE(SUM(r.outcome = 'quarantined'), 0) FROM load_receipts r "
               f"LEFT JOIN {_RUN_PORTAL} e ON e.run_id = r.runid WHERE {where}")
        loaded, quarantined = self.db.execute(sql, params).fetchone()
        return loaded, quarantined

    def _run_starts(self, portal: str) -> list[datetime]:
        rows = self.db.execute(
            "SELECT MIN(recorded_at) FROM run_extracts WHERE portal = ? GROUP BY run_id",
            (portal,)).fetchall()
        return [datetime.fromisoformat(r[0]) for r in rows]

    def _portal(self, rest: str) -> Any:
        portal, what = rest.split(".")
        extract = {"fetched", "published", "dead_lettered", "events"}
        if what in extract:
            return self.one(f"SELECT SUM({what}) FROM run_extracts WHERE portal = ?", portal)
        if what == "runs":
            return self.one("SELECT COUNT(DISTINCT run_id) FROM run_extracts WHERE portal = ?",
                            portal)
        if what in {"balanced", "unbalanced", "pending"}:
            return self.one(f"SELECT COUNT(*) FROM runs WHERE status = ? AND run_id IN "
                            f"(SELECT run_id FROM {_RUN_PORTAL} WHERE portal = ?)", what, portal)
        if what == "unchecked":
            return self.one(f"SELECT COUNT(*) FROM {_RUN_PORTAL} e WHERE portal = ? AND "
                            "run_id NOT IN (SELECT run_id FROM runs)", portal)
        loaded, quarantined = self._receipts("e.portal = ?", portal)
        starts = self._run_starts(portal)
        answers = {
            "loaded": loaded,
            "quarantined": quarantined,
            "event_validity": _div(loaded, loaded + quarantined),
            "record_validity": _div(
                self.one("SELECT SUM(published) FROM run_extracts WHERE portal = ?", portal),
                self.one("SELECT SUM(fetched) FROM run_extracts WHERE portal = ?", portal)),
            "quarantine_rows": self.one("SELECT COUNT(*) FROM quarantine WHERE entity_key "
                                        "LIKE ?", f"{portal}:%"),
            "last_run": max(starts) if starts else None,
            "age_hours": (self.now - max(starts)).total_seconds() / 3600 if starts else None,
        }
        return answers[what]

    def _entity(self, rest: str) -> Any:
        portal, entity_type, what = rest.split(".")
        where = "portal = ? AND entity_type = ?"
        if what in {"loaded", "quarantined", "validity"}:
            loaded, quarantined = self._receipts("e.portal = ? AND r.entity_type = ?",
                                                 portal, entity_type)
            return {"loaded": loaded, "quarantined": quarantined,
                    "validity": _div(loaded, loaded + quarantined)}[what]
        if what == "completeness":
            rows = self._current_data(portal, entity_type)
            attributes = self.key_attributes[entity_type]
            filled = sum(1 for data in rows for a in attributes if data.get(a) is not None)
            return _div(filled, len(rows) * len(attributes))
        sql = {
            "versions": f"SELECT COUNT(*) FROM entity_version WHERE {where}",
            "current": f"SELECT COUNT(*) FROM entity_version WHERE {where} "
                       "AND is_current = 1 AND is_deleted = 0",
            "deleted": f"SELECT COUNT(*) FROM entity_version WHERE {where} "
                       "AND is_current = 1 AND is_deleted = 1",
            "latest_change": f"SELECT MAX(valid_from) FROM entity_version WHERE {where} "
                             "AND is_current = 1",
            "latest_load": f"SELECT MAX(loaded_at) FROM entity_version WHERE {where}",
        }[what]
        value = self.one(sql, portal, entity_type)
        return _ts(value) if what.startswith("latest") else value

    def _current_data(self, portal: str, entity_type: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT data FROM entity_version WHERE portal = ? AND entity_type = ? "
            "AND is_current = 1 AND is_deleted = 0", (portal, entity_type)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def _attribute(self, rest: str) -> Any:
        portal, entity_type, attribute, what = rest.split(".")
        rows = self._current_data(portal, entity_type)
        if what == "entities":
            return len(rows)
        return sum(1 for data in rows if data.get(attribute) is not None)

    def _run(self, rest: str) -> Any:
        run_id, what = rest.split(".")
        sums = self.db.execute(
            "SELECT COUNT(*), SUM(fetched), SUM(published), SUM(dead_lettered), SUM(events) "
            "FROM run_extracts WHERE run_id = ?", (run_id,)).fetchone()
        streams, fetched, published, dead, events = sums
        loaded, quarantined = self._receipts("r.runid = ?", run_id)
        status = self.db.execute("SELECT status FROM runs WHERE run_id = ?",
                                 (run_id,)).fetchone()
        return {
            "streams": streams, "fetched": fetched, "published": published,
            "dead_lettered": dead, "events": events, "loaded": loaded,
            "quarantined": quarantined, "validity": _div(loaded, loaded + quarantined),
            "balanced_now": fetched == published + dead and events == loaded + quarantined,
            "status": status[0] if status else "unchecked",
        }[what]

    def failures(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for (names,) in self.db.execute("SELECT failed_expectations FROM quarantine"):
            counts.update(set(json.loads(names)))
        return counts

    def _expectation(self, rest: str) -> Any:
        name = rest.removesuffix(".failures")
        return self.failures().get(name, 0)

    def _quarantine(self, rest: str) -> Any:
        portal, entity_type, what = rest.split(".")
        assert what == "rows"
        return self.one("SELECT COUNT(*) FROM quarantine WHERE entity_key LIKE ? "
                        "AND entity_type = ?", f"{portal}:%", entity_type)

    def _deadletter(self, rest: str) -> Any:
        portal, stream, what = rest.split(".")
        runs, fetched, dead = self.db.execute(
            "SELECT COUNT(*), SUM(fetched), SUM(dead_lettered) FROM run_extracts "
            "WHERE portal = ? AND stream = ?", (portal, stream)).fetchone()
        return {"runs": runs, "fetched": fetched, "dead_lettered": dead,
                "rate": _div(dead, fetched)}[what]

    def golden_portals(self) -> dict[str, tuple[str, int]]:
        """golden_id -> (kind, number of portals of its current source entities)."""
        portals: dict[str, set[str]] = defaultdict(set)
        kinds = dict(self.db.execute("SELECT golden_id, kind FROM golden_entity"))
        for golden_id, portal in self.db.execute(
            "SELECT l.golden_id, v.portal FROM entity_link l JOIN entity_version v "
            "ON v.entity_key = l.entity_key JOIN golden_entity g ON g.golden_id = l.golden_id "
            "WHERE v.is_current = 1 AND v.is_deleted = 0 AND v.entity_type = g.kind"
        ):
            portals[golden_id].add(portal)
        return {g: (kinds[g], len(p)) for g, p in portals.items()}

    def _resolution(self, rest: str) -> Any:
        parts = rest.split(".")
        kind = parts[0]
        if parts[1] == "rule":
            rule, what = parts[2], parts[3]
            sql = {"links": "COUNT(*)", "min_score": "MIN(score)", "avg_score": "AVG(score)"}
            return self.one(f"SELECT {sql[what]} FROM entity_link WHERE kind = ? AND rule = ?",
                            kind, rule)
        if parts[1] == "portals":
            n = int(parts[2])
            return sum(1 for k, c in self.golden_portals().values() if k == kind and c == n)
        what = parts[1]
        current = ("FROM entity_version v WHERE v.is_current = 1 AND v.is_deleted = 0 "
                   "AND v.entity_type = ?")
        sql = {
            "golden": "SELECT COUNT(*) FROM golden_entity WHERE kind = ?",
            "links": "SELECT COUNT(*) FROM entity_link WHERE kind = ?",
            "avg_score": "SELECT AVG(score) FROM entity_link WHERE kind = ?",
            "overrides": "SELECT COUNT(*) FROM resolution_override WHERE kind = ?",
            "source_entities": f"SELECT COUNT(*) {current}",
            "unlinked": f"SELECT COUNT(*) {current} AND v.entity_key NOT IN "
                        "(SELECT entity_key FROM entity_link)",
        }
        if what == "multi_portal":
            return sum(1 for k, c in self.golden_portals().values() if k == kind and c >= 2)
        return self.one(sql[what], kind)

    def _day(self, rest: str) -> Any:
        day, portal, what = rest.split(".")
        run_ids = [r[0] for r in self.db.execute(
            "SELECT run_id FROM run_extracts WHERE portal = ? GROUP BY run_id "
            "HAVING date(MIN(recorded_at)) = ?", (portal, day))]
        marks = ",".join("?" * len(run_ids))
        fetched, published, dead, events = self.db.execute(
            f"SELECT SUM(fetched), SUM(published), SUM(dead_lettered), SUM(events) "
            f"FROM run_extracts WHERE run_id IN ({marks})", run_ids).fetchone()
        loaded, quarantined = self._receipts(f"r.runid IN ({marks})", *run_ids)
        return {"runs": len(run_ids), "fetched": fetched, "published": published,
                "dead_lettered": dead, "events": events, "loaded": loaded,
                "quarantined": quarantined,
                "validity": _div(loaded, loaded + quarantined)}[what]


# --------------------------------------------------------------------------- page reading


class MetricReader(HTMLParser):
    """Collects (data-metric, data-value) pairs and every src/href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics: list[tuple[str, str]] = []
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "data-metric" in found:
            self.metrics.append((found["data-metric"] or "", found.get("data-value") or ""))
        for attr in ("src", "href", "xlink:href", "action", "poster", "data"):
            if found.get(attr):
                self.references.append(found[attr] or "")


def read_page(html: str) -> MetricReader:
    reader = MetricReader()
    reader.feed(html)
    return reader


def matches(shown: str, expected: Any) -> bool:
    """Does the page's data-value equal the oracle's value?"""
    if expected is None:
        return shown == ""
    if isinstance(expected, bool):
        return shown == ("true" if expected else "false")
    if isinstance(expected, datetime):
        return shown == expected.isoformat(timespec="seconds")
    if isinstance(expected, float):
        return shown != "" and abs(float(shown) - expected) <= 1e-9 * max(1.0, abs(expected))
    if isinstance(expected, int):
        return shown != "" and float(shown) == expected
    return shown == str(expected)
