"""Fixtures of the hostile-portal suite: a misbehaving portal and an attacker's listener."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hostile import Attacker, HostilePortal


@pytest.fixture
def portal() -> Iterator[HostilePortal]:
    srv = HostilePortal()
    yield srv
    srv.close()


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    """The attacker's listener; every test ends by checking that it heard nothing."""
    listener = Attacker()
    yield listener
    listener.close()
    assert listener.hits == [], f"{len(listener.hits)} request(s) reached the attacker"
