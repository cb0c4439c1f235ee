"""ecohub connectors: a toolkit (layer 1), one client per portal (layer 2), declared streams (3).

The pipeline uses only what is exported here::

    connector = get_connector("techport", settings)
    for batch in connector.read("technologies", state=store.get(...), run_id=run, landing=landing):
        publish(batch.records); store.save("techport", "technologies", batch.state)

See ``docs/connectors.md``.
"""

from __future__ import annotations

from connectors.registry import connector_class, connector_refs, get_connector
from connectors.replay import replay
from connectors.toolkit.connector import Batch, Connector
from connectors.toolkit.state import KeyStore, StateStore
from connectors.toolkit.stream import Stream

__all__ = [
    "Batch",
    "Connector",
    "KeyStore",
    "StateStore",
    "Stream",
    "connector_class",
    "connector_refs",
    "get_connector",
    "replay",
]
