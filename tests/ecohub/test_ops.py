"""Operator commands: ``status`` never hides an unbalanced run behind a newer balanced one."""

from __future__ import annotations

import socket

import pytest

from ecohub.db import get_engine
from ecohub.errors import ReconciliationError
from ecohub.ops import status, unbalanced_runs
from ecohub.settings import load_settings
from ecohub.warehouse import init_db
from ecohub.warehouse.runs import reconcile, record_extract

OLD = "techport-20250305T073000Z-0a1b2c3d"
NEW = "techport-20250305T083000Z-9f8e7d6c"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_status_lists_an_older_unbalanced_run_and_exits_1(tmp_path, capsys):
    settings = load_settings(
        {
            "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/wh.db",
            "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}",
        }
    )
    engine = get_engine(settings.warehouse_url)
    init_db(engine)
    record_extract(engine, OLD, "techport", "suppliers", fetched=3, published=3, dead_lettered=0)
    with pytest.raises(ReconciliationError):  # 3 events published, none in the warehouse
        reconcile(engine, OLD, consumer_lag=0)
    record_extract(engine, NEW, "techport", "suppliers", fetched=0, published=0, dead_lettered=0)
    assert reconcile(engine, NEW, consumer_lag=0).status == "balanced"

    code = status(settings)
    out = capsys.readouterr().out

    assert code == 1
    assert f"UNBALANCED run {OLD}: run does not balance: events 3 != loaded 0" in out
    assert [r["run_id"] for r in unbalanced_runs(settings)] == [OLD]
    engine.dispose()


def test_status_migrates_the_warehouse_once(tmp_path, monkeypatch, capsys):
    """One entry point, one engine: status builds it once for both of its queries (Kafka is
    down here, so the consumer lag is not asked)."""
    import ecohub.ops as ops

    settings = load_settings(
        {
            "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/wh.db",
            "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}",
        }
    )
    migrations = []
    monkeypatch.setattr(ops, "init_db", lambda e: (migrations.append(e), init_db(e)))

    assert status(settings) == 0
    assert len(migrations) == 1
    assert "consumer lag: unknown" in capsys.readouterr().out


def test_status_hands_its_engine_to_the_lag_query(tmp_path, monkeypatch, capsys):
    """With Kafka up, the lag query reuses status's engine instead of building and migrating
    its own (status ran init_db twice)."""
    import ecohub.ops as ops

    settings = load_settings({"ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/wh.db"})
    migrations, lag_engines = [], []
    monkeypatch.setattr(ops, "init_db", lambda e: (migrations.append(e), init_db(e)))
    monkeypatch.setattr(ops, "check_kafka", lambda s: type("R", (), {"ok": True})())
    monkeypatch.setattr(
        ops, "consumer_lag", lambda s, engine=None: (lag_engines.append(engine), {})[1]
    )

    assert status(settings) == 0
    assert len(migrations) == 1
    assert lag_engines == migrations
    assert "consumer lag: 0" in capsys.readouterr().out
