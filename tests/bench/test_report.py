"""docs/performance.md and its chart, from one run's figures (no timing asserted)."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree

from bench import report


def _results(dlt: bool = True) -> report.Results:
    return report.Results(
        command="make bench", started=datetime(2026, 12, 2, 6, 0, tzinfo=UTC), scale="real",
        portals=["techport", "hoip"],
        e2e={"records": 36_000, "events": 40_000, "seconds": 120.0,
             "sync_seconds": {"techport": 60.0, "hoip": 20.0}, "load_seconds": 40.0,
             "peak_rss_mb": 300.0},
        stages={"fetch + land": (36_000, 30.0, 10.0),
                "normalize + validate": (36_000, 20.0, 19.0),
                report.PUBLISH_STAGE: (40_000, 10.0, 8.0),
                "quality gate (GX)": (40_000, 40.0, 38.0),
                "load (PostgreSQL)": (40_000, 20.0, 10.0)},
        kafka={"_bytes": 2000.0, "kafka-python (bare)": (40_000, 8.0, 6.0),
               "confluent-kafka (bare)": (40_000, 4.0, 2.0),
               report.PUBLISHER_PEER: (40_000, 5.0, 4.0),
               "Kafka ProducerPerformance (Java)": (40_000, 2.0, None)},
        copy=(40_000, 4.0, 1.0),
        dlt={"records": 36_000, "seconds": 60.0} if dlt else None,
        machine="box: 2 cores",
    )


def test_ratios_are_computed_from_the_same_run() -> None:
    text = report.markdown(_results())
    assert "ecohub end to end (one step after another) / dlt: **0.50**" in text  # 300 vs 600/s
    # prepared messages 8,000/s, the encode + publish stage 4,000/s, Java 20,000/s
    assert ("ecohub Publisher / Kafka ProducerPerformance: **0.40** (>= 0.5); with the "
            "encoding of the events (the publish stage): **0.20**") in text
    assert "ecohub Publisher / bare kafka-python: **1.60**" in text
    assert "bare kafka-python / bare confluent-kafka: **0.50**" in text
    # load 2,000/s vs COPY 10,000/s; with GX 40,000 / 60 s = 667/s
    assert "ecohub load (without GX) / COPY: **0.20** (>= 0.5); with GX: **0.07**" in text
    assert ("| end to end | ecohub sync + consume, one after another | 36000 | 120.0 | 300 |  |"
            in text)
    assert "- command: `make bench`" in text
    assert ("Share of the summed stage seconds: fetch + land 25%, normalize + validate 17%, "
            "encode + publish (ecohub Publisher) 8%, quality gate (GX) 33%, "
            "load (PostgreSQL) 17%.") in text
    assert ("bare kafka-python sends at 0.50x the rate of bare confluent-kafka on the same "
            "broker and settings, and publishing is 8% of the stage time") in text
    assert ("On kafka-python the Publisher reaches only 0.40x ProducerPerformance (goal >= "
            "0.5): the figures call for the faster client") in text


def test_the_client_verdict_follows_the_publisher_ratio() -> None:
    results = _results()
    results.kafka[report.PUBLISHER_PEER] = (40_000, 3.0, 3.0)  # 13,333/s vs Java's 20,000/s
    assert ("On kafka-python the Publisher reaches 0.67x ProducerPerformance (goal >= 0.5), "
            "so the project stays on it") in report.markdown(results)
    del results.kafka[report.PUBLISHER_PEER]
    assert "no verdict on the client from this run" in report.markdown(results)


def test_a_missing_peer_says_n_a() -> None:
    text = report.markdown(_results(dlt=False))
    assert "ecohub end to end (one step after another) / dlt: **n/a**" in text
    assert "dlt rest_api" not in text


def test_chart_is_svg_with_one_bar_per_row() -> None:
    results = _results()
    root = ElementTree.fromstring(report.svg(results))
    bars = root.findall("{http://www.w3.org/2000/svg}rect")
    assert len(bars) == len(report.rows(results)) == 12
    widths = [float(b.get("width", "0")) for b in bars]
    assert max(widths) == widths[-2]  # ProducerPerformance, 20,000/s, is the longest bar


def test_the_replay_of_the_landing_zone_is_an_end_to_end_row() -> None:
    results = _results()
    results.replay = {"records": 36_000, "events": 40_000, "seconds": 45.0,
                      "replay_seconds": 30.0, "load_seconds": 15.0}
    text = report.markdown(results)
    assert ("| end to end | replay of the landing zone + consume | 36000 | 45.0 | 800 |  |"
            in text)
    assert ("- replay of the landing zone (no portal): 36000 source records re-published in "
            "30 s, 40000 events consumed in 15 s") in text
    assert len(report.rows(results)) == len(report.rows(_results())) + 1
    assert "replay of the landing zone" not in report.markdown(_results())  # not run: no row


def test_side_by_side_and_incremental_runs_carry_the_goals() -> None:
    results = _results()
    results.side = {"records": 36_000, "events": 40_000, "seconds": 48.0,
                     "sync_seconds": {"techport": 40.0, "hoip": 12.0}, "peak_rss_mb": 210.0}
    results.incremental = {"records": 500, "events": 520, "seconds": 6.0,
                           "sync_seconds": {"techport": 4.0, "hoip": 3.0}, "peak_rss_mb": 150.0}
    text = report.markdown(results)
    # 750/s side by side against dlt's 600/s
    assert ("ecohub end to end (side by side) / dlt: **1.25** (>= 1.0); 48 s wall "
            "(goal <= 60 s)") in text
    assert "incremental run / full run (side by side): **0.12** (<= 0.05)" in text
    assert (f"| end to end | {report.SIDE_BY_SIDE} | 36000 | 48.0 | 750 |  |") in text
    assert ("- side by side: 36000 source records, 40000 events loaded or quarantined; syncs "
            "ended at techport 40 s, hoip 12 s; loader done at 48 s; peak RSS of any process "
            "210 MB") in text
    assert len(report.rows(results)) == len(report.rows(_results())) + 2
    plain = report.markdown(_results())  # not run: no row, no ratio
    assert report.SIDE_BY_SIDE not in plain and "(side by side) / dlt" not in plain
    assert "incremental" not in plain
