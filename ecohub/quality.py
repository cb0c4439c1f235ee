"""The quality gate: validate a micro-batch of events with Great Expectations, row by row.

Why GX and why this shape: auditors review the expectation suites as plain JSON files in
``quality/`` (one per entity type, plus ``envelope.json`` applied to every event); the loader
needs a *row-level* verdict so one bad record is quarantined while the rest of its batch loads.
GX reports failing rows through ``unexpected_index_list`` (result format COMPLETE); we map them
back to the events and name the failed expectations (each expectation's ``meta.name``). A suite
is screened BOOLEAN_ONLY first and only its failed expectations are run again COMPLETE
(:meth:`_Gx.validate`): the same checks and verdicts at about half the GX work.

Severity follows GX: a ``critical`` failure quarantines the row; ``warning`` and ``info``
failures are kept in the GX result (Data Docs) and in :attr:`BatchVerdict.warnings` but do not
block the row. An expectation that fails without row indexes (a table-level check) is a
batch-level finding: it is reported, and never blocks the rows that pass.

GX costs seconds to import and set up, so the context and the suites are built once per
process, lazily, on first use.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ecohub.catalog import ENTITY_TYPES
from ecohub.errors import ConfigError
from ecohub.events import upgrade_envelope
from ecohub.portals import portal_names, spell_portal_sets

__all__ = [
    "DELETE_SUITE",
    "ENVELOPE_SUITE",
    "SUITES_DIR",
    "BatchVerdict",
    "FailedRow",
    "flatten_event",
    "load_suite_file",
    "suite_names",
    "validate_batch",
    "validate_events",
]

log = logging.getLogger(__name__)

SUITES_DIR = Path(__file__).resolve().parents[1] / "quality"
ENVELOPE_SUITE = "envelope"
DELETE_SUITE = "delete"
_NO_SUITE = "entitytype.has_a_suite"
# envelope attributes whose JSON type the suites check (``type(<name>)`` columns)
_TYPED = ("id", "entitykey", "entityversion", "operation", "sourceid", "data")
_gx_lock = threading.Lock()
_INTEGER = re.compile(r"-?[0-9]+")  # entityversion_ms: the decimal string's value, else None
# JSON scalars: flatten_event takes them as they are (exact types; subclasses take the long way)
_SCALARS = frozenset({str, int, float, bool, type(None)})
_PARTS = 64  # sets of failed expectations kept per suite, each as a GX suite (_Gx.part)


@dataclass(frozen=True)
class FailedRow:
    """One event that failed at least one critical expectation."""

    row: Mapping[str, Any]
    expectations: tuple[str, ...]


@dataclass
class BatchVerdict:
    """The row-level outcome of validating one batch of one entity type."""

    entity_type: str
    passed: list[Mapping[str, Any]] = field(default_factory=list)
    failed: list[FailedRow] = field(default_factory=list)
    warnings: dict[int, list[str]] = field(default_factory=dict)
    batch_findings: list[str] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.failed and not self.batch_findings

    def summary(self) -> dict[str, Any]:
        """Counts per failed expectation name, for logs and the report."""
        counts: dict[str, int] = {}
        for failed in self.failed:
            for name in failed.expectations:
                counts[name] = counts.get(name, 0) + 1
        return {
            "entity_type": self.entity_type,
            "passed": len(self.passed),
            "failed": len(self.failed),
            "failed_by_expectation": dict(sorted(counts.items())),
            "batch_findings": list(self.batch_findings),
        }


# --------------------------------------------------------------------------- suites on disk


def load_suite_file(path: Path) -> dict[str, Any]:
    """Read one suite file and check what GX would otherwise only log: names and shapes."""
    try:
        suite = json.loads(spell_portal_sets(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"expectation suite is unreadable: {exc}", path=str(path)) from exc
    expectations = suite.get("expectations")
    if not isinstance(expectations, list):
        raise ConfigError("expectation suite has no 'expectations' list", path=str(path))
    seen: set[str] = set()
    for i, exp in enumerate(expectations):
        name = (exp.get("meta") or {}).get("name")
        if not name or name in seen:
            raise ConfigError(
                "every expectation needs a unique meta.name", path=str(path), index=i, name=name
            )
        seen.add(name)
    return suite


def suite_names(suites_dir: Path | None = None) -> list[str]:
    """Entity types that have a suite file (besides envelope and delete)."""
    root = suites_dir or SUITES_DIR
    return sorted(
        p.stem for p in root.glob("*.json") if p.stem not in {ENVELOPE_SUITE, DELETE_SUITE}
    )


def _suite_dict(name: str, suites_dir: Path) -> dict[str, Any] | None:
    return _suite_for(name, suites_dir, portal_names())


@lru_cache(maxsize=64)
def _suite_for(name: str, suites_dir: Path, portals: tuple[str, ...]) -> dict[str, Any] | None:
    """One suite file, read once per set of registered portals (its portal value sets and key
    patterns name every registered portal: :func:`ecohub.portals.spell_portal_sets`)."""
    path = suites_dir / f"{name}.json"
    return load_suite_file(path) if path.is_file() else None


def _merged(name: str, suites_dir: Path) -> dict[str, Any] | None:
    """Envelope expectations + the entity's (or the delete suite for deletes)."""
    own = _suite_dict(name, suites_dir)
    if own is None:
        return None
    envelope = _suite_dict(ENVELOPE_SUITE, suites_dir) or {"expectations": []}
    expectations = list(envelope["expectations"]) + list(own["expectations"])
    names = [e["meta"]["name"] for e in expectations]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError("expectation names repeat across suites", suite=name, names=duplicates)
    return {"name": name, "expectations": expectations, "meta": own.get("meta", {})}


