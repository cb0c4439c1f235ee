"""Write the auditors' quality and reconciliation report (static HTML) once a day."""

from __future__ import annotations

from airflow.sdk import DAG, task

from ecohub.orchestration import DEFAULT_ARGS, START
from ecohub.settings import load_settings

with DAG(
    dag_id="ecohub_report",
    description="Write the auditors' quality and reconciliation report",
    schedule="@daily",
    start_date=START,
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["ecohub", "report"],
) as ecohub_report:

    @task
    def write_report() -> str:
        # deferred: no engine at DAG parse time
        from ecohub.report import write_report as run

        return str(run(load_settings()))

    write_report()
