"""Killed with SIGKILL in the middle of a sync and started again, a connector resumes from its
saved state and ends with the same result as an uninterrupted run.

The sync runs in a subprocess (``python -m connectors.harness``) that publishes each batch to
a SQLite sink, then saves the batch's state; the test kills it once a few pages are saved.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parents[1] / "connectors"))

from simkit import is_versioned, mismatches, resource_of, sink_rows, truth

import simulators
from connectors import get_connector
from connectors.harness import Sink

pytestmark = pytest.mark.integration
PAGE_SIZE = 10
SLOW = {"slow": {"rate": 1.0, "delay": 0.15}}


def harness(portal: str, stream: str, sim, db: str, landing: Path, run_id: str) -> subprocess.Popen:
    prefix = f"ECOHUB_{portal.upper()}__"
    env = {
        **os.environ,
        f"{prefix}BASE_URL": sim.url,
        f"{prefix}PAGE_SIZE": str(PAGE_SIZE),
        f"{prefix}BACKOFF_BASE": "0.05",
        "ECOHUB_LANDING__URL": f"file://{landing}",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connectors.harness",
            portal,
            stream,
            "--db",
            db,
            "--run-id",
            run_id,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def saved_pages(db: str, portal: str, stream: str) -> int:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT state FROM sync_state WHERE portal=:p AND stream=:s"),
                {"p": portal, "s": stream},
            ).first()
    except Exception:  # the table does not exist yet
        return 0
    finally:
        engine.dispose()
    if row is None:
        return 0
    state = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    return int((state.get("progress") or {}).get("pages") or 0)


def _clear_faults(sim) -> None:
    request = urllib.request.Request(
        f"{sim.url}/_admin/faults", data=b"{}", method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.loads(answer.read())["faults"] == {}


@pytest.mark.parametrize(
    ("portal", "stream", "kill_after"),
    [
        ("techport", "technologies", 8),
        ("stinet", "documents", 2),
        ("hoip", "startup_projects", 4),
        ("stinet", "experts", 3),
    ],
)
def test_a_sync_killed_mid_way_resumes_and_ends_like_an_uninterrupted_one(
    portal, stream, kill_after, tmp_path
):
    killed_db, clean_db = f"sqlite:///{tmp_path}/killed.db", f"sqlite:///{tmp_path}/clean.db"
    with simulators.start(portal, scale="small", seed=3, port=0, faults=SLOW) as sim:
        first = harness(portal, stream, sim, killed_db, tmp_path / "landing", "run-killed")
        deadline = time.monotonic() + 120
        while saved_pages(killed_db, portal, stream) < kill_after:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the sync never got going"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        interrupted = saved_pages(killed_db, portal, stream)
        assert interrupted >= kill_after  # it really stopped mid-way, state saved
        # the delay only gave the kill a page to land on; the resumed and the clean run
        # need none (every request of theirs was 0.15 s slower)
        _clear_faults(sim)

        second = harness(portal, stream, sim, killed_db, tmp_path / "landing", "run-resumed")
        out, err = second.communicate(timeout=300)
        assert second.returncode == 0, err
        resumed = json.loads(out.strip().splitlines()[-1])

        third = harness(portal, stream, sim, clean_db, tmp_path / "landing-clean", "run-clean")
        out, err = third.communicate(timeout=300)
        assert third.returncode == 0, err
        clean = json.loads(out.strip().splitlines()[-1])
        expected = truth(sim, resource_of(get_connector(portal), stream))

    killed_rows = sink_rows(create_engine(killed_db), portal, stream)
    clean_rows = sink_rows(create_engine(clean_db), portal, stream)
    assert killed_rows == clean_rows
    connector = get_connector(portal)
    assert mismatches(killed_rows, expected, is_versioned(connector, stream)) == []
    # resumed, not restarted: the second run read less than a whole sync
    assert resumed["records"] < clean["records"]
    # at most the page in flight when killed was published twice
    duplicates = Sink(create_engine(killed_db)).duplicates(portal, stream)
    assert sum(duplicates.values()) <= 2 * max(PAGE_SIZE, 100)
