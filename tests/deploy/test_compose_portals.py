"""The portals' blocks of docker-compose.yml and .env.example are generated from the built-in
portal specs: the deployment check reports drift, ``--write-portals`` rewrites them."""

from __future__ import annotations

import dataclasses
import shutil

from infra.compose.portals import PortalBlock


def test_the_committed_blocks_are_the_generated_ones(check, compose_text, env_text, facts):
    assert [p.name for p in facts.portals] == ["stinet", "techport", "hoip"]
    texts = {"docker-compose.yml": compose_text, ".env.example": env_text}
    assert check.portal_block_problems(texts, facts.portals) == []
    hoip = facts.portals[2]
    assert (hoip.base_url, hoip.shown["auth"], hoip.shown["client_id"]) == (
        "http://simulators:8103", "oauth2", "ecohub")
    assert hoip.shown["client_secret"] == ""  # secrets come from .env only


def test_a_new_builtin_portal_is_reported_until_written(check, root, tmp_path, facts):
    for name in ("docker-compose.yml", ".env.example"):
        shutil.copy(root / name, tmp_path / name)
    shown = {**facts.portals[1].shown, "base_url": "http://simulators:8104"}
    labnet = PortalBlock("labnet", "http://simulators:8104", shown)
    grown = dataclasses.replace(facts, portals=(*facts.portals, labnet))
    texts = {n: (tmp_path / n).read_text(encoding="utf-8")
             for n in ("docker-compose.yml", ".env.example")}

    problems = check.portal_block_problems(texts, grown.portals)
    assert problems == [
        f"{name}: the portals' block is not the one generated from the built-in portal specs; "
        "run python -m infra.compose.check --write-portals"
        for name in ("docker-compose.yml", ".env.example")
    ]
    assert check.write_portal_blocks(tmp_path, grown) == ["docker-compose.yml", ".env.example"]
    compose = (tmp_path / "docker-compose.yml").read_text(encoding="utf-8")
    env = (tmp_path / ".env.example").read_text(encoding="utf-8")
    assert check.portal_block_problems(
        {"docker-compose.yml": compose, ".env.example": env}, grown.portals) == []
    assert ("  ECOHUB_HOIP__SCHEDULE:\n  ECOHUB_LABNET__BASE_URL: "
            "${ECOHUB_LABNET__BASE_URL:-http://simulators:8104}\n"
            "  ECOHUB_LABNET__AUTH:\n") in compose
    assert ("#ECOHUB_HOIP__SCHEDULE=@hourly\n\n#ECOHUB_LABNET__BASE_URL=http://simulators:8104\n"
            "#ECOHUB_LABNET__AUTH=api_key\n") in env
    assert "\n\n# --- ecohub: OpenLineage" in env  # the next section is untouched
    assert check.write_portal_blocks(tmp_path, grown) == []  # idempotent
