"""Fixtures of the connector tests: scripted HTTP servers (see ``scripted_http.py``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from scripted_http import ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    yield srv
    srv.stop()


@pytest.fixture
def other_server() -> Iterator[ScriptedServer]:
    """A second host: links to it must be refused and it must never see a credential."""
    srv = ScriptedServer()
    yield srv
    srv.stop()
