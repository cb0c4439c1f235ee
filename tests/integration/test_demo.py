"""The foundation's acceptance as tests, through the `ecohub` command as an operator runs it:
`ecohub demo` balances per stage; `ecohub status` then shows the run balanced; `ecohub replay`
rebuilds the same events from the landing zone without the portal, and loading them again
changes nothing; `airflow dags list` (through `ecohub airflow`) shows the Techport DAG."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.kafka_topics import unique_tag

pytestmark = pytest.mark.integration
ECOHUB = str(Path(sys.executable).with_name("ecohub"))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """An isolated hub (own warehouse, landing zone, topics, consumer group) after one demo."""
    tmp = tmp_path_factory.mktemp("hub")
    tag = unique_tag()
    env = {
        **os.environ,
        "ECOHUB_VAR_DIR": str(tmp / "var"),
        "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp}/warehouse.db",
        "ECOHUB_LANDING__URL": f"file://{tmp}/landing",
        "ECOHUB_KAFKA__TOPIC_PREFIX": f"demo{tag}",
        "ECOHUB_KAFKA__CONSUMER_GROUP": f"demo-{tag}",
        "ECOHUB_KAFKA__PARTITIONS": "1",
    }
    demo = _run(env, "demo", timeout=900)
    return tmp, env, demo


def _run(env: dict[str, str], *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([ECOHUB, *args], env=env, capture_output=True, text=True, timeout=timeout)


def _count(pattern: str, text: str) -> list[int]:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in output:\n{text[-3000:]}"
    return [int(g) for g in match.groups()]


def test_demo_prints_balanced_stage_counts(hub):
    tmp, _, out = hub
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
    assert "technology_offer.price.amount_plausible" in text
    assert "dead-lettered x" in text and "is missing or empty" in text
    pages = list((tmp / "landing").rglob("page-*"))
    assert pages
    for page in pages:
        assert b"dev-techport-key" not in page.read_bytes()


def test_status_shows_the_demo_run_balanced(hub):
    _, env, demo = hub
    out = _run(env, "status", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    status = json.loads(out.stdout)
    runs = {r["stream"]: r for r in status["runs"] if r["portal"] == "techport"}
    assert set(runs) == {"technologies", "demands", "suppliers", "consultants", "partner_projects"}
    assert {r["status"] for r in runs.values()} == {"balanced"}
    assert sum(r["fetched"] for r in runs.values()) == _count(r"fetched (\d+) =", demo.stdout)[0]
    assert status["consumer_lag"] == 0, out.stderr[-2000:]


def test_replay_from_landing_changes_nothing_in_the_warehouse(hub):
    from sqlalchemy import create_engine

    from ecohub.warehouse import checksums

    _, env, demo = hub
    engine = create_engine(env["ECOHUB_WAREHOUSE_URL"])
    before = checksums(engine)
    # the portal is gone (the demo stopped its simulator): replay must not need it
    out = _run(env, "replay", "techport", "technologies")
    assert out.returncode == 0, out.stderr[-2000:]
    replayed = json.loads(out.stdout.strip().splitlines()[-1])
    tech_fetched = int(re.search(r"technologies\s+(\d+)", demo.stdout).group(1))
    assert replayed["fetched"] == tech_fetched
    assert replayed["fetched"] == replayed["published"] + replayed["dead_lettered"]
    load = _run(env, "consume", "--idle-timeout", "1")
    assert load.returncode == 0, load.stderr[-2000:]
    stats = json.loads(load.stdout.strip().splitlines()[-1])
    assert stats["messages"] == replayed["events"]
    after = checksums(engine)
    changed = {t for t in before if before[t] != after.get(t) and t not in _BOOKKEEPING}
    assert not changed, changed


# tables that record the act of loading (receipts, offsets, runs), not the data itself
_BOOKKEEPING = {"load_receipts", "consumer_offsets", "runs", "run_extracts", "quarantine"}


def test_airflow_dags_list_shows_techport_dag(hub):
    _, env, _ = hub
    out = _run(env, "airflow", "dags", "list", "-o", "plain", timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ecohub_sync_techport" in out.stdout


def test_doctor_passes_kafka_warehouse_and_landing_when_they_run(hub):
    _, env, _ = hub
    out = _run(env, "doctor")
    lines = out.stdout.splitlines()
    for check in ("kafka", "warehouse", "landing"):
        assert any(line.startswith(f"[ok] {check}") for line in lines), out.stdout
    # the demo's simulator is gone, so the portals are the (only) problems, named as such
    assert out.returncode == 3
    assert "problems: portal:stinet, portal:techport, portal:hoip" in out.stdout
