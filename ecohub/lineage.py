"""OpenLineage run events for every sync, replay, load and reconcile run.

Why OpenLineage: auditors and the city's data office ask "where did this row come from, through
which job run?". The warehouse keeps ``runid``/``landinguri`` per event; these events say the
same in the standard that catalogs (Marquez, DataHub, OpenMetadata) and Airflow's own
OpenLineage provider read, so ecohub's runs appear in the lineage graph under their Airflow tasks.

The graph (dataset naming follows the OpenLineage conventions)::

    portal endpoint  --sync-->  landing prefix (the run's folder)  +  Kafka topics
    (http://host:port, /api/...)  (file, /abs/...; s3://bucket, key)   (kafka://broker, topic)
    landing prefix   --replay-> Kafka topics
    Kafka topics     --load-->  warehouse tables (sqlite:/path or postgres://host:port, table)
    warehouse tables --reconcile-> runs table

Each run emits START, then COMPLETE or FAIL (with the error). Facets: ``schema`` of each topic
from ``schemas/entities/``; ``columnLineage`` from each canonical field to the source fields it is
built from (found by perturbing a landed record and watching which canonical fields change:
the mappers' real behaviour, not a hand-kept table); ``dataQualityAssertions`` and
``dataQualityMetrics`` on the load's input topics from the Great Expectations verdicts; ``parent``
linking to the Airflow task (``apache-airflow-providers-openlineage`` macros) or to
``OPENLINEAGE_PARENT_ID``; and ``ecohub`` (schema ``schemas/lineage/ecohub-run-facet.json``) with
ecohub's own run id, which is the ``runid`` of every warehouse row the run produced.

Wiring is one decorator per entry point (:func:`traced_sync`, :func:`traced_replay`,
:func:`traced_load`, :func:`traced_reconcile`). Lineage is observability: a transport that fails
is logged, never allowed to fail the run it describes.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import functools
import json
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    RunFacet,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    schema_dataset,
)
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import data_quality_assertions_dataset as dq
from openlineage.client.facet_v2 import data_quality_metrics_input_dataset as dqm
from openlineage.client.facet_v2 import parent_run as pr
from openlineage.client.generated.base import set_producer
from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)

from ecohub.catalog import topic_name
from ecohub.errors import ConfigError
from ecohub.landing import Landing
from ecohub.quality import ENVELOPE_SUITE, SUITES_DIR, load_suite_file
from ecohub.settings import LineageSettings, Settings, load_settings

__all__ = [
    "PRODUCER",
    "RUN_FACET_SCHEMA_URL",
    "Parent",
    "column_lineage",
    "default_file",
    "emitter",
    "landing_dataset_id",
    "parent_from_airflow",
    "parent_run",
    "traced_load",
    "traced_reconcile",
    "traced_replay",
    "traced_sync",
]

log = logging.getLogger(__name__)

PRODUCER = "https://ecohub.hcmc.vn/lineage/ecohub"
RUN_FACET_SCHEMA_URL = "https://ecohub.hcmc.vn/schemas/lineage/ecohub-run-facet.json"
_RUN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://ecohub.hcmc.vn/lineage/runs")
_SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------- parent runs


@dataclass(frozen=True)
class Parent:
    """The run that started ours (an Airflow task), and the root of its hierarchy (the DAG run)."""

    namespace: str
    job: str
    run_id: str
    root: Parent | None = None

    @classmethod
    def parse(cls, parent_id: str, root_id: str | None = None) -> Parent:
        """From the provider's ``{namespace}/{job_name}/{run_id}`` (``lineage_parent_id``)."""
        namespace, _, rest = parent_id.partition("/")
        job, _, run_id = rest.rpartition("/")
        if not namespace or not job or not run_id:
            raise ValueError(f"not a lineage parent id (namespace/job/run_id): {parent_id!r}")
        uuid.UUID(run_id)
        root = cls.parse(root_id) if root_id else None
        return cls(namespace, job, run_id, root)


