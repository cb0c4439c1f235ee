"""Daily key-set reconciliation: triggers each portal's sync DAG with ``reconcile_deletes`` on,
so portals without a delete signal (Techport) get deletes for vanished keys. It lists every
key, so it runs daily rather than with each incremental sync."""

from __future__ import annotations

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG

from ecohub.catalog import portal_entities
from ecohub.orchestration import DEFAULT_ARGS, START

with DAG(
    dag_id="ecohub_reconcile_deletes",
    description="Daily key-set reconciliation: deletes for portals without a delete signal",
    schedule="@daily",
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["ecohub", "sync", "deletes"],
) as ecohub_reconcile_deletes:
    for _portal in portal_entities():
        TriggerDagRunOperator(
            task_id=f"reconcile_{_portal}",
            trigger_dag_id=f"ecohub_sync_{_portal}",
            conf={"reconcile_deletes": True},
        )
