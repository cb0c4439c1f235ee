"""SciPort, a made-up fourth portal, defined entirely inside the test directory.

It is what ``docs/connectors.md`` ("A fourth portal") asks of a new portal and nothing more:

* this spec (:mod:`ecohub.portals`), registered by the test;
* :mod:`tests.new_portal.connector`: a client of two declarative streams (JSON pages, page
  numbers, an API key, tombstones in the listing);
* :mod:`tests.new_portal.mapping`: source fields -> ``organization`` and ``research_project``;
* :mod:`tests.new_portal.simulator`: a tiny simulator on the simulators' own ``Portal`` base
  (contract: ``GET /v1/<labs|projects>?page=&per_page=&changed_since=`` with ``X-API-Key``,
  answering ``{"items", "page", "pages", "total"}``; records sorted by (``changed``, id)).

Everything else (settings, topics, normalization dispatch, the quality gate, staging tables,
history, reconciliation, DAGs, CLI) must follow from the registration.
"""

from __future__ import annotations

from ecohub.portals import PortalSpec

__all__ = ["BROKEN_LAB", "DEV_KEY", "REVERSED_PROJECT", "SPEC"]

DEV_KEY = "dev-sciport-key"
BROKEN_LAB = 3  # index of the lab served without a name: dead-lettered by the mapping
REVERSED_PROJECT = 5  # index of the project that ends before it starts: quarantined by GX

SPEC = PortalSpec(
    name="sciport",
    title="SciPort",
    entities=("organization", "research_project"),
    default_port=59104,
    connector="tests.new_portal.connector:SciportConnector",
    mapping="tests.new_portal.mapping",
    simulator="tests.new_portal.simulator:SciportPortal",
    rank=3,
    auth="api_key",
    dev_credentials={"api_key": DEV_KEY},
    scales={"small": {"labs": 12, "projects": 20}, "real": {"labs": 300, "projects": 4_000}},
)
