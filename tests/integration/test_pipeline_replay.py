"""A replay uses the settings it is given, for the connector too: a process whose environment
holds another (or no valid) ecohub configuration replays with the caller's.

Found by the fault suite: under ``ECOHUB_ACCEPTANCE=1`` every replay died with "invalid ecohub
configuration: acceptance: Extra inputs are not permitted", because ``pipeline.replay`` built
its connector from ``os.environ`` instead of the ``settings`` argument.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.kafka_topics import unique_tag

pytestmark = pytest.mark.integration

STREAM = "suppliers"


@pytest.fixture
def settings(tmp_path: Path, kafka_bootstrap: str) -> Iterator[object]:
    import simulators
    from ecohub.settings import load_settings

    tag = unique_tag()
    with simulators.start("techport", scale="small", port=0) as server:
        yield load_settings({
            "ECOHUB_VAR_DIR": str(tmp_path),
            "ECOHUB_WAREHOUSE_URL": f"sqlite:///{tmp_path}/wh.db",
            "ECOHUB_LANDING__URL": f"file://{tmp_path}/landing",
            "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
            "ECOHUB_KAFKA__TOPIC_PREFIX": f"rp{tag}",
            "ECOHUB_KAFKA__PARTITIONS": "1",
            "ECOHUB_TECHPORT__BASE_URL": server.url,
            "ECOHUB_TECHPORT__PAGE_SIZE": "10",
            "ECOHUB_TECHPORT__RATE_LIMIT": "1000",
        })


def test_replay_builds_its_connector_from_the_given_settings(settings, monkeypatch):
    from ecohub.errors import ConfigError
    from ecohub.pipeline import replay, sync
    from ecohub.settings import load_settings

    [report] = sync("techport", [STREAM], settings=settings)
    assert report.fetched > 10  # several landed pages to replay

    monkeypatch.setenv("ECOHUB_NOT_A_SETTING", "1")  # the process's own configuration is bad
    with pytest.raises(ConfigError, match="not_a_setting"):
        load_settings()
    replayed = replay("techport", STREAM, source_run_id=report.run_id, settings=settings)

    assert (replayed.pages, replayed.fetched, replayed.published, replayed.dead_lettered) == (
        report.pages, report.fetched, report.published, report.dead_lettered)  # fmt: skip
    assert replayed.events_by_type == report.events_by_type


def test_a_replay_of_several_streams_shares_one_run_id_and_gives_each_streams_counts(settings):
    from ecohub.pipeline import replay_streams, sync

    synced = sync("techport", [STREAM, "partner_projects"], settings=settings)
    replayed = replay_streams("techport", [STREAM, "partner_projects"], settings=settings)

    assert [(r.stream, r.pages, r.fetched, r.published, r.dead_lettered, r.events_by_type)
            for r in replayed] == [(r.stream, r.pages, r.fetched, r.published, r.dead_lettered,
                                    r.events_by_type) for r in synced]
    assert len({r.run_id for r in replayed}) == 1
    assert replayed[0].run_id.startswith("replay-techport-")
