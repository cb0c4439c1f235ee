"""What every ecohub DAG shares: the settings they are built from, retry policy, start date,
and the Airflow Assets of the entity topics.

Why a module: the DAG files (one per concern under ``dags/``) stay a few lines of wiring each,
and read topic prefixes and schedules only from :func:`ecohub.settings.load_settings`, so a
TOML file or ``ECOHUB_*`` variable changes the Assets and schedules as it changes the topics.
Parse-time cost: the standard library, pydantic (settings) and ``airflow.sdk``; task bodies
import the engine lazily (Airflow's best practice: no heavy imports or I/O at parse time; the
only read is the optional ``ECOHUB_CONFIG_FILE``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset

from ecohub.catalog import asset_uri, topic_name
from ecohub.settings import Settings, load_settings

__all__ = ["DEFAULT_ARGS", "START", "dag_settings", "entity_assets"]

START = datetime(2026, 1, 1)
DEFAULT_ARGS: dict[str, Any] = {
    "owner": "ecohub",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=2),
}


def dag_settings() -> Settings:
    """The settings a DAG file is built from (the same object the tasks load at run time)."""
    return load_settings()


def entity_assets(entity_types: tuple[str, ...], settings: Settings) -> list[Asset]:
    """One Asset per entity topic under the configured prefix: what a sync task emits and the
    load DAG is scheduled on."""
    prefix = settings.kafka.topic_prefix
    return [Asset(name=topic_name(e, prefix), uri=asset_uri(e, prefix)) for e in entity_types]