_parent: contextvars.ContextVar[Parent | None] = contextvars.ContextVar("ol_parent", default=None)


@contextlib.contextmanager
def parent_run(parent: Parent | None) -> Iterator[None]:
    """Runs emitted inside this block name ``parent`` as their parent run."""
    token = _parent.set(parent)
    try:
        yield
    finally:
        _parent.reset(token)


def parent_from_airflow(context: Mapping[str, Any]) -> Parent | None:
    """The OpenLineage identity the Airflow provider gives the running task (and its DAG run).

    Uses the provider's own macros, so the ids are those of the task's OpenLineage events;
    ``None`` when the provider is not installed."""
    try:  # deferred: optional (the provider), and ~6 s to import (python -X importtime)
        from airflow.providers.openlineage.plugins.macros import (
            lineage_parent_id,
            lineage_root_parent_id,
        )
    except ImportError:
        return None
    ti = context["ti"]
    return Parent.parse(lineage_parent_id(ti), lineage_root_parent_id(ti))


def _current_parent() -> Parent | None:
    parent = _parent.get()
    if parent is None and os.environ.get("OPENLINEAGE_PARENT_ID"):
        try:
            parent = Parent.parse(os.environ["OPENLINEAGE_PARENT_ID"],
                                  os.environ.get("OPENLINEAGE_ROOT_PARENT_ID"))
        except ValueError as exc:
            log.warning("ignoring OPENLINEAGE_PARENT_ID: %s", exc)
    return parent


# --------------------------------------------------------------------------- emitter


class _Emitter:
    """Builds and sends events; every failure to send is logged, not raised."""

    def __init__(self, settings: LineageSettings, var_dir: Path) -> None:
        self.settings = settings
        self.client = _client(settings, var_dir)

    @property
    def enabled(self) -> bool:
        return self.client is not None

    def emit(self, event: Any) -> None:
        if self.client is None:
            return
        try:
            self.client.emit(event)
        except Exception as exc:  # lineage must never fail the run it describes
            log.warning("OpenLineage event not sent (%s): %s", self.settings.transport, exc)


