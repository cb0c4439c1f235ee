"""Scale presets: how many records each resource holds when a simulator starts.

``real`` follows the published figures of the portals (see docs/portals and the brief):
Stinet about 150k documents, 626 experts, 134 laboratories, 208 S&T organizations; Techport
about 18.6k technologies from about 2.4k suppliers, 6k demands, 3k consultants, 660
partner-search projects; H.OIP about 2k startup projects and a few hundred organizations.
``small`` is for unit tests (hundreds of records), ``xl`` is ten times ``real`` for benchmarks.
"""

from __future__ import annotations

from ecohub.errors import ConfigError

__all__ = ["SCALES", "resource_sizes"]

_REAL = {
    "stinet/documents": 150_000,
    "stinet/tasks": 4_500,
    "stinet/experts": 626,
    "stinet/laboratories": 134,
    "stinet/organizations": 208,
    "techport/cong-nghe": 18_600,
    "techport/nhu-cau": 6_000,
    "techport/nha-cung-cap": 2_370,
    "techport/tu-van": 3_000,
    "techport/tim-doi-tac": 660,
    "hoip/startup-projects": 2_000,
    "hoip/organizations": 360,
    "hoip/programs": 60,
    "hoip/challenges": 180,
    "hoip/support-applications": 3_200,
}
_SMALL = {
    "stinet/documents": 400,
    "stinet/tasks": 120,
    "stinet/experts": 80,
    "stinet/laboratories": 30,
    "stinet/organizations": 40,
    "techport/cong-nghe": 300,
    "techport/nhu-cau": 120,
    "techport/nha-cung-cap": 60,
    "techport/tu-van": 80,
    "techport/tim-doi-tac": 40,
    "hoip/startup-projects": 120,
    "hoip/organizations": 50,
    "hoip/programs": 12,
    "hoip/challenges": 20,
    "hoip/support-applications": 150,
}
SCALES: dict[str, dict[str, int]] = {
    "small": _SMALL,
    "real": _REAL,
    "xl": {k: v * 10 for k, v in _REAL.items()},
}


def resource_sizes(scale: str) -> dict[str, int]:
    """Initial record counts of ``scale``; an unknown scale fails listing the valid ones."""
    try:
        return SCALES[scale]
    except KeyError:
        raise ConfigError(f"unknown scale {scale!r}; valid scales: {', '.join(SCALES)}") from None
