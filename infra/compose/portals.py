"""The portals' blocks of docker-compose.yml (``x-ecohub-env``) and .env.example, generated.

Why generated: each portal has one ``ECOHUB_<PORTAL>__<FIELD>`` line per portal setting in both
files (17 a portal). They follow from the built-in portal specs (:mod:`ecohub.portals`) and the
portal settings model, so ``python -m infra.compose.check`` compares the committed blocks with
these and ``python -m infra.compose.check --write-portals`` rewrites them. Pure text functions:
:func:`infra.compose.check.project_facts` supplies what they need from the code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["PortalBlock", "compose_block", "env_block", "replace_compose_block",
           "replace_env_block"]

COMPOSE_MARK = "  # Portals:"
ENV_MARK = "# --- ecohub: portals "
_COMPOSE_LINE = re.compile(r"^  ECOHUB_[A-Z0-9]+__[A-Z0-9_]+:")


@dataclass(frozen=True)
class PortalBlock:
    """One portal as the deployment files show it: its settings, in model order, with the
    value ``.env.example`` documents (the container's default) and the compose default of
    ``base_url`` (its simulator in the ``dev`` profile)."""

    name: str
    base_url: str
    shown: Mapping[str, str]


def compose_block(portals: Sequence[PortalBlock]) -> str:
    """The ``x-ecohub-env`` lines of every portal (after the ``# Portals:`` comment)."""
    lines = []
    for portal in portals:
        for field in portal.shown:
            name = f"ECOHUB_{portal.name.upper()}__{field.upper()}"
            default = f" ${{{name}:-{portal.base_url}}}" if field == "base_url" else ""
            lines.append(f"  {name}:{default}")
    return "\n".join(lines) + "\n"


def env_block(portals: Sequence[PortalBlock]) -> str:
    """The commented ``#NAME=value`` lines of every portal, one paragraph each."""
    paragraphs = [
        "\n".join(f"#ECOHUB_{p.name.upper()}__{field.upper()}={value}"
                  for field, value in p.shown.items())
        for p in portals
    ]
    return "\n\n".join(paragraphs) + "\n"


def replace_compose_block(text: str, block: str) -> str:
    """``text`` with the lines after the ``# Portals:`` comment replaced by ``block``."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(COMPOSE_MARK)), None)
    if start is None:
        raise ValueError(f"docker-compose.yml has no line starting {COMPOSE_MARK.strip()!r}")
    end = start + 1
    while end < len(lines) and _COMPOSE_LINE.match(lines[end]):
        end += 1
    return "".join(lines[: start + 1]) + block + "".join(lines[end:])


def replace_env_block(text: str, block: str) -> str:
    """``text`` with the portals' paragraphs (after the section's leading comments, up to the
    next ``# ---`` section) replaced by ``block``."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(ENV_MARK)), None)
    if start is None:
        raise ValueError(f".env.example has no section starting {ENV_MARK.strip()!r}")
    first = start + 1
    while first < len(lines) and lines[first].startswith("# "):
        first += 1
    end = first
    while end < len(lines) and not lines[end].startswith("# ---"):
        end += 1
    return "".join(lines[:first]) + block + "\n" + "".join(lines[end:])