def _client(settings: LineageSettings, var_dir: Path) -> Any:
    set_producer(PRODUCER)
    if settings.transport == "off":
        return None
    if settings.transport == "console":
        return OpenLineageClient(transport=ConsoleTransport(ConsoleConfig()))
    if settings.transport == "file":
        path = settings.file_path or default_file(var_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        return OpenLineageClient(
            transport=FileTransport(FileConfig(log_file_path=str(path), append=True))
        )
    if settings.url is None:
        raise ConfigError("lineage transport http needs ECOHUB_LINEAGE__URL")
    auth = (
        ApiKeyTokenProvider({"apiKey": settings.api_key.get_secret_value()})
        if settings.api_key is not None
        else TokenProvider({})
    )
    config = HttpConfig(url=settings.url, endpoint=settings.endpoint, timeout=settings.timeout,
                        auth=auth)
    return OpenLineageClient(transport=HttpTransport(config))


def default_file(var_dir: Path) -> Path:
    """Where the file transport writes when ``lineage.file_path`` is not set."""
    return var_dir / "lineage" / "openlineage.ndjson"


def emitter(settings: Settings) -> _Emitter:
    return _Emitter(settings.lineage, settings.var_dir)


# --------------------------------------------------------------------------- datasets


def _endpoint_dataset(settings: Settings, portal: str, stream: str) -> Any:
    base = urlsplit(settings.portal(portal).base_url)
    path = stream
    with contextlib.suppress(Exception):
        # deferred: only sync/replay lineage needs the connectors (~0.5 s to import, python -X
        # importtime); the loader and reconcile runs import this module too
        from connectors import get_connector

        path = get_connector(portal, settings).stream(stream).path
    return InputDataset(namespace=f"{base.scheme}://{base.netloc}", name=path)


def landing_dataset_id(uri: str) -> tuple[str, str]:
    """(namespace, name) of the landing folder that holds the page at ``uri``."""
    folder = uri.rsplit("/", 1)[0]
    parts = urlsplit(folder)
    if parts.scheme == "file":
        return "file", parts.path
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


def _landing_datasets(settings: Settings, portal: str, stream: str, run_id: str) -> list[Any]:
    try:
        pages = Landing.from_settings(settings).list_pages(portal, stream, run_id=run_id)
    except Exception as exc:
        log.warning("lineage: landing zone not readable: %s", exc)
        return []
    folders = sorted({landing_dataset_id(p.uri) for p in pages})
    return [(ns, name, len([p for p in pages if landing_dataset_id(p.uri) == (ns, name)]))
            for ns, name in folders]


def _kafka_namespace(settings: Settings) -> str:
    return f"kafka://{settings.kafka.bootstrap_servers.split(',')[0].strip()}"


def _warehouse_namespace(settings: Settings) -> tuple[str, str]:
    """(namespace, table-name prefix) of the warehouse, credentials never included."""
    url = urlsplit(settings.warehouse_url)
    if url.scheme.startswith("sqlite"):
        return "sqlite", f"{Path(url.path.lstrip('/')).resolve()}."
    scheme = "postgres" if url.scheme.startswith("postgres") else url.scheme.split("+")[0]
    host = url.hostname or "localhost"
    port = f":{url.port}" if url.port else (":5432" if scheme == "postgres" else "")
    database = url.path.lstrip("/")
    return f"{scheme}://{host}{port}", f"{database}.public." if scheme == "postgres" else ""


def _schema_facet(entity_type: str) -> Any:
    path = _SCHEMAS / "entities" / f"{entity_type}.v1.json"
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return schema_dataset.SchemaDatasetFacet(fields=_schema_fields(schema.get("properties", {})))


def _schema_fields(properties: Mapping[str, Any]) -> list[Any]:
    fields = []
    for name, spec in properties.items():
        kind = spec.get("type", "object") if isinstance(spec, dict) else "object"
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        nested = spec.get("properties") if isinstance(spec, dict) else None
        fields.append(schema_dataset.SchemaDatasetFacetFields(
            name=name, type=str(kind),
            description=(spec.get("description") if isinstance(spec, dict) else None),
            fields=_schema_fields(nested) if isinstance(nested, dict) else [],
        ))
    return fields


def _topic_output(settings: Settings, entity_type: str, events: int,
                  lineage: Any = None) -> Any:
    facets: dict[str, Any] = {}
    schema = _schema_facet(entity_type)
    if schema is not None:
        facets["schema"] = schema
    if lineage is not None:
        facets["columnLineage"] = lineage
    return OutputDataset(
        namespace=_kafka_namespace(settings),
        name=topic_name(entity_type, settings.kafka.topic_prefix),
        facets=facets,
        outputFacets={"outputStatistics":
                      output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                          rowCount=events)},
    )


# --------------------------------------------------------------------------- column lineage


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