# --------------------------------------------------------------------------- GX, built once


class _Gx:
    """The ephemeral GX context with one pandas asset and one suite per validated name."""

    def __init__(self) -> None:
        # deferred: GX costs ~4 s to import (python -X importtime), paid on first validation
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.source = self.context.data_sources.add_pandas("ecohub")
        self.batches: dict[str, Any] = {}
        self.suites: dict[tuple[str, Path, tuple[str, ...]], _Suite | None] = {}
        self.graphs: dict[tuple[Any, ...], tuple[list[Any], list[Any], list[Any]]] = {}

    def suite(self, name: str, suites_dir: Path) -> _Suite | None:
        """The GX suite of one file (``envelope``, ``delete`` or an entity type), built once.

        Entity and delete suites run after the envelope suite on the same rows, each with its
        own expectations, so the envelope's checks run once per batch, not once per entity
        type; :func:`_merged` still refuses a name repeated across the two files.
        """
        key = (name, suites_dir, portal_names())
        if key not in self.suites:
            own = _suite_dict(name, suites_dir)
            if own is not None and name != ENVELOPE_SUITE:
                _merged(name, suites_dir)  # names must not repeat across the two files
            self.suites[key] = None if own is None else _Suite(
                name=name,
                gx=self._build(f"{name}@{abs(hash(key))}", own),
                columns=sorted(_columns(own)),
                spec=own,
            )
        return self.suites[key]

    def part(self, suite: _Suite, names: Sequence[str]) -> tuple[Any, tuple[str, ...] | None]:
        """The GX suite of only the expectations ``names`` of ``suite`` (in its order), and
        the key it is kept under: built once per set of names, for the first ``_PARTS`` sets
        (past those, built for one run and not kept: key None)."""
        key = tuple(sorted(names))
        if key in suite.parts:
            return suite.parts[key], key
        wanted = set(key)
        spec = {**suite.spec, "expectations": [
            e for e in suite.spec["expectations"] if e["meta"]["name"] in wanted]}
        built = self._build(f"{suite.gx.name}#{len(suite.parts) + 1}", spec)
        if len(suite.parts) >= _PARTS:
            return built, None
        suite.parts[key] = built
        return built, key

    def validate(self, suite: _Suite, frame: Any, *, split_on_raise: bool = False) -> Any:
        """The COMPLETE GX result of ``suite`` on ``frame``, computed in up to two GX runs.

        Why two: GX's cost is per expectation and per metric, and a COMPLETE result
        (``unexpected_index_list``, unexpected values and counts) needs about three times the
        metrics of a BOOLEAN_ONLY one. Most expectations pass, so the whole suite runs
        BOOLEAN_ONLY first, and only the expectations that failed run again COMPLETE (same
        frame, same batch); their results replace the screening ones, so every failed
        expectation carries the rows it failed. A passing expectation's result is GX's
        BOOLEAN_ONLY result (success, no counts). An expectation that *raises* in either run
        sends the whole suite to one COMPLETE run, exactly the single run it used to be;
        unless ``split_on_raise`` (:func:`_run` then splits the rows on any raise and drops
        this result): a raising result comes back as it is, since a COMPLETE run computes
        every metric of the run that raised and would raise too.
        """
        # deferred: part of GX (~4 s to import), loaded by _Gx() before this runs
        from great_expectations.validator.v1_validator import Validator

        # one batch (one dataframe load and fingerprint) for both runs; Batch.validate()
        # would load the frame a second time for a validator of its own
        validator = Validator(batch_definition=self.batch_definition(suite.name),
                              batch_parameters={"dataframe": frame})
        run = self._graphs_reused(validator)
        screen = run(suite.gx, "BOOLEAN_ONLY", (suite.gx.name,))
        failed = [_name(r) for r in screen.results if not r.success]
        if not failed:
            return screen
        if any(_raised(r.exception_info) for r in screen.results):
            if split_on_raise:
                return screen
        else:
            part, key = self.part(suite, failed)
            detail = run(part, "COMPLETE", None if key is None else (suite.gx.name, *key))
            found = {_name(r): r for r in detail.results}
            if split_on_raise and any(_raised(r.exception_info) for r in detail.results):
                return detail
            if set(found) == set(failed) and not any(
                    r.success or _raised(r.exception_info) for r in detail.results):
                screen.results = [found.get(_name(r), r) for r in screen.results]
                return screen
        return run(suite.gx, "COMPLETE", (suite.gx.name,))

    def _graphs_reused(
        self, validator: Any
    ) -> Callable[[Any, str, tuple[str, ...] | None], Any]:
        """``run(suite, result_format, key)`` on ``validator``'s batch, with GX's metric graph
        of each expectation built once per suite ``key`` and result format, not once per run
        (``key`` None: built for this run only).

        Why: GX builds every expectation's metric dependency graph anew for each run (its
        domain object, configuration and metric ids, ~40 % of a run), yet the graph depends
        only on the expectation, the result format and the batch id, and the batch id of a
        whole-dataframe asset is its name. The first run of a (suite, format, batch id) builds
        the graphs as GX does and keeps their edges and configurations; later runs get the
        same edges in new graph objects bound to their own execution engine (a kept graph
        would pin the first run's batch). Only what GX computes before touching the data is
        reused: every metric is computed on the run's own frame.
        """
        # deferred: part of GX (~4 s to import), loaded by _Gx() before this runs
        from great_expectations.validator.validation_graph import (
            ExpectationValidationGraph,
            ValidationGraph,
        )

        inner = validator._wrapped_validator  # GX's Validator, built for this batch
        build = inner._generate_metric_dependency_subgraphs_for_each_expectation_configuration
        engine = inner._execution_engine
        current: list[tuple[str, ...] | None] = [None]

        def subgraphs(expectation_configurations: list[Any],
                      processed_configurations: list[Any], catch_exceptions: bool,
                      runtime_configuration: dict[str, Any] | None = None) -> Any:
            if current[0] is None:
                return build(expectation_configurations=expectation_configurations,
                             processed_configurations=processed_configurations,
                             catch_exceptions=catch_exceptions,
                             runtime_configuration=runtime_configuration)
            key = (*current[0], inner.active_batch_id, catch_exceptions,
                   json.dumps(runtime_configuration, sort_keys=True, default=str))
            if key not in self.graphs:
                graphs, evrs, processed = build(
                    expectation_configurations=expectation_configurations,
                    processed_configurations=[], catch_exceptions=catch_exceptions,
                    runtime_configuration=runtime_configuration)
                self.graphs[key] = ([(g.configuration, list(g.graph.edges)) for g in graphs],
                                    list(evrs), list(processed))
            kept, evrs, processed = self.graphs[key]
            processed_configurations.extend(processed)
            return ([ExpectationValidationGraph(
                        configuration=configuration,
                        graph=ValidationGraph(execution_engine=engine, edges=list(edges)))
                     for configuration, edges in kept],
                    list(evrs), processed_configurations)

        inner._generate_metric_dependency_subgraphs_for_each_expectation_configuration = (
            subgraphs)

        def run(suite: Any, result_format: str, key: tuple[str, ...] | None) -> Any:
            current[0] = key
            validator.result_format = {"result_format": result_format}
            return validator.validate_expectation_suite(suite)

        return run

    def _build(self, name: str, suite: Mapping[str, Any]) -> Any:
        # deferred: part of GX (~4 s to import), loaded by _Gx() before this runs
        from great_expectations.core.expectation_suite import ExpectationSuite

        # The constructor keeps every expectation; add_expectation_configuration() would
        # fold two checks of one column (e.g. two regexes) into one.
        built = ExpectationSuite(
            name=name,
            meta=suite.get("meta", {}),
            expectations=[_configuration(exp) for exp in suite["expectations"]],
        )
        if len(built.expectations) != len(suite["expectations"]):
            raise ConfigError("GX rejected an expectation of the suite", suite=name)
        return built

    def batch_definition(self, name: str) -> Any:
        if name not in self.batches:
            asset = self.source.add_dataframe_asset(name)
            self.batches[name] = asset.add_batch_definition_whole_dataframe(name)
        return self.batches[name]


