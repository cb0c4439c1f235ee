"""The ``ecohub`` command: help that teaches, exit codes that mean something, doctor naming the
broken service, secrets masked."""

from __future__ import annotations

import socket

import pytest

from ecohub.cli import main


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for command in (
        "simulate",
        "sync",
        "consume",
        "replay",
        "status",
        "report",
        "doctor",
        "services",
    ):
        assert command in out
    assert "typical session" in out


@pytest.mark.parametrize(
    "argv",
    [["sync", "vinatech"], ["simulate", "--scale", "huge"], ["replay", "techport"], []],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "usage: ecohub" in capsys.readouterr().err


def test_config_error_exit_2_names_the_key(monkeypatch, capsys):
    monkeypatch.setenv("ECOHUB_KAFKA__PARTITIONS", "many")
    assert main(["config"]) == 2
    assert "kafka.partitions" in capsys.readouterr().err


def test_config_masks_secrets(monkeypatch, capsys):
    monkeypatch.setenv("ECOHUB_TECHPORT__API_KEY", "tp-live-0042")
    monkeypatch.setenv("ECOHUB_WAREHOUSE_URL", "postgresql+psycopg://hub:pg-pass-77@db/ecohub")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "tp-live-0042" not in out and "pg-pass-77" not in out
    assert '"api_key": "***"' in out


def test_doctor_names_kafka_when_it_is_down(monkeypatch, capsys):
    monkeypatch.setenv("ECOHUB_KAFKA__BOOTSTRAP_SERVERS", f"127.0.0.1:{_closed_port()}")
    code = main(["doctor"])
    out = capsys.readouterr().out
    assert code == 3
    kafka_line = next(line for line in out.splitlines() if line.startswith("[FAIL] kafka"))
    assert "not reachable" in kafka_line
    assert "make up" in out and "ECOHUB_KAFKA__BOOTSTRAP_SERVERS" in out
    assert "problems: kafka" in out
    assert "[ok] warehouse" in out and "[ok] landing" in out


def test_status_on_an_empty_warehouse(monkeypatch, capsys):
    monkeypatch.setenv("ECOHUB_KAFKA__BOOTSTRAP_SERVERS", f"127.0.0.1:{_closed_port()}")
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "no runs yet" in out
    assert "consumer lag: unknown" in out


def test_services_down_only_stops_the_named_service(monkeypatch):
    from infra import stack as services

    calls = []
    monkeypatch.setattr(services, "down", lambda only=None, stack=None: calls.append(only))
    assert main(["services", "down", "--only", "kafka"]) == 0
    assert main(["services", "down"]) == 0
    assert calls == [["kafka"], None]


@pytest.mark.parametrize("service", ["warehouse", "kafka"])
def test_consume_with_a_service_down_exits_3_with_one_line(monkeypatch, capsys, tmp_path, service):
    closed = _closed_port()
    if service == "warehouse":
        monkeypatch.setenv("ECOHUB_WAREHOUSE_URL", f"postgresql+psycopg://u@127.0.0.1:{closed}/x")
    else:
        monkeypatch.setenv("ECOHUB_WAREHOUSE_URL", f"sqlite:///{tmp_path}/wh.db")
        monkeypatch.setenv("ECOHUB_KAFKA__BOOTSTRAP_SERVERS", f"127.0.0.1:{closed}")
    code = main(["consume", "--outage-timeout", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert len(err) == 1 and err[0].startswith("ecohub: unavailable:")
    assert service in err[0].lower()
    assert "Traceback" not in err[0]
