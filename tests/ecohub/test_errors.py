"""One exception tree: every exception class the repository defines joins ``EcohubError``, so a
caller can tell from the class what to do next (docs in ecohub/errors.py)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

from ecohub.errors import EcohubError, FatalError, ListingRestart, RetriableError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ecohub", "connectors", "simulators")


def _modules() -> list[str]:
    names = ["infra.stack", "infra.compose.check"]
    for package in PACKAGES:
        names.append(package)
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if ".migrations" not in info.name and not info.name.endswith("__main__"):
                names.append(info.name)
    return names


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found.append(obj)
    return found


def test_every_exception_class_joins_the_tree():
    classes = _exception_classes()
    names = {c.__name__ for c in classes}
    assert {"ListingRestart", "OaiError", "InterpolationError", "ServiceUnavailable"} <= names
    outside = sorted(
        f"{c.__module__}.{c.__name__}" for c in classes if not issubclass(c, EcohubError)
    )
    assert outside == []


@pytest.mark.parametrize("group", [RetriableError, FatalError])
def test_a_listing_restart_is_neither_retried_as_is_nor_fatal(group):
    assert not issubclass(ListingRestart, group)
