"""Real-scale acceptance of the connectors (run by ``make acceptance``).

Against each simulator at ``real`` scale with faults on (429 bursts, 5xx, truncated bodies, a
repeated page, head inserts while paging, expired tokens): a full sync, a change step, an
incremental sync must yield exactly the ground-truth keys and versions (none missing, none
duplicated, deletes propagated); a further run without changes re-reads only the look-back
window. Figures are printed (``-s``) and written to ``var/acceptance/connectors-<portal>.json``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine

sys.path.insert(0, str(Path(__file__).parents[1] / "connectors"))

from simkit import (
    advance,
    faults_for,
    fired,
    is_versioned,
    mismatches,
    resource_of,
    set_faults,
    settings_for,
    sink_rows,
    truth,
)

import simulators
from connectors import get_connector
from connectors.harness import Sink, sync
from ecohub.landing import Landing

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get("ECOHUB_ACCEPTANCE") != "1", reason="real-scale run: make acceptance"
    ),
]
ROOT = Path(__file__).resolve().parents[2]
REAL_FAULTS = {
    "rate_limit_burst": {"rate": 0.01, "retry_after": 1},
    "server_error": {"rate": 0.01},
    "truncated": {"rate": 0.005},
    "repeated_page": {"count": 3},
    "head_insert": {"count": 2},
}
RATE = {"stinet": 100.0, "techport": 20.0, "hoip": 100.0}  # Techport allows 25/s per key


def _phase(connector, streams, **kwargs) -> dict:
    started, totals = time.monotonic(), {"records": 0, "deletes": 0, "pages": 0, "requests": 0}
    for stream in streams:
        report = sync(connector, stream, **kwargs)
        for key in totals:
            totals[key] += getattr(report, key)
    return {**totals, "seconds": round(time.monotonic() - started, 1)}


@pytest.mark.parametrize("portal", ["stinet", "techport", "hoip"])
def test_real_scale_sync_under_faults_matches_the_ground_truth(portal, tmp_path):
    faults = faults_for(portal, **REAL_FAULTS)
    if portal == "hoip":  # ~60 requests in all: higher rates, so every fault does fire
        faults |= {
            "expired_token": {"rate": 0.05},
            "server_error": {"rate": 0.05},
            "rate_limit_burst": {"rate": 0.05, "retry_after": 1},
        }
    with simulators.start(portal, scale="real", seed=42, port=0, faults=faults) as sim:
        settings = settings_for(
            {portal: sim}, tmp_path / "landing", page_size=200, rate_limit=RATE[portal]
        )
        engine = create_engine(f"sqlite:///{tmp_path}/harness.db")
        landing = Landing.from_settings(settings)
        connector = get_connector(portal, settings)
        streams = connector.stream_names
        common = {"engine": engine, "landing": landing}

        figures = {"full": _phase(connector, streams, run_id="full", **common)}
        step = advance(sim, steps=2)
        figures["incremental"] = _phase(connector, streams, run_id="incr", **common)
        figures["faults_fired"] = fired(sim)
        set_faults(sim, {})
        figures["no_change"] = _phase(connector, streams, run_id="again", reconcile=False, **common)

        changes = [r for s in step["steps"] for r in s["resources"].values()]
        figures["change_step"] = {
            k: sum(len(c[k]) for c in changes) for k in ("created", "updated", "deleted", "late")
        }
        figures["streams"] = {}
        for stream in streams:
            expected = truth(sim, resource_of(connector, stream))
            rows = sink_rows(engine, portal, stream)
            problems = mismatches(rows, expected, is_versioned(connector, stream))
            duplicates = Sink(engine).duplicates(portal, stream)
            figures["streams"][stream] = {
                "truth_live": sum(not t.deleted for t in expected.values()),
                "truth_deleted": sum(t.deleted for t in expected.values()),
                "sink_live": sum(not r.deleted for r in rows.values()),
                "sink_deleted": sum(r.deleted for r in rows.values()),
                "mismatches": len(problems),
                "duplicates": len(duplicates),
            }
            assert problems == [], (stream, problems[:10])
            assert duplicates == {}, stream
            assert all(rows[k].deleted for k, t in expected.items() if t.deleted and k in rows)

    out = ROOT / "var" / "acceptance"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"connectors-{portal}.json").write_text(json.dumps(figures, indent=1))
    print(f"\n{portal}: {json.dumps(figures, ensure_ascii=False)}")
    assert figures["no_change"]["records"] == 0
    assert figures["no_change"]["requests"] < figures["full"]["requests"] / 5
    assert {"rate_limit_burst", "server_error", "repeated_page", "head_insert"} <= set(
        figures["faults_fired"]
    )
