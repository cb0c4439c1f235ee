"""Rebuild events from the raw landing zone without calling the portals: one stream, or every
stream of the portal when ``stream`` is left empty (so the default is valid for every portal)."""

from __future__ import annotations

from datetime import date

from airflow.sdk import DAG, Param, get_current_context, task

from ecohub.catalog import portal_entities
from ecohub.orchestration import DEFAULT_ARGS, START

PORTALS = list(portal_entities())  # every registered portal, by rank

with DAG(
    dag_id="ecohub_replay",
    description="Rebuild events from the raw landing zone without calling the portals",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["ecohub", "replay"],
    params={
        "portal": Param(PORTALS[0], enum=PORTALS),
        "stream": Param(
            None, type=["null", "string"], description="one stream; empty: every stream"
        ),
        "date_from": Param(None, type=["null", "string"], format="date"),
        "date_to": Param(None, type=["null", "string"], format="date"),
    },
) as ecohub_replay:

    @task
    def replay_stream() -> list[dict]:
        # deferred: no engine at DAG parse time
        from ecohub.lineage import parent_from_airflow, parent_run
        from ecohub.pipeline import replay_streams

        context = get_current_context()
        p = context["params"]
        date_from = date.fromisoformat(p["date_from"]) if p["date_from"] else None
        date_to = date.fromisoformat(p["date_to"]) if p["date_to"] else None
        with parent_run(parent_from_airflow(context)):  # OpenLineage: the task is the parent
            reports = replay_streams(  # every stream (none named): one run id, one pool
                p["portal"], [p["stream"]] if p["stream"] else None,
                date_from=date_from, date_to=date_to,
            )
            return [report.as_dict() for report in reports]

    replay_stream()
