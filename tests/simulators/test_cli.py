"""``python -m simulators`` / ``simulators.main``: arguments, serving, clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import requests

import simulators
from ecohub.errors import ConfigError


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--portal", "vista"], "unknown portal 'vista'; valid: stinet, techport, hoip, all"),
        (["--scale", "huge"], "unknown scale 'huge'; valid: small, real, xl"),
    ],
)
def test_main_refuses_unknown_portal_or_scale(argv: list[str], message: str, capsys) -> None:
    assert simulators.main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"portal": "vista"}, "valid portals: stinet, techport, hoip"),
        ({"portal": "hoip", "scale": "huge"}, "valid scales: small, real, xl"),
    ],
)
def test_start_refuses_unknown_portal_or_scale(kwargs: dict, message: str) -> None:
    portal = kwargs.pop("portal")
    with pytest.raises(ConfigError, match=message):
        simulators.start(portal, port=0, **kwargs)


def test_start_refuses_a_bad_fault_configuration() -> None:
    with pytest.raises(ConfigError, match="unknown fault"):
        simulators.start("techport", port=0, faults={"meteor": {}})


@pytest.mark.integration
def test_start_all_and_context_manager() -> None:
    servers = simulators.start_all(ports={"stinet": 0, "techport": 0, "hoip": 0})
    try:
        assert set(servers) == set(simulators.portals())
        assert {s.portal for s in servers.values()} == set(simulators.portals())
    finally:
        for server in servers.values():
            server.stop()
    with simulators.start("stinet", port=0) as server:
        url = server.url
        assert (
            requests.get(f"{url}/oai", params={"verb": "Identify"}, timeout=10).status_code == 200
        )
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/oai", params={"verb": "Identify"}, timeout=2)


@pytest.mark.integration
def test_python_m_simulators_serves_until_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators", "--portal", "techport", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("techport simulator listening at http://127.0.0.1:")
        url = line.split(" at ")[1].split()[0]
        assert proc.stdout.readline().strip() == "ready"
        resp = requests.get(
            f"{url}/api/v2/tim-doi-tac", headers={"X-API-Key": "dev-techport-key"}, timeout=10
        )
        assert resp.status_code == 200 and resp.json()["phan_trang"]["tong_so"] == 40
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
