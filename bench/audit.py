"""The quality gate scored against the simulators' truth: precision and recall per defect kind.

Why here and not in ``ecohub``: the truth exists only for simulated portals, so scoring is a
development and acceptance tool; it talks to the simulators' admin API over HTTP
(``GET /_admin/truth``, ``GET /_admin/truth/<resource>``) and never imports them, and the
runtime wheel does not carry it.

What it compares, for every live record the simulators served:

* **what was broken** - the truth line's ``defect`` (kind) and ``defect_field`` (served field);
* **what the hub did** - *stopped*: dead-lettered (read back from ``<prefix>.deadletter.v1``)
  or quarantined (warehouse table ``quarantine``); *loaded*: its current row in
  ``entity_version``, whose ``issues`` name the fields that were nulled and why.

Two levels, because the hub handles them differently on purpose (issue #14):

* **record-level** defects (:data:`RECORD_LEVEL`: a missing title, an implausible price) must
  stop the record: precision = stopped-and-broken / stopped, recall = stopped-and-broken /
  broken;
* **field-level** defects (an impossible date, a negative amount, a wrong ISBN check digit)
  must *not* stop the record: it loads with that field null and an issue on that field.
  Precision = issues on a defect's field that match a defect / all issues on those fields;
  recall = flagged field defects / field defects.

Usage (settings from ``ECOHUB_*``: warehouse URL, Kafka servers and topic prefix)::

    python -m bench.audit --score http://127.0.0.1:8101,http://127.0.0.1:8102,...

Exit status 0 when record-level precision and recall are both 1.0, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy import select

from ecohub.events import upgrade_envelope

__all__ = ["RECORD_LEVEL", "Outcome", "Score", "TruthLine", "main", "score", "truth_lines"]

# Defects that make the whole record unusable (the hub must stop it), by kind and why.
RECORD_LEVEL: dict[str, str] = {
    "missing_title": "a listing without its title (a required field) is not a listing",
    "implausible_price": "a price 1000x too high reads fine; only the quality gate can stop it",
}
# Entity-key id formats the normalizers use for one stream's primary entity (registry).
_ID_PREFIXES = ("lab-", "tu-van-")


@dataclass(frozen=True)
class TruthLine:
    portal: str
    resource: str
    key: str
    defect: str | None
    defect_field: str | None


@dataclass
class Outcome:
    """What the hub did with one source record (all of its entities)."""

    dead_letter_reasons: list[str] = field(default_factory=list)
    failed_expectations: list[str] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    loaded: bool = False

    @property
    def stopped(self) -> bool:
        return bool(self.dead_letter_reasons or self.failed_expectations)

    def reasons(self) -> list[str]:
        return ([f"dead letter: {r[:80]}" for r in self.dead_letter_reasons]
                + [f"quarantine: {e}" for e in self.failed_expectations])


@dataclass
class Ratio:
    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def text(self) -> str:
        value = self.value
        return "-" if value is None else f"{value:.4f} ({self.hits}/{self.total})"


@dataclass
class Score:
    records: int = 0
    stopped: int = 0
    record_precision: Ratio = field(default_factory=Ratio)
    record_recall: Ratio = field(default_factory=Ratio)
    field_precision: Ratio = field(default_factory=Ratio)
    field_recall: Ratio = field(default_factory=Ratio)
    by_kind: dict[str, Ratio] = field(default_factory=lambda: defaultdict(Ratio))
    field_precision_by_kind: dict[str, Ratio] = field(default_factory=lambda: defaultdict(Ratio))
    false_stops: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    field_issues: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def perfect(self) -> bool:
        return self.record_precision.value == 1.0 and self.record_recall.value == 1.0


# --------------------------------------------------------------------------- truth over HTTP
def truth_lines(url: str, session: requests.Session | None = None) -> Iterator[TruthLine]:
    """Every live record one simulator serves, with its defect (admin API, NDJSON)."""
    http = session or requests.Session()
    summary = http.get(f"{url}/_admin/truth", timeout=60)
    summary.raise_for_status()
    body = summary.json()
    for resource in body["resources"]:
        with http.get(f"{url}/_admin/truth/{resource}", stream=True, timeout=600) as resp:
            resp.raise_for_status()
            for raw in resp.iter_lines():
                if not raw:
                    continue
                line = json.loads(raw)
                if line["deleted"]:
                    continue
                yield TruthLine(body["portal"], resource, str(line["key"]), line.get("defect"),
                                line.get("defect_field"))


# --------------------------------------------------------------------------- what the hub did
def _source_key(source_id: str) -> str | None:
    """The portal key of a primary entity (derived entities such as ``.company``: None)."""
    if "." in source_id and source_id.endswith(".company"):
        return None
    for prefix in _ID_PREFIXES:
        if source_id.startswith(prefix):
            return source_id.removeprefix(prefix)
    return source_id


def _dead_letters(settings: Any) -> Iterator[dict[str, Any]]:
    from ecohub import kafka

    yield from kafka.read_topic(settings, kafka.deadletter_topic(settings.kafka.topic_prefix))


def outcomes(settings: Any) -> dict[tuple[str, str], Outcome]:
    """``(portal, source key) -> Outcome`` from the dead-letter topic and the warehouse."""
    from ecohub.db import get_engine
    from ecohub.warehouse.tables import entity_version, quarantine

    found: dict[tuple[str, str], Outcome] = defaultdict(Outcome)
    for message in _dead_letters(settings):
        ref = message["sourceref"]
        found[(ref["portal"], str(ref["id"]))].dead_letter_reasons.append(message["reason"])
    engine = get_engine(settings.warehouse_url)
    with engine.connect() as conn:
        for event, failed in conn.execute(select(quarantine.c.event,
                                                 quarantine.c.failed_expectations)):
            if not isinstance(event, dict):
                continue
            current = upgrade_envelope(event)  # quarantined v1 events name a sourceref
            ref = {"portal": current.get("sourceportal"), "id": current.get("sourceid")}
            names = [f if isinstance(f, str) else str(f.get("name", f)) for f in failed or []]
            found[(str(ref.get("portal")), str(ref.get("id")))].failed_expectations += names
        ev = entity_version.c
        query = select(ev.portal, ev.source_id, ev.data).where(ev.is_current, ~ev.is_deleted)
        for portal, source_id, data in conn.execution_options(yield_per=5000).execute(query):
            key = _source_key(str(source_id))
            if key is None:
                continue
            outcome = found[(portal, key)]
            outcome.loaded = True
            outcome.issues += (data or {}).get("issues") or []
    return found


# --------------------------------------------------------------------------- scoring
def _field_matches(issue: dict[str, Any], served_field: str) -> bool:
    name = str(issue.get("field", ""))
    return name.removeprefix("dc:") == served_field


def score(truth: Iterable[TruthLine], done: dict[tuple[str, str], Outcome]) -> Score:
    result = Score()
    defect_fields: dict[tuple[str, str], set[str]] = defaultdict(set)
    lines = list(truth)
    for line in lines:
        if line.defect and line.defect not in RECORD_LEVEL and line.defect_field:
            defect_fields[(line.portal, line.resource)].add(line.defect_field)
    for line in lines:
        result.records += 1
        outcome = done.get((line.portal, line.key), Outcome())
        record_broken = line.defect in RECORD_LEVEL
        if outcome.stopped:
            result.stopped += 1
            result.record_precision.total += 1
            result.record_precision.hits += record_broken
            if not record_broken:
                for reason in outcome.reasons():
                    result.false_stops[f"{line.portal}/{line.resource}: {reason}"] += 1
        for issue in outcome.issues:
            result.field_issues[(line.portal, str(issue.get("kind", "unknown")))] += 1
        if line.defect:
            kind = result.by_kind[f"{line.portal}/{line.resource}/{line.defect}"]
            kind.total += 1
        if record_broken:
            result.record_recall.total += 1
            result.record_recall.hits += outcome.stopped
            kind.hits += outcome.stopped
            if not outcome.stopped:
                result.missed[f"{line.portal}/{line.resource}/{line.defect}"] += 1
            continue
        # field level: on the fields where the simulators inject defects in this resource
        for served_field in defect_fields.get((line.portal, line.resource), ()):
            flagged = outcome.loaded and not outcome.stopped and any(
                _field_matches(i, served_field) for i in outcome.issues)
            is_defect = line.defect is not None and line.defect_field == served_field
            if flagged:
                result.field_precision.total += 1
                result.field_precision.hits += is_defect
                bucket = result.field_precision_by_kind[f"{line.portal}/{line.resource}/"
                                                        f"{served_field}"]
                bucket.total += 1
                bucket.hits += is_defect
            if is_defect:
                result.field_recall.total += 1
                result.field_recall.hits += flagged
                kind.hits += flagged
                if not flagged:
                    result.missed[f"{line.portal}/{line.resource}/{line.defect}"] += 1
    return result


def render(result: Score) -> str:
    out = [f"records scored: {result.records}, stopped (dead-lettered or quarantined): "
           f"{result.stopped}", "",
           "record-level defects (must be stopped):",
           f"  precision {result.record_precision.text()}",
           f"  recall    {result.record_recall.text()}",
           "field-level defects (record loads, field null with an issue):",
           f"  precision {result.field_precision.text()}",
           f"  recall    {result.field_recall.text()}", "",
           "recall per defect kind (portal/resource/kind):"]
    for name, ratio in sorted(result.by_kind.items()):
        level = "record" if name.rsplit("/", 1)[1] in RECORD_LEVEL else "field"
        out.append(f"  {name:<55} {level:<6} {ratio.text()}")
    out.append("field-issue precision per defect field (portal/resource/field):")
    for name, ratio in sorted(result.field_precision_by_kind.items()):
        out.append(f"  {name:<55} {ratio.text()}")
    if result.false_stops:
        out.append("records stopped without a record-level defect (top reasons):")
        out += [f"  {n:>7}  {r}" for r, n in result.false_stops.most_common(15)]
    if result.missed:
        out.append("defects missed:")
        out += [f"  {n:>7}  {k}" for k, n in result.missed.most_common(15)]
    out.append("field issues on loaded records, per portal and kind:")
    out += [f"  {portal:<9} {kind:<12} {n:>8}"
            for (portal, kind), n in sorted(result.field_issues.items())]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit", description=__doc__.split(
        "\n")[0] if __doc__ else None)
    parser.add_argument("--score", required=True,
                        help="comma-separated base URLs of the simulators to score against")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    from ecohub.settings import load_settings

    settings = load_settings()
    session = requests.Session()
    truth = [line for url in args.score.split(",") if url.strip()
             for line in truth_lines(url.strip().rstrip("/"), session)]
    result = score(truth, outcomes(settings))
    if args.json:
        print(json.dumps(as_dict(result), ensure_ascii=False, indent=2))
    else:
        print(render(result))
    return 0 if result.perfect else 1


def as_dict(result: Score) -> dict[str, Any]:
    return {
        "records": result.records, "stopped": result.stopped,
        "record_precision": result.record_precision.value,
        "record_recall": result.record_recall.value,
        "field_precision": result.field_precision.value,
        "field_recall": result.field_recall.value,
        "recall_by_kind": {k: [v.hits, v.total] for k, v in result.by_kind.items()},
        "false_stops": dict(result.false_stops),
        "missed": dict(result.missed),
        "field_issues": {f"{p}/{k}": n for (p, k), n in result.field_issues.items()},
    }


if __name__ == "__main__":
    sys.exit(main())
