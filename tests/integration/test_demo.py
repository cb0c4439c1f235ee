"""The foundation's acceptance as tests: `ecohub demo` balances per stage, and `airflow dags
list` (through `ecohub airflow`) shows the Techport DAG."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ECOHUB = str(Path(sys.executable).with_name("ecohub"))


def _env(tmp_path: Path) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "ECOHUB_VAR_DIR": str(tmp_path / "var"),
        "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/warehouse.db",
        "ECOHUB_LANDING__URL": f"file://{tmp_path}/landing",
        "ECOHUB_KAFKA__TOPIC_PREFIX": f"demo{tag}",
        "ECOHUB_KAFKA__CONSUMER_GROUP": f"demo-{tag}",
        "ECOHUB_KAFKA__PARTITIONS": "1",
    }


def _count(pattern: str, text: str) -> list[int]:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in output:\n{text[-3000:]}"
    return [int(g) for g in match.groups()]


def test_demo_prints_balanced_stage_counts(tmp_path):
    out = subprocess.run(
        [ECOHUB, "demo"], env=_env(tmp_path), capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    fetched, published, dead = _count(
        r"fetched (\d+) = published (\d+) \+ dead-lettered (\d+)", text
    )
    events, ok, quarantined = _count(
        r"events (\d+) = validated-ok (\d+) \+ quarantined (\d+)", text
    )
    (loaded,) = _count(r"loaded\s+: (\d+)", text)
    assert fetched > 0 and fetched == published + dead
    assert events == ok + quarantined and loaded == ok
    assert "reconciliation: balanced" in text
    assert dead >= 1, "the simulator's deliberately broken records must reach the dead-letter topic"
    assert quarantined >= 1, "the implausible price must be stopped by the quality gate"
    assert "quarantined   x" in text and "technology_offer.price.amount_plausible" in text
    assert "dead-lettered x" in text and "is missing or empty" in text
    # landed raw pages exist for every stream and carry no credential
    pages = list((tmp_path / "landing").rglob("page-*"))
    assert pages
    for page in pages:
        assert b"dev-techport-key" not in page.read_bytes()


def test_airflow_dags_list_shows_techport_dag(tmp_path):
    out = subprocess.run(
        [ECOHUB, "airflow", "dags", "list", "-o", "plain"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ecohub_sync_techport" in out.stdout
