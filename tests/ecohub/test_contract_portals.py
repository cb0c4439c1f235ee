"""The portal sets committed in schemas/ and quality/ are generated from the built-in portal
specs; ``python -m ecohub.contract check`` fails on drift and ``portals`` rewrites them."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from ecohub import contract
from ecohub.portals import BUILTIN_PORTALS

ROOT = Path(__file__).resolve().parents[2]


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    shutil.copytree(ROOT / "quality", tmp_path / "quality")
    return tmp_path / "schemas"


def test_the_committed_portal_sets_are_the_builtin_portals():
    assert contract.check_portal_sets() == []
    envelope = json.loads((ROOT / "schemas" / "envelope.v2.json").read_text(encoding="utf-8"))
    assert envelope["properties"]["sourceportal"]["enum"] == [s.name for s in BUILTIN_PORTALS]


def test_a_new_builtin_portal_is_drift_until_rewritten(tmp_path, monkeypatch, capsys):
    schemas = _copy(tmp_path)
    fourth = dataclasses.replace(BUILTIN_PORTALS[0], name="labnet", default_port=8104, rank=3)
    monkeypatch.setattr(contract, "BUILTIN_PORTALS", (*BUILTIN_PORTALS, fourth))

    drifted = contract.check_portal_sets(schemas)
    assert {"schemas/envelope.v2.json", "schemas/entities/organization.v1.json",
            "quality/envelope.json", "quality/person.json"} <= set(drifted)
    assert "quality/startup_project.json" not in drifted  # ^hoip:programme is one portal
    monkeypatch.setattr(contract, "SCHEMA_DIR", schemas)
    assert contract.main(["check"]) == 1
    assert ("schemas/envelope.v2.json: portal set is not the built-in portals (stinet, "
            "techport, hoip, labnet)") in capsys.readouterr().out

    assert contract.write_portal_sets(schemas) == drifted
    assert contract.check_portal_sets(schemas) == []
    envelope = json.loads((schemas / "envelope.v2.json").read_text(encoding="utf-8"))
    assert envelope["properties"]["sourceportal"]["enum"] == ["stinet", "techport", "hoip",
                                                              "labnet"]
    assert envelope["properties"]["entitykey"]["pattern"] == (
        "^(stinet|techport|hoip|labnet):[a-z_]+:.+$")
    suite = (tmp_path / "quality" / "envelope.json").read_text(encoding="utf-8")
    assert '"value_set": ["stinet", "techport", "hoip", "labnet"]' in suite
    # only the portal sets changed: the same lines, in the same layout
    before = (ROOT / "quality" / "envelope.json").read_text(encoding="utf-8").splitlines()
    assert len(suite.splitlines()) == len(before)
    assert sum(a != b for a, b in zip(before, suite.splitlines(), strict=True)) == 2
