"""Repointing a portal through an Airflow connection instead of ``ECOHUB_*`` variables.

Why: operators of an Airflow deployment keep endpoints and credentials in Airflow connections
(or the secrets backend behind them), not in environment files. A connection named
``ecohub_<portal>`` overlays the portal's settings; nothing else changes, and no code does.

Mapping (an ``http`` connection)::

    host / schema / port     ->  base_url        (schema "https" by default when the host has none)
    login                    ->  client_id       (H.OIP OAuth2)
    password                 ->  api_key (auth=api_key) or client_secret (auth=oauth2)
    extra (JSON object)      ->  any other portal setting: auth, page_size, rate_limit,
                                 timeout, max_retries, lookback_seconds, ...

For example ``AIRFLOW_CONN_ECOHUB_TECHPORT='{"conn_type": "http", "host": "techport.vn",
"schema": "https", "password": "<key>", "extra": {"rate_limit": 10}}'``.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import SecretStr, ValidationError

from ecohub.errors import ConfigError
from ecohub.settings import PortalSettings, Settings, refuse_development_secrets

__all__ = ["CONNECTION_PREFIX", "apply_connection", "settings_with_airflow_connections"]

CONNECTION_PREFIX = "ecohub_"
log = logging.getLogger(__name__)


def apply_connection(portal: PortalSettings, conn: Any) -> PortalSettings:
    """``portal`` overlaid with an Airflow ``Connection`` (anything with its attributes)."""
    update: dict[str, Any] = dict(_extra(conn))
    host = (getattr(conn, "host", None) or "").strip()
    if host:
        scheme = "" if "://" in host else f"{getattr(conn, 'schema', None) or 'https'}://"
        port = getattr(conn, "port", None)
        update["base_url"] = f"{scheme}{host}" + (f":{port}" if port else "")
    if getattr(conn, "login", None):
        update["client_id"] = conn.login
    if getattr(conn, "password", None):
        auth = update.get("auth", portal.auth)
        field = "client_secret" if auth == "oauth2" else "api_key"
        update[field] = SecretStr(conn.password)
    try:
        return PortalSettings.model_validate({**portal.model_dump(), **update})
    except ValidationError as exc:
        raise ConfigError(
            f"Airflow connection {getattr(conn, 'conn_id', '?')!r} gives invalid portal "
            f"settings: {'; '.join(str(e['msg']) for e in exc.errors())}"
        ) from None


def settings_with_airflow_connections(settings: Settings) -> Settings:
    """``settings`` with every portal that has an ``ecohub_<portal>`` connection overlaid.

    Call it inside an Airflow task (it asks the task SDK for the connections); portals without
    a connection keep their ``ECOHUB_*`` configuration.
    """
    # deferred: the task SDK costs ~2 s to import (1.6-2.1 s, python -X importtime) and is
    # needed only inside a task; apply_connection and the CLI never pay it
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    portals = dict(settings.portals)
    for name, portal in settings.portals.items():
        try:
            conn = BaseHook.get_connection(f"{CONNECTION_PREFIX}{name}")
        except AirflowNotFoundException:
            log.debug(
                "no Airflow connection %s%s; keeping ECOHUB_* settings", CONNECTION_PREFIX, name
            )
            continue
        portals[name] = apply_connection(portal, conn)
    overlaid = settings.model_copy(update={"portals": portals})
    refuse_development_secrets(overlaid)  # a connection may point a portal off loopback
    return overlaid


def _extra(conn: Any) -> dict[str, Any]:
    extra = getattr(conn, "extra_dejson", None)
    if extra is None:
        return {}
    if not isinstance(extra, dict):
        raise ConfigError("the extra of an ecohub connection must be a JSON object")
    return extra
