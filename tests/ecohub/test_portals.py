"""The portal registry: specs validate, lookups name the valid portals, and settings,
connectors, catalog and source rank follow a registered portal without code of their own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from connectors import connector_refs, get_connector
from ecohub.catalog import portal_entities
from ecohub.errors import ConfigError
from ecohub.portals import (
    BUILTIN_PORTALS,
    PortalSpec,
    portal_names,
    portal_spec,
    register_portal,
    unregister_portal,
)
from ecohub.resolve import portal_rank
from ecohub.settings import env_names, load_settings

ROOT = Path(__file__).resolve().parents[2]


def _spec(**changes):
    values = dict(name="labport", title="LabPort", entities=("organization",),
                  default_port=59101, connector="tests.x:LabConnector",
                  mapping="tests.x_mapping", rank=7, auth="api_key",
                  dev_credentials={"api_key": "dev-labport-key"})
    values.update(changes)
    return PortalSpec(**values)


@pytest.fixture
def labport():
    spec = register_portal(_spec())
    yield spec
    unregister_portal(spec.name)


def test_the_builtins_in_rank_order():
    assert portal_names() == ("stinet", "techport", "hoip")
    assert [s.name for s in BUILTIN_PORTALS] == list(portal_names())
    assert portal_spec("techport").default_settings() == {
        "base_url": "http://127.0.0.1:8102", "auth": "api_key", "api_key": "dev-techport-key"}
    assert portal_spec("hoip").scale("xl")["organizations"] == 3_600


def test_an_unknown_portal_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown portal 'techmart'; valid portals: hoip, "
                                          r"stinet, techport$"):
        portal_spec("techmart")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Lab-Port"}, "name must be 2-31 lower-case"),
        ({"entities": ()}, "entities must name at least one"),
        ({"default_port": 70000}, "default_port must be in 1..65535"),
        ({"auth": "basic"}, "auth must be one of none, api_key, oauth2"),
        ({"connector": "not a ref"}, "connector must be a 'module' or 'module:attr'"),
        ({"mapping": "tests.x:attr"}, "mapping names a module"),
        ({"dev_credentials": {"client_secret": "x"}}, r"\['client_secret'\] are not fields of"),
    ],
)
def test_an_invalid_spec_says_what_is_wrong(changes, message):
    with pytest.raises(ConfigError, match=message):
        _spec(**changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "stinet"}, "'stinet' is already registered"),
        ({"default_port": 8102}, "default_port 8102 is already used by 'techport'"),
        ({"rank": 2}, "rank 2 is already used by 'hoip'"),
    ],
)
def test_registration_refuses_clashes(changes, message):
    with pytest.raises(ConfigError, match=message):
        register_portal(_spec(**changes))
    assert portal_names() == ("stinet", "techport", "hoip")


def test_a_spec_is_frozen():
    spec = _spec()
    with pytest.raises(AttributeError):
        spec.rank = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.dev_credentials["api_key"] = "x"  # type: ignore[index]


def test_a_registered_portal_gets_settings_entities_rank_and_connector_ref(labport):
    assert portal_names()[-1] == "labport"
    settings = load_settings({"ECOHUB_LABPORT__PAGE_SIZE": "17"})
    block = settings.portal("labport")
    assert (block.base_url, block.auth, block.page_size) == ("http://127.0.0.1:59101",
                                                            "api_key", 17)
    assert block.api_key is not None and block.api_key.get_secret_value() == "dev-labport-key"
    assert "ECOHUB_LABPORT__API_KEY" in env_names()
    assert portal_entities()["labport"] == ("organization",)
    assert connector_refs()["labport"] == "tests.x:LabConnector"
    assert sorted(["labport", "hoip", "stinet"], key=portal_rank) == ["stinet", "hoip", "labport"]
    with pytest.raises(ConfigError, match=r"cannot load 'tests\.x:LabConnector'"):
        get_connector("labport", settings)


def test_a_registered_portals_dev_credential_is_refused_off_loopback(labport):
    env = {"ECOHUB_LABPORT__BASE_URL": "https://labport.example",
           "ECOHUB_PII_HMAC_KEY": "a-real-random-key-0123456789abcdef"}
    with pytest.raises(ConfigError, match="ECOHUB_LABPORT__API_KEY is the simulator's"):
        load_settings(env)
    assert load_settings({**env, "ECOHUB_LABPORT__API_KEY": "real"}).portal("labport")


def test_settings_of_an_unregistered_portal_are_refused(tmp_path):
    config = tmp_path / "ecohub.toml"
    config.write_text('[portals.labport]\nbase_url = "http://127.0.0.1:1"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown portal\(s\) \['labport'\]; valid: "
                                          r"\['stinet', 'techport', 'hoip'\]"):
        load_settings({"ECOHUB_CONFIG_FILE": str(config)})


def test_an_unregistered_portal_ranks_after_every_registered_one():
    assert portal_rank("zzz") > portal_rank("hoip") > portal_rank("stinet")
    assert portal_rank("aaa") < portal_rank("zzz")


def test_the_spec_module_imports_only_the_standard_library_and_the_error_tree():
    tree = ast.parse((ROOT / "ecohub" / "portals.py").read_text(encoding="utf-8"))
    project = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            project |= {node.module} if node.module.split(".")[0] in ("ecohub", "connectors",
                                                                       "simulators") else set()
        elif isinstance(node, ast.Import):
            project |= {a.name for a in node.names if a.name.startswith("ecohub")}
    assert project == {"ecohub.errors"}
    errors = ast.parse((ROOT / "ecohub" / "errors.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(errors) if isinstance(n, ast.ImportFrom) and n.module
                and n.module.startswith("ecohub")]


def test_mapping_modules_never_import_the_dispatcher_that_loads_them():
    importers = sorted(
        path.name for path in (ROOT / "ecohub" / "normalize").glob("*.py")
        if path.name != "__init__.py" and any(
            isinstance(n, ast.ImportFrom) and n.module == "ecohub.normalize.registry"
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
    )
    assert importers == []
    registry = (ROOT / "ecohub" / "normalize" / "registry.py").read_text(encoding="utf-8")
    assert "importlib" not in registry and "normalize.stinet" not in registry


def _envelope_portals():
    from ecohub.contract import load_schema

    properties = load_schema("envelope.v2.json")["properties"]
    return properties["sourceportal"]["enum"], properties["entitykey"]["pattern"]


def _suite_portals():
    from ecohub.quality import SUITES_DIR, _suite_dict

    suite = _suite_dict("envelope", SUITES_DIR)
    assert suite is not None
    return next(e["kwargs"]["value_set"] for e in suite["expectations"]
                if e["meta"]["name"] == "envelope.sourceref.portal.known")


def test_schemas_and_suites_name_every_registered_portal_at_run_time():
    assert _envelope_portals() == (["stinet", "techport", "hoip"],
                                   "^(stinet|techport|hoip):[a-z_]+:.+$")
    register_portal(_spec())
    try:
        assert _envelope_portals() == (["stinet", "techport", "hoip", "labport"],
                                       "^(stinet|techport|hoip|labport):[a-z_]+:.+$")
        assert _suite_portals() == ["stinet", "techport", "hoip", "labport"]
    finally:
        unregister_portal("labport")
    assert _suite_portals() == ["stinet", "techport", "hoip"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"enum": ["stinet", "techport", "hoip"]}', '{"enum": ["stinet", "techport", "x9"]}'),
        ('[\n  "stinet",\n  "hoip"\n]', '[\n  "stinet",\n  "techport",\n  "x9"\n]'),
        ('"^(?:stinet|techport|hoip):org"', '"^(?:stinet|techport|x9):org"'),
        ('"^urn:ecohub:(stinet|techport):[a-z]+$"', '"^urn:ecohub:(stinet|techport|x9):[a-z]+$"'),
        ('"^hoip:programme:.+$"', '"^hoip:programme:.+$"'),  # one portal: not the set
        ('["stinet", "other"]', '["stinet", "other"]'),  # not only portal names
        ('"(create|update|delete)"', '"(create|update|delete)"'),
    ],
)
def test_spelling_the_portal_set(text, expected):
    from ecohub.portals import spell_portal_sets

    assert spell_portal_sets(text, ("stinet", "techport", "x9")) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tests.nowhere:SPEC", "ECOHUB_PORTAL_SPECS: cannot load 'tests.nowhere:SPEC'"),
        ("ecohub.portals:AUTH_KINDS", "ECOHUB_PORTAL_SPECS: 'ecohub.portals:AUTH_KINDS' is a "
                                      "tuple, not a PortalSpec"),
    ],
)
def test_a_bad_portal_spec_variable_names_itself(value, message):
    from ecohub.portals import register_from_environment

    with pytest.raises(ConfigError, match=re.escape(message)):
        register_from_environment({"ECOHUB_PORTAL_SPECS": value})
    assert portal_names() == ("stinet", "techport", "hoip")


def test_the_portal_spec_variable_registers_once():
    from ecohub.portals import register_from_environment

    env = {"ECOHUB_PORTAL_SPECS": " ecohub.portals:BUILTIN_SPEC_FOR_TEST , "}
    try:
        import ecohub.portals as portals

        portals.BUILTIN_SPEC_FOR_TEST = _spec()  # type: ignore[attr-defined]
        assert [s.name for s in register_from_environment(env)] == ["labport"]
        assert register_from_environment(env) == []
        assert "ECOHUB_PORTAL_SPECS" in env_names()
        assert load_settings({"ECOHUB_PORTAL_SPECS": "x:Y"}).portal("labport")  # not a setting
    finally:
        unregister_portal("labport")
        del portals.BUILTIN_SPEC_FOR_TEST  # type: ignore[attr-defined]


def test_a_spec_travels_to_a_worker_process_and_is_adopted_there():
    import pickle

    from ecohub.portals import adopt_portals

    spec = pickle.loads(pickle.dumps(_spec(scales={"small": {"labs": 3}})))
    assert spec == _spec(scales={"small": {"labs": 3}}) and spec.scale("small") == {"labs": 3}
    try:
        assert [s.name for s in adopt_portals([*BUILTIN_PORTALS, spec])] == ["labport"]
        assert adopt_portals([spec]) == []  # already registered as it is
    finally:
        unregister_portal("labport")
