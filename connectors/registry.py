"""Connector lookup by portal name (like dlt's ``rest_api`` sources): one factory, clear errors.

Which class serves a portal is the ``connector`` of its spec in :mod:`ecohub.portals`; the class
is imported on first use, so a DAG file importing ``connectors`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.toolkit.connector import Connector
from ecohub.errors import ConfigError
from ecohub.portals import portal_spec, portal_specs, resolve_ref
from ecohub.settings import Settings, load_settings

__all__ = ["connector_class", "connector_refs", "get_connector"]


def connector_refs() -> Mapping[str, str]:
    """Portal name -> ``"module:Class"`` of its connector, for every registered portal."""
    return {spec.name: spec.connector for spec in portal_specs()}


def connector_class(portal: str) -> type[Connector]:
    """The connector class of ``portal``; an unknown name fails listing the valid ones."""
    cls = resolve_ref(portal_spec(portal).connector)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConfigError(f"{portal_spec(portal).connector!r} (portal {portal!r}) is not a "
                          "Connector subclass")
    if cls.portal != portal:
        raise ConfigError(f"connector {cls.__name__} serves {cls.portal!r}, not {portal!r}")
    return cls


def get_connector(portal: str, settings: Settings | None = None) -> Connector:
    """The connector of ``portal``, configured from ``settings`` (default: the environment)."""
    cls = connector_class(portal)
    settings = settings or load_settings()
    return cls(settings.portal(portal))