def _perturbed(value: Any) -> Any:
    """A different value of the same shape, so a mapper that reads it gives another result."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        for index in range(len(value) - 1, -1, -1):
            if value[index].isdigit():
                digit = str((int(value[index]) + 1) % 10)
                return value[:index] + digit + value[index + 1 :]
        return value + " X" if value else "X"
    return None


def _set_leaf(data: Any, path: str, value: Any) -> Any:
    copied = copy.deepcopy(data)
    node, parts = copied, _path_parts(path)
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    return copied


def _path_parts(path: str) -> list[Any]:
    parts: list[Any] = []
    for chunk in path.split("."):
        name, *indexes = chunk.split("[")
        if name:
            parts.append(name)
        parts += [int(i.rstrip("]")) for i in indexes]
    return parts


def _top_fields(record: Any, pii_key: bytes) -> dict[str, dict[str, str]] | None:
    # deferred: only sync lineage normalizes (~0.4 s to import, python -X importtime); the
    # loader and reconcile runs import this module too
    from ecohub.normalize import normalize

    try:
        entities = normalize(record, pii_key=pii_key)
    except Exception:
        return None
    return {
        e.entity_type: {k: json.dumps(v, sort_keys=True, default=str) for k, v in e.data.items()}
        for e in entities
    }


def column_lineage(record: Any, pii_key: bytes) -> dict[str, dict[str, list[str]]]:
    """For each entity type a record maps to: canonical field -> source field paths it reads.

    Found by perturbing each source field of ``record`` (a :class:`SourceRecord`) in turn and
    normalizing again: a canonical field whose value changes depends on that source field."""
    base = _top_fields(record, pii_key)
    if not base:
        return {}
    found: dict[str, dict[str, set[str]]] = {t: {} for t in base}
    for path, value in _leaves(record.data):
        other = _perturbed(value)
        if other is None or not path:
            continue
        changed = _top_fields(replace(record, data=_set_leaf(record.data, path, other)), pii_key)
        if changed is None:
            continue
        for entity_type, fields in base.items():
            after = changed.get(entity_type, {})
            for name, text in fields.items():
                if after.get(name) != text:
                    found[entity_type].setdefault(name, set()).add(_generic(path))
    return {t: {k: sorted(v) for k, v in fields.items()} for t, fields in found.items()}


def _generic(path: str) -> str:
    """``founders[0].email`` -> ``founders[].email``: a field of every list item."""
    return re.sub(r"\[\d+\]", "[]", path)


def _column_lineage_facet(mapping: Mapping[str, list[str]], source: Any) -> Any:
    fields = {}
    for name, inputs in sorted(mapping.items()):
        masked = name.endswith("_token") or name in {"email_token", "phone_token"}
        fields[name] = cl.Fields(inputFields=[
            cl.InputField(
                namespace=source.namespace, name=source.name, field=path,
                transformations=[cl.Transformation(
                    type="DIRECT",
                    subtype="TRANSFORMATION",
                    description="normalized by ecohub.normalize",
                    masking=masked,
                )],
            )
            for path in inputs
        ])
    return cl.ColumnLineageDatasetFacet(fields=fields)


def _sample_record(settings: Settings, portal: str, stream: str, run_id: str) -> Any:
    """The first record landed by the run (to derive column lineage from), or None."""
    # deferred: only sync/replay lineage needs the connectors (~0.5 s to import, python -X
    # importtime); the loader and reconcile runs import this module too
    from connectors import get_connector

    landing = Landing.from_settings(settings)
    connector = get_connector(portal, settings)
    spec = connector.stream(stream)
    for page in landing.list_pages(portal, stream, run_id=run_id):
        entry = landing.page_entry(page)
        parsed = connector.parse_landed(spec, entry.get("kind", "page"), landing.get_page(page.uri))
        if parsed is None:
            continue
        live = [r for r in parsed.records if not r.deleted]
        if live:
            return connector.records_of(spec, type(parsed)(live[:1], parsed.info), [True],
                                        page.uri, run_id)[0]
    return None


# --------------------------------------------------------------------------- runs


def _ol_run_id(*parts: str) -> str:
    return str(uuid.uuid5(_RUN_NAMESPACE, "|".join(parts)))


@dataclass
class _Run:
    """One OpenLineage run: START now, COMPLETE or FAIL later."""

    emitter: _Emitter
    job: str
    run_id: str
    job_type: str
    parent: Parent | None

    def event(self, state: str, inputs: list[Any], outputs: list[Any],
              run_facets: dict[str, Any]) -> Any:
        facets = dict(run_facets)
        if self.parent is not None:
            facets["parent"] = _parent_facet(self.parent)
        job_facets: dict[str, Any] = {"jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="ECOHUB", jobType=self.job_type)}
        return RunEvent(
            eventType=RunState[state],
            eventTime=datetime.now(UTC).isoformat(timespec="milliseconds"),
            run=Run(runId=self.run_id, facets=facets),
            job=Job(namespace=self.emitter.settings.namespace, name=self.job, facets=job_facets),
            inputs=inputs,
            outputs=outputs,
        )

    def emit(self, state: str, inputs: list[Any], outputs: list[Any],
             run_facets: dict[str, Any] | None = None) -> None:
        try:
            event = self.event(state, inputs, outputs, run_facets or {})
        except Exception as exc:  # a facet we could not build must not fail the run
            log.warning("OpenLineage %s event of %s not built: %s", state, self.job, exc)
            return
        self.emitter.emit(event)


def _parent_facet(parent: Parent) -> Any:
    root = None
    if parent.root is not None:
        root = pr.Root(run=pr.RootRun(runId=parent.root.run_id),
                       job=pr.RootJob(namespace=parent.root.namespace, name=parent.root.job))
    return pr.ParentRunFacet(run=pr.Run(runId=parent.run_id),
                             job=pr.Job(namespace=parent.namespace, name=parent.job), root=root)


def _ecohub_facet(**fields: Any) -> Any:
    facet = RunFacet().with_additional_properties(**fields)
    facet._schemaURL = RUN_FACET_SCHEMA_URL
    return facet


def _error_facet(exc: BaseException) -> Any:
    return error_message_run.ErrorMessageRunFacet(
        message=str(exc)[:2000], programmingLanguage="python")


def _settings_of(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Settings:
    """The settings the entry point runs with: its ``settings`` argument, else the loaded ones."""
    given = kwargs.get("settings")
    if given is None:
        given = next((a for a in args if isinstance(a, Settings)), None)
    return given if isinstance(given, Settings) else load_settings()


def _traced(job_type: str, describe: Callable[..., tuple[str, str, list[Any], list[Any]]],
            finish: Callable[..., tuple[list[Any], list[Any], dict[str, Any]]]) -> Callable[[F], F]:
    """A decorator: START (from ``describe``) before the call, COMPLETE (from ``finish``) after,
    FAIL with the error if it raises; lineage problems are logged, never raised."""

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def traced(*args: Any, **kwargs: Any) -> Any:
            rest = {k: v for k, v in kwargs.items() if k != "settings"}
            try:
                settings = _settings_of(args, kwargs)
                emit = emitter(settings)
                job, run_id, inputs, outputs = describe(settings, *args, **rest)
            except Exception as exc:
                log.warning("OpenLineage disabled for this run: %s", exc)
                return func(*args, **kwargs)
            if not emit.enabled:
                return func(*args, **kwargs)
            run = _Run(emit, job, run_id, job_type, _current_parent())
            run.emit("START", inputs, outputs)
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                run.emit("FAIL", inputs, outputs, {"errorMessage": _error_facet(exc)})
                raise
            try:
                done_inputs, done_outputs, facets = finish(settings, result, *args, **rest)
            except Exception as exc:
                log.warning("OpenLineage COMPLETE of %s without details: %s", job, exc)
                done_inputs, done_outputs, facets = inputs, outputs, {}
            run.emit("COMPLETE", done_inputs, done_outputs, facets)
            return result

        return cast(F, traced)

    return wrap


# ---- sync ---------------------------------------------------------------------------------


def _sync_describe(settings: Settings, portal: str, stream: str, *args: Any,
                   run_id: str, **kwargs: Any) -> tuple[str, str, list[Any], list[Any]]:
    job = f"ecohub.sync.{portal}.{stream}"
    return job, _ol_run_id(job, run_id), [_endpoint_dataset(settings, portal, stream)], []


def _sync_finish(settings: Settings, report: Any, portal: str, stream: str, *args: Any,
                 run_id: str, **kwargs: Any) -> tuple[list[Any], list[Any], dict[str, Any]]:
    source = _endpoint_dataset(settings, portal, stream)
    outputs: list[Any] = [
        OutputDataset(namespace=ns, name=name, outputFacets={
            "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=pages)})
        for ns, name, pages in _landing_datasets(settings, portal, stream, run_id)
    ]
    columns: dict[str, dict[str, list[str]]] = {}
    if report.events:
        sample = _sample_record(settings, portal, stream, run_id)
        if sample is not None:
            columns = column_lineage(sample, settings.pii_hmac_key.get_secret_value().encode())
    for entity_type, count in sorted(report.events_by_type.items()):
        mapping = columns.get(entity_type)
        facet = _column_lineage_facet(mapping, source) if mapping else None
        outputs.append(_topic_output(settings, entity_type, count, facet))
    if report.dead_lettered:
        outputs.append(OutputDataset(namespace=_kafka_namespace(settings),
                                     name=f"{settings.kafka.topic_prefix}.deadletter.v1"))
    facets = {"ecohub": _ecohub_facet(runId=run_id, portal=portal, stream=stream,
                                      counts=_counts(report))}
    return [source], outputs, facets


def _counts(report: Any) -> dict[str, int]:
    return {k: int(getattr(report, k)) for k in
            ("pages", "fetched", "published", "dead_lettered", "deletes", "events")}


def traced_sync(func: F) -> F:
    """Decorate ``pipeline.sync_stream(portal, stream, *, run_id, settings, ...)``."""
    return _traced("SYNC", _sync_describe, _sync_finish)(func)


# ---- replay -------------------------------------------------------------------------------


def _replay_describe(settings: Settings, portal: str, stream: str, *args: Any,
                     source_run_id: str | None = None, **kwargs: Any,
                     ) -> tuple[str, str, list[Any], list[Any]]:
    job = f"ecohub.replay.{portal}.{stream}"
    inputs = [InputDataset(namespace=ns, name=name) for ns, name, _ in
              (_landing_datasets(settings, portal, stream, source_run_id) if source_run_id
               else [])]
    return job, str(uuid.uuid4()), inputs, []


def _replay_finish(settings: Settings, report: Any, portal: str, stream: str, *args: Any,
                   source_run_id: str | None = None, **kwargs: Any,
                   ) -> tuple[list[Any], list[Any], dict[str, Any]]:
    inputs = [InputDataset(namespace=ns, name=name) for ns, name, _ in
              _landing_datasets(settings, portal, stream, source_run_id)] if source_run_id else []
    outputs = [_topic_output(settings, t, n) for t, n in sorted(report.events_by_type.items())]
    facets = {"ecohub": _ecohub_facet(runId=report.run_id, portal=portal, stream=stream,
                                      sourceRunId=source_run_id, counts=_counts(report))}
    return inputs, outputs, facets


def traced_replay(func: F) -> F:
    """Decorate ``pipeline.replay(portal, stream, *, source_run_id, ..., settings)``."""
    return _traced("REPLAY", _replay_describe, _replay_finish)(func)


# ---- load ---------------------------------------------------------------------------------


_WAREHOUSE_TABLES = ("entity_version", "quarantine", "load_receipts")


def _warehouse_outputs(settings: Settings) -> list[Any]:
    namespace, prefix = _warehouse_namespace(settings)
    return [OutputDataset(namespace=namespace, name=f"{prefix}{table}")
            for table in _WAREHOUSE_TABLES]


def _load_describe(settings: Settings, *args: Any, **kwargs: Any,
                   ) -> tuple[str, str, list[Any], list[Any]]:
    job = f"ecohub.load.{settings.kafka.consumer_group}"
    return job, str(uuid.uuid4()), [], _warehouse_outputs(settings)


def _assertions(entity_type: str, failed: Mapping[str, int], quarantined: int) -> list[Any]:
    """One assertion per expectation of the entity's suites (envelope + entity): its name, its
    column, whether no row of this topic failed it (envelope expectations are shared by every
    topic: a failure counts against the topics that quarantined rows)."""
    out = []
    for suite in (ENVELOPE_SUITE, entity_type):
        path = SUITES_DIR / f"{suite}.json"
        if not path.is_file():
            continue
        for exp in load_suite_file(path)["expectations"]:
            name = exp["meta"]["name"]
            failures = failed.get(name, 0) if (suite != ENVELOPE_SUITE or quarantined) else 0
            out.append(dq.Assertion(
                assertion=name, success=failures == 0,
                column=(exp.get("kwargs") or {}).get("column"),
                severity=exp.get("severity"), name=name, expected="0", actual=str(failures),
            ))
    return out


def _load_finish(settings: Settings, stats: Any, *args: Any, **kwargs: Any,
                 ) -> tuple[list[Any], list[Any], dict[str, Any]]:
    per_type: dict[str, dict[str, int]] = {}
    for key, count in stats.by_entity.items():
        entity_type, _, outcome = str(key).rpartition(":")
        per_type.setdefault(entity_type, {}).setdefault(outcome, 0)
        per_type[entity_type][outcome] += count
    failed = dict(stats.failed_by_expectation)
    inputs = []
    for entity_type, outcomes in sorted(per_type.items()):
        if entity_type in ("?", "None", ""):
            continue
        rows = sum(outcomes.values())
        quarantined = outcomes.get("quarantined", 0)
        inputs.append(InputDataset(
            namespace=_kafka_namespace(settings),
            name=topic_name(entity_type, settings.kafka.topic_prefix),
            facets={"schema": _schema_facet(entity_type)} if _schema_facet(entity_type) else {},
            inputFacets={
                "dataQualityAssertions": dq.DataQualityAssertionsDatasetFacet(
                    assertions=_assertions(entity_type, failed, quarantined)),
                "dataQualityMetrics": dqm.DataQualityMetricsInputDatasetFacet(
                    rowCount=rows, columnMetrics={}),
            },
        ))
    outputs = _warehouse_outputs(settings)
    if stats.quarantined:
        outputs.append(OutputDataset(namespace=_kafka_namespace(settings),
                                     name=f"{settings.kafka.topic_prefix}.quarantine.v1"))
    facets = {"ecohub": _ecohub_facet(consumerGroup=settings.kafka.consumer_group,
                                      counts=stats.as_dict())}
    return inputs, outputs, facets


def traced_load(func: F) -> F:
    """Decorate ``loader.consume(settings, ...)``."""
    return _traced("LOAD", _load_describe, _load_finish)(func)


# ---- reconcile ----------------------------------------------------------------------------


def _reconcile_describe(settings: Settings, *args: Any, **kwargs: Any,
                        ) -> tuple[str, str, list[Any], list[Any]]:
    namespace, prefix = _warehouse_namespace(settings)
    inputs = [InputDataset(namespace=namespace, name=f"{prefix}{t}")
              for t in ("run_extracts", "load_receipts", "quarantine")]
    outputs = [OutputDataset(namespace=namespace, name=f"{prefix}runs")]
    return "ecohub.reconcile", str(uuid.uuid4()), inputs, outputs


def _reconcile_finish(settings: Settings, verdicts: Any, *args: Any, **kwargs: Any,
                      ) -> tuple[list[Any], list[Any], dict[str, Any]]:
    _, _, inputs, outputs = _reconcile_describe(settings)
    judged = [v.get("run_id") for v in verdicts or [] if isinstance(v, dict)]
    return inputs, outputs, {"ecohub": _ecohub_facet(reconciledRuns=judged)}


def traced_reconcile(func: F) -> F:
    """Decorate ``ops.reconcile_pending(settings)``."""
    return _traced("RECONCILE", _reconcile_describe, _reconcile_finish)(func)
