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
        from connectors import get_connector
        from ecohub.lineage import parent_from_airflow, parent_run
        from ecohub.pipeline import replay

        context = get_current_context()
        p = context["params"]
        streams = [p["stream"]] if p["stream"] else get_connector(p["portal"]).stream_names
        date_from = date.fromisoformat(p["date_from"]) if p["date_from"] else None
        date_to = date.fromisoformat(p["date_to"]) if p["date_to"] else None
        with parent_run(parent_from_airflow(context)):  # OpenLineage: the task is the parent
            return [
                replay(p["portal"], s, date_from=date_from, date_to=date_to).as_dict()
                for s in streams
            ]

    replay_stream()
