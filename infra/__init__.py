"""Development tooling of a source checkout, not shipped in the wheel or the image.

``infra.stack`` runs the local Kafka/PostgreSQL/S3 stack (``python -m infra.stack up|down|status``,
the Makefile's ``up``/``down``/``test``); ``infra.airflow_local`` drives a local Airflow 3 on
this repository's DAGs; ``infra/compose`` holds the static Docker Compose check
(``python -m infra.compose.check``). The runtime (``ecohub``) never imports this package; the
``ecohub services`` and ``ecohub airflow`` commands resolve it lazily and only work in a checkout.
"""