@dataclass(frozen=True)
class _Suite:
    """One suite file as GX runs it, and the columns its expectations read."""

    name: str
    gx: Any
    columns: list[str]
    spec: Mapping[str, Any] = field(default_factory=dict)  # the suite file, as read
    parts: dict[tuple[str, ...], Any] = field(default_factory=dict, compare=False)


def _name(result: Any) -> str:
    """The name of the expectation a GX result is about (``meta.name``, else its type)."""
    config = result.expectation_config
    return str((config.meta or {}).get("name") or config.type)


def _configuration(exp: Mapping[str, Any]) -> Any:
    # deferred: part of GX (~4 s to import), loaded by _Gx() before this runs
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    try:
        return ExpectationConfiguration(
            type=exp["type"],
            kwargs=dict(exp.get("kwargs") or {}),
            meta=dict(exp.get("meta") or {}),
            severity=exp.get("severity", "critical"),
        )
    except Exception as exc:  # GX raises several types for a bad configuration
        raise ConfigError(
            f"invalid expectation: {exc}", name=exp.get("meta", {}).get("name")
        ) from exc


@lru_cache(maxsize=1)
def _gx() -> _Gx:
    return _Gx()


# --------------------------------------------------------------------------- rows


def flatten_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The tabular view of one event that the suites talk about.

    Envelope attributes keep their names (``id``, ``entitykey``, ``sourceportal``...; a v1
    event is upgraded first, :func:`ecohub.events.upgrade_envelope`), ``entityversion_ms`` is
    the integer the decimal-string ``entityversion`` stands for (``None`` when it is not
    an integer in decimal digits), and ``data.*`` is flattened with dots (nested
    objects too; lists stay lists). Computed columns make cross-field checks expressible in GX:
    ``len(<list column>)`` for every list,
    ``_expected_type`` (``vn.hcmc.ecohub.<entitytype>.<operation>``), ``_key_prefix`` (the
    first two segments of ``entitykey``), ``_key_source_id`` (the rest of it),
    ``_expected_key_prefix`` (``<sourceportal>:<entitytype>``)
    and ``_tax_code_parent`` (the first 10 digits of ``data.tax_code.value``), and
    ``type(<attribute>)`` (the JSON type as Python names it: ``int``, ``str``, ``dict``,
    ``NoneType``...) of the envelope attributes the warehouse computes with.
    """
    return _flatten(event, None)


def _flatten(event: Mapping[str, Any], wanted: _Wanted | None) -> dict[str, Any]:
    """:func:`flatten_event`; with ``wanted``, only the ``data.*`` columns it names (and the
    computed ones): each of those has the value :func:`flatten_event` gives it."""
    event = upgrade_envelope(dict(event))
    row: dict[str, Any] = {}
    for key, value in event.items():
        if key == "data" and isinstance(value, Mapping):
            if wanted is None:
                _flatten_into(row, key, value)
            else:
                _flatten_wanted(row, key, value, wanted)
        elif key != "data":
            row[key] = value
    version = event.get("entityversion")
    row["entityversion_ms"] = (int(version) if isinstance(version, str)
                               and _INTEGER.fullmatch(version) else None)
    portal = event.get("sourceportal")
    entitykey = event.get("entitykey")
    row["_expected_type"] = f"vn.hcmc.ecohub.{event.get('entitytype')}.{event.get('operation')}"
    row["_key_prefix"] = ":".join(entitykey.split(":")[:2]) if isinstance(entitykey, str) else None
    row["_key_source_id"] = (
        entitykey.split(":", 2)[2]
        if isinstance(entitykey, str) and entitykey.count(":") >= 2
        else None
    )
    row["_expected_key_prefix"] = f"{portal}:{event.get('entitytype')}"
    tax = row.get("data.tax_code.value")
    row["_tax_code_parent"] = tax[:10] if isinstance(tax, str) else None
    for name in _TYPED:
        row[f"type({name})"] = type(event.get(name)).__name__ if name in event else None
    return row


def _flatten_into(row: dict[str, Any], prefix: str, value: Mapping[str, Any]) -> None:
    for key, inner in value.items():
        name = f"{prefix}.{key}"
        kind = type(inner)
        if kind in _SCALARS:  # most values: no isinstance against the Mapping ABC (slow)
            row[name] = inner
        elif kind is list:
            row[name] = inner
            row[f"len({name})"] = len(inner)
        elif kind is not dict and not isinstance(inner, Mapping):
            row[name] = inner
            if isinstance(inner, list):
                row[f"len({name})"] = len(inner)
        else:
            _flatten_into(row, name, inner)


@dataclass(frozen=True)
class _Wanted:
    """The ``data.*`` columns some suites read: ``names`` (a list's own name for its
    ``len(...)``) and ``prefixes``, every name an object must have for a wanted column to lie
    under it (``data.a`` and ``data.a.b`` for ``data.a.b.c``); ``children`` maps ``data`` and
    each prefix to the keys under it that make a wanted name or prefix (``f"{prefix}.{key}"``,
    dotted keys too: ``"b.c"`` under ``data.a`` for ``data.a.b.c``)."""

    names: frozenset[str]
    prefixes: frozenset[str]
    children: Mapping[str, Mapping[str, str]]


@lru_cache(maxsize=256)
def _wanted(suites: tuple[str, ...], root: Path, portals: tuple[str, ...]) -> _Wanted:
    """The columns of the suite files ``suites``, plus ``data.tax_code.value`` (a computed
    column's source)."""
    names = {"data.tax_code.value"}
    for name in suites:
        own = _suite_for(name, root, portals)
        for column in _columns(own) if own is not None else ():
            names.add(column[4:-1] if column.startswith("len(") and column.endswith(")")
                      else column)
    names = {n for n in names if n.startswith("data.")}
    prefixes = {n[:i] for n in names for i, c in enumerate(n) if c == "."}
    children: dict[str, dict[str, str]] = {}
    for full in names | prefixes:
        for i, c in enumerate(full):
            if c == "." and full[:i] in prefixes:
                children.setdefault(full[:i], {})[full[i + 1:]] = full
    return _Wanted(frozenset(names), frozenset(prefixes), children)


def _flatten_wanted(
    row: dict[str, Any], prefix: str, value: Mapping[str, Any], wanted: _Wanted
) -> None:
    """:func:`_flatten_into` for the wanted columns only. Exact: it visits, in the same order,
    every object whose name is a prefix of a wanted column, so it makes every write
    :func:`_flatten_into` makes to a wanted column (the last one wins in both)."""
    children = wanted.children.get(prefix, {})
    for key, inner in value.items():
        # a str key that names nothing wanted under prefix is skipped without a string built
        name = children.get(key) if type(key) is str else f"{prefix}.{key}"
        if name is None:
            continue
        kind = type(inner)
        if kind in _SCALARS or kind is list or (
                kind is not dict and not isinstance(inner, Mapping)):
            if name in wanted.names:
                row[name] = inner
                if isinstance(inner, list):
                    row[f"len({name})"] = len(inner)
        elif name in wanted.prefixes:
            _flatten_wanted(row, name, inner, wanted)


def _columns(suite_dict: Mapping[str, Any]) -> set[str]:
    cols: set[str] = set()
    for exp in suite_dict["expectations"]:
        kwargs = exp.get("kwargs") or {}
        for key in ("column", "column_A", "column_B"):
            if key in kwargs:
                cols.add(kwargs[key])
        cols.update(kwargs.get("column_list") or [])
    return cols


def _frame(flat: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Any:
    """Only the columns the suite reads: GX copies and filters the whole frame per metric."""
    # deferred: pandas costs ~0.3 s to import (python -X importtime); GX brings it anyway
    import pandas as pd

    frame = pd.DataFrame.from_records(flat, columns=list(columns), index=range(len(flat)))
    return frame.astype(object).where(frame.notna(), None)


# --------------------------------------------------------------------------- validation


@dataclass
class _Outcome:
    """What one suite said about a list of rows (indexes into that list)."""

    critical: dict[int, list[str]] = field(default_factory=dict)
    soft: dict[int, list[str]] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)

    def absorb(self, other: _Outcome, shift: int) -> None:
        for target, source in ((self.critical, other.critical), (self.soft, other.soft)):
            for index, names in source.items():
                target.setdefault(index + shift, []).extend(names)
        self.findings.extend(f for f in other.findings if f not in self.findings)
        self.results.extend(other.results)


def _run(suite: _Suite, flat: Sequence[Mapping[str, Any]]) -> _Outcome:
    """Validate the flattened rows ``flat`` with one suite, row by row.

    An expectation that *raises* (e.g. a range check meeting a string) cannot say which row
    broke it; the rows are then split in halves and validated again until the rows that make
    it raise stand alone: they fail that expectation, and their neighbours are judged on
    their own merits. A poisoned batch costs a few more GX runs, never the batch.
    """
    result = _gx().validate(suite, _frame(flat, suite.columns), split_on_raise=len(flat) > 1)
    out = _Outcome(results=[result])
    raised: list[str] = []
    for res in result.results:
        if res.success:
            continue
        config = res.expectation_config
        exp_name = _name(res)
        if _raised(res.exception_info):
            raised.append(exp_name)
            continue
        indexes = (res.result or {}).get("unexpected_index_list")
        if not indexes:
            out.findings.append(exp_name)
            continue
        target = (
            out.critical
            if str(config.severity.value if hasattr(config.severity, "value") else config.severity)
            == "critical"
            else out.soft
        )
        for index in indexes:
            target.setdefault(int(index), []).append(exp_name)
    if not raised:
        return out
    if len(flat) == 1:
        out.critical.setdefault(0, []).extend(raised)
        return out
    middle = len(flat) // 2
    halves = _Outcome()
    halves.absorb(_run(suite, flat[:middle]), 0)
    halves.absorb(_run(suite, flat[middle:]), middle)
    return halves


def _raised(info: Mapping[str, Any] | None) -> bool:
    """Whether GX caught an exception for an expectation: GX 1.x reports a metric's error
    under its metric id (``{"MetricConfigurationID(...)": {"raised_exception": True}}``),
    an expectation's own at the top level."""
    if not info:
        return False
    if info.get("raised_exception"):
        return True
    return any(isinstance(v, Mapping) and v.get("raised_exception") for v in info.values())


def _suite_of(row: Mapping[str, Any], entity_type: Any, root: Path) -> str | None:
    """The suite that follows the envelope for ``row``; None: ``entity_type`` has none."""
    if row.get("operation") == "delete":
        return DELETE_SUITE if _suite_dict(DELETE_SUITE, root) is not None else None
    known = (
        isinstance(entity_type, str)
        and entity_type in ENTITY_TYPES
        and _suite_dict(entity_type, root) is not None
    )
    return str(entity_type) if known else None


def validate_events(
    rows: Sequence[Mapping[str, Any]], *, suites_dir: Path | None = None
) -> BatchVerdict:
    """Validate events of any entity types; every row ends up in ``passed`` or ``failed``.

    Each event is checked as :func:`validate_batch` would check it with its own
    ``entitytype``; the envelope suite runs once over all the rows and each other suite once
    over its rows, so a large mixed batch costs a few GX runs, not one per entity type.
    The verdict's ``entity_type`` lists the types seen.
    """
    root = (suites_dir or SUITES_DIR).resolve()
    label = ",".join(sorted({str(r.get("entitytype")) for r in rows}))
    return _validate(label, rows, [_suite_of(r, r.get("entitytype"), root) for r in rows], root)


def validate_batch(
    entity_type: str, rows: Sequence[Mapping[str, Any]], *, suites_dir: Path | None = None
) -> BatchVerdict:
    """Validate events of one entity type; every row ends up in ``passed`` or ``failed``.

    Create/update events are checked against ``envelope.json`` + ``<entity_type>.json``;
    delete events against ``envelope.json`` + ``delete.json``. An entity type without a suite
    file fails every row with ``entitytype.has_a_suite`` (quarantined, never dropped).
    """
    root = (suites_dir or SUITES_DIR).resolve()
    return _validate(entity_type, rows, [_suite_of(r, entity_type, root) for r in rows], root)


def _validate(
    label: str, rows: Sequence[Mapping[str, Any]], suites: Sequence[str | None], root: Path
) -> BatchVerdict:
    """Run the envelope suite over the rows that have a suite, then each row's own suite."""
    verdict = BatchVerdict(entity_type=label)
    outcome: dict[int, list[str]] = {i: [] for i in range(len(rows))}
    groups: dict[str, list[int]] = {}
    for i, suite_name in enumerate(suites):
        if suite_name is None:
            outcome[i].append(_NO_SUITE)
        else:
            groups.setdefault(suite_name, []).append(i)
    checked = sorted(i for indexes in groups.values() for i in indexes)
    # only the data.* columns the suites read: a document's whole data is flattened otherwise
    wanted = _wanted((ENVELOPE_SUITE, *sorted(groups)), root, portal_names())
    flat = {i: _flatten(rows[i], wanted) for i in checked}
    runs = ([(ENVELOPE_SUITE, checked)] if checked else []) + sorted(groups.items())
    with _gx_lock:
        gx = _gx()
        for suite_name, indexes in runs:
            suite = gx.suite(suite_name, root)
            if suite is None:  # no envelope.json in a custom suites_dir: nothing to run
                continue
            found = _run(suite, [flat[i] for i in indexes])
            verdict.results.extend(found.results)
            verdict.batch_findings.extend(found.findings)
            for local, names in found.critical.items():
                outcome[indexes[local]].extend(names)
            for local, names in found.soft.items():
                verdict.warnings.setdefault(indexes[local], []).extend(names)
    for i, row in enumerate(rows):
        if outcome[i]:
            verdict.failed.append(FailedRow(row=row, expectations=tuple(sorted(set(outcome[i])))))
        else:
            verdict.passed.append(row)
    if verdict.batch_findings:
        log.warning("batch-level quality findings for %s: %s", label, verdict.batch_findings)
    return verdict
