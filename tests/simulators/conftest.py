"""Fixtures of the simulator tests: servers on free ports, stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

import simulators
from simulators.harvest import Reader
from simulators.server import SimulatorServer


@pytest.fixture
def start_sim() -> Iterator[Callable[..., SimulatorServer]]:
    """Start a small-scale simulator on a free port; every server started is stopped after."""
    started: list[SimulatorServer] = []

    def _start(portal: str, **kwargs: object) -> SimulatorServer:
        kwargs.setdefault("port", 0)
        server = simulators.start(portal, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


@pytest.fixture
def stinet(start_sim: Callable[..., SimulatorServer]) -> SimulatorServer:
    return start_sim("stinet")


@pytest.fixture
def techport(start_sim: Callable[..., SimulatorServer]) -> SimulatorServer:
    return start_sim("techport")


@pytest.fixture
def hoip(start_sim: Callable[..., SimulatorServer]) -> SimulatorServer:
    return start_sim("hoip")


@pytest.fixture
def hoip_session(hoip: SimulatorServer) -> requests.Session:
    session = requests.Session()
    token = Reader(hoip.url, "hoip").login()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


@pytest.fixture
def techport_session() -> requests.Session:
    session = requests.Session()
    session.headers["X-API-Key"] = "dev-techport-key"
    return session
