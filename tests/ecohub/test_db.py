"""One SQLite configuration: the hub's engines and the tests' throw-away engines get the same
pragmas (WAL with synchronous NORMAL, foreign keys, a busy timeout), from ecohub.db alone."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ecohub.db import get_engine, new_engine
from tests.fixtures.warehouse_sample import sqlite_engine

# synchronous 1 is NORMAL
PRAGMAS = {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 30000}


@pytest.mark.parametrize(
    "build",
    [
        lambda path: get_engine(f"sqlite:///{path}"),
        lambda path: new_engine(f"sqlite:///{path}"),
        sqlite_engine,
    ],
    ids=["get_engine", "new_engine", "test fixture"],
)
def test_every_sqlite_engine_gets_the_hub_pragmas(tmp_path, build):
    engine = build(tmp_path / "nested" / "wh.db")  # the folder is created
    with engine.connect() as conn:
        found = {name: conn.execute(text(f"PRAGMA {name}")).scalar() for name in PRAGMAS}
    engine.dispose()
    assert found == PRAGMAS


def test_get_engine_is_one_engine_per_url_and_new_engine_is_not(tmp_path):
    url = f"sqlite:///{tmp_path}/wh.db"
    assert get_engine(url) is get_engine(url)
    assert new_engine(url) is not new_engine(url)
