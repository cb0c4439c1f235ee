"""Scale presets: how many records each resource holds when a simulator starts.

The figures live in each portal's spec (``scales`` in :mod:`ecohub.portals`); this module
flattens them to ``"<portal>/<resource>" -> count``. ``real`` follows the published figures of
the portals (see docs/portals and the brief): Stinet about 150k documents, 626 experts, 134
laboratories, 208 S&T organizations; Techport about 18.6k technologies from about 2.4k
suppliers, 6k demands, 3k consultants, 660 partner-search projects; H.OIP about 2k startup
projects and a few hundred organizations. ``small`` is for unit tests (hundreds of records),
``xl`` is ten times ``real`` for benchmarks.
"""

from __future__ import annotations

from ecohub.errors import ConfigError
from ecohub.portals import portal_specs

__all__ = ["SCALES", "resource_sizes"]

SCALES: tuple[str, ...] = ("small", "real", "xl")


def resource_sizes(scale: str) -> dict[str, int]:
    """Initial record counts of ``scale`` for every registered portal, keyed
    ``"<portal>/<resource>"``; an unknown scale fails listing the valid ones."""
    if scale not in SCALES:
        raise ConfigError(f"unknown scale {scale!r}; valid scales: {', '.join(SCALES)}")
    return {f"{spec.name}/{resource}": count for spec in portal_specs()
            for resource, count in spec.scale(scale).items()}
