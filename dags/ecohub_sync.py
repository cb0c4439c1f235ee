"""One incremental sync DAG per portal: ensure the topics, list the streams, sync each stream
(fetch, land, normalize, publish), emitting the Assets of the entity topics it writes.

A sync task is a transaction per page (publish, then save the cursor), so a retry resumes.
Schedules come from settings (``ECOHUB_<PORTAL>__SCHEDULE``, default hourly).
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, get_current_context, task

from ecohub.catalog import portal_entities
from ecohub.orchestration import DEFAULT_ARGS, START, dag_settings, entity_assets
from ecohub.settings import load_settings

SETTINGS = dag_settings()


def _sync_dag(portal: str) -> DAG:
    with DAG(
        dag_id=f"ecohub_sync_{portal}",
        description=f"Incremental sync of {portal}: fetch, land, normalize, publish",
        schedule=SETTINGS.portal(portal).schedule or None,  # empty: triggered only
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["ecohub", "sync", portal],
        params={
            "reconcile_deletes": Param(
                False,
                type="boolean",
                description="also list every key to detect deletions (Techport has no delete "
                "signal); the ecohub_reconcile_deletes DAG triggers this daily",
            )
        },
        doc_md=f"Pulls every stream of **{portal}** since its saved cursor (with lookback), lands "
        "raw pages, publishes canonical events, records extract counts for reconciliation.",
    ) as dag:

        @task
        def ensure_topics() -> list[str]:
            # deferred: no engine at DAG parse time
            from ecohub.kafka import ensure_topics as run

            return run(load_settings())

        @task
        def list_streams(portal: str = portal) -> list[str]:
            # deferred: no engine at DAG parse time
            from connectors import get_connector

            return get_connector(portal).stream_names

        @task(outlets=entity_assets(portal_entities()[portal], SETTINGS), max_active_tis_per_dag=1)
        def sync_stream(stream: str, portal: str = portal) -> dict:
            # deferred: no engine at DAG parse time
            from connectors.airflow import settings_with_airflow_connections
            from ecohub.lineage import parent_from_airflow, parent_run
            from ecohub.pipeline import sync_stream as run

            context = get_current_context()
            with parent_run(parent_from_airflow(context)):  # OpenLineage: the task is the parent
                return run(
                    portal,
                    stream,
                    run_id=f"{portal}-{context['run_id']}",
                    settings=settings_with_airflow_connections(load_settings()),
                    reconcile_deletes=bool(context["params"].get("reconcile_deletes")),
                ).as_dict()

        streams = list_streams()
        ensure_topics() >> streams
        sync_stream.expand(stream=streams)
    return dag


for _portal in portal_entities():
    globals()[f"ecohub_sync_{_portal}"] = _sync_dag(_portal)
