"""Connector lookup by portal name (like dlt's ``rest_api`` sources): one factory, clear errors."""

from __future__ import annotations

import importlib

from connectors.toolkit.connector import Connector
from ecohub.errors import ConfigError
from ecohub.settings import Settings, load_settings

__all__ = ["CONNECTORS", "get_connector"]

# portal name -> "module:Class"; imported lazily so a DAG file importing ``connectors`` stays light
CONNECTORS: dict[str, str] = {
    "hoip": "connectors.hoip:HoipConnector",
    "stinet": "connectors.stinet:StinetConnector",
    "techport": "connectors.techport:TechportConnector",
}


def get_connector(portal: str, settings: Settings | None = None) -> Connector:
    """The connector of ``portal``, configured from ``settings`` (default: the environment)."""
    if portal not in CONNECTORS:
        valid = ", ".join(sorted(CONNECTORS))
        raise ConfigError(f"unknown portal {portal!r}; valid portals: {valid}")
    settings = settings or load_settings()
    module_name, class_name = CONNECTORS[portal].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    connector: Connector = cls(settings.portal(portal))
    return connector
