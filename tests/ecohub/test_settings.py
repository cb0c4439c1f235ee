"""Settings: defaults are the embedded stack, env overrides nest, bad values fail clearly,
secrets never print."""

from __future__ import annotations

import pytest

from ecohub.errors import ConfigError
from ecohub.settings import env_names, load_settings


def test_defaults_are_the_embedded_stack():
    s = load_settings({})
    assert s.warehouse_url == "sqlite:///var/warehouse.db"
    assert s.landing.url == "file://var/landing"
    assert s.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert set(s.portals) == {"stinet", "techport", "hoip"}


REAL_SECRETS = {
    "ECOHUB_PII_HMAC_KEY": "a-real-random-key-0123456789abcdef",
    "ECOHUB_HOIP__CLIENT_SECRET": "a-real-client-secret",
    "ECOHUB_TECHPORT__API_KEY": "a-real-api-key",
}


@pytest.mark.parametrize(
    ("env", "path", "expected"),
    [
        ({"ECOHUB_KAFKA__PARTITIONS": "6"}, ("kafka", "partitions"), 6),
        (
            {"ECOHUB_WAREHOUSE_URL": "postgresql+psycopg://u@h/db"},
            ("warehouse_url",),
            "postgresql+psycopg://u@h/db",
        ),
        ({"ECOHUB_TECHPORT__PAGE_SIZE": "250"}, ("portals", "techport", "page_size"), 250),
        (
            {"ECOHUB_HOIP__BASE_URL": "https://oip.hcm.gov.vn/api/", **REAL_SECRETS},
            ("portals", "hoip", "base_url"),
            "https://oip.hcm.gov.vn/api",
        ),
        (
            {"ECOHUB_LANDING__URL": "s3://ecohub-landing/raw"},
            ("landing", "url"),
            "s3://ecohub-landing/raw",
        ),
    ],
)
def test_environment_overrides(env, path, expected):
    value = load_settings(env)
    for part in path:
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    assert value == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ECOHUB_KAFKA__PARTITIONS": "zero"}, "kafka.partitions"),
        ({"ECOHUB_TECHPORT__BASE_URL": "ftp://x"}, "portals.techport.base_url"),
        ({"ECOHUB_LANDING__URL": "/tmp/x"}, "landing.url"),
        ({"ECOHUB_KAFKA__NO_SUCH": "1"}, "kafka.no_such"),
        ({"ECOHUB_CONFIG_FILE": "/nonexistent/ecohub.toml"}, "ECOHUB_CONFIG_FILE"),
    ],
)
def test_invalid_configuration_names_the_key(env, message):
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert message in str(err.value)


def test_the_test_tools_variables_are_not_settings():
    """make acceptance and a fault replay export them; every process still loads its
    settings (the CI's make test failed at the stack's start with ECOHUB_FAULT_PORT_BASE)."""
    tools = {"ECOHUB_ACCEPTANCE": "1", "ECOHUB_FAULT_PORT_BASE": "39092",
             "ECOHUB_FAULT_SEED": "763897613", "ECOHUB_KAFKA__PARTITIONS": "6"}
    assert load_settings(tools) == load_settings({"ECOHUB_KAFKA__PARTITIONS": "6"})
    with pytest.raises(ConfigError, match="faults"):  # a near miss is still refused
        load_settings({"ECOHUB_FAULTS": "1"})


def test_unknown_portal_lists_valid_ones():
    with pytest.raises(ConfigError, match="valid portals: hoip, stinet, techport"):
        load_settings({}).portal("vinatech")


def test_config_file_then_env_precedence(tmp_path):
    cfg = tmp_path / "ecohub.toml"
    cfg.write_text('[kafka]\npartitions = 4\ntopic_prefix = "hub"\n', encoding="utf-8")
    s = load_settings({"ECOHUB_CONFIG_FILE": str(cfg), "ECOHUB_KAFKA__PARTITIONS": "8"})
    assert (s.kafka.partitions, s.kafka.topic_prefix) == (8, "hub")


def test_secrets_never_printed():
    s = load_settings(
        {"ECOHUB_TECHPORT__API_KEY": "tp-live-9f8e7d", "ECOHUB_PII_HMAC_KEY": "k-123456"}
    )
    text = repr(s) + str(s.describe())
    assert "tp-live-9f8e7d" not in text and "k-123456" not in text
    assert s.describe()["portals"]["techport"]["api_key"] == "***"
    assert s.portal("techport").api_key.get_secret_value() == "tp-live-9f8e7d"


def test_env_names_cover_nested_settings():
    names = env_names()
    for expected in (
        "ECOHUB_WAREHOUSE_URL",
        "ECOHUB_KAFKA__BOOTSTRAP_SERVERS",
        "ECOHUB_HOIP__CLIENT_SECRET",
        "ECOHUB_LANDING__S3_ENDPOINT_URL",
        "ECOHUB_STINET__SCHEDULE",
    ):
        assert expected in names
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://hub:s3cr3t@db:5432/ecohub", "postgresql+psycopg://hub:***@db:5432/ecohub"),
        ("postgresql+psycopg://postgres@127.0.0.1/ecohub", "postgresql+psycopg://postgres@127.0.0.1/ecohub"),
        ("sqlite:///var/warehouse.db", "sqlite:///var/warehouse.db"),
    ],
)
def test_warehouse_password_masked_in_describe(url, shown):
    # (the local stack's password file is not picked up here: tests/ecohub/test_localstack.py)
    env = {"ECOHUB_WAREHOUSE_URL": url, "ECOHUB_STACK_CREDENTIALS": "off"}
    assert load_settings(env).describe()["warehouse_url"] == shown


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"ECOHUB_TECHPORT__BASE_URL": "https://techport.vn"}, "ECOHUB_PII_HMAC_KEY"),
        (
            {"ECOHUB_TECHPORT__BASE_URL": "https://techport.vn", "ECOHUB_PII_HMAC_KEY": "k" * 32},
            "ECOHUB_TECHPORT__API_KEY",
        ),
        (
            {"ECOHUB_HOIP__BASE_URL": "https://oip.hcm.gov.vn", "ECOHUB_PII_HMAC_KEY": "k" * 32},
            "ECOHUB_HOIP__CLIENT_SECRET",
        ),
        ({"ECOHUB_ENV": "production"}, "ECOHUB_PII_HMAC_KEY"),
        ({"ECOHUB_ENV": "production", "ECOHUB_PII_HMAC_KEY": "k" * 32}, "ECOHUB_TECHPORT__API_KEY"),
    ],
)
def test_development_secrets_are_refused_off_loopback_or_in_production(env, variable):
    with pytest.raises(ConfigError, match=variable) as caught:
        load_settings(env)
    assert caught.value.context["variable"] == variable


@pytest.mark.parametrize(
    "env",
    [
        {},  # everything on loopback: the simulators and their credentials
        {"ECOHUB_TECHPORT__BASE_URL": "http://simulators:8102", "ECOHUB_ENV": "development"},
        {**REAL_SECRETS, "ECOHUB_TECHPORT__BASE_URL": "https://techport.vn",
         "ECOHUB_HOIP__BASE_URL": "https://oip.hcm.gov.vn"},
        {**REAL_SECRETS, "ECOHUB_ENV": "production"},
    ],
)
def test_development_secrets_are_allowed_on_loopback_or_when_asked(env):
    assert load_settings(env).portal("techport").base_url


@pytest.mark.parametrize(
    ("base_url", "why"),
    [
        ("http://127.0.0.1:99999", "port"),
        ("http://127.0.0.1:80x", "port"),
        ("http://user:pw@127.0.0.1:8102", "user-info"),
        ("http://127.0.0.1:8102\\@evil.example", "backslash"),
        ("http://127.0.0.1:8102/a b", "whitespace"),
        ("http://", "no host"),
    ],
)
def test_portal_base_urls_are_plain(base_url, why):
    with pytest.raises(ConfigError, match=r"portals\.techport\.base_url") as caught:
        load_settings({"ECOHUB_TECHPORT__BASE_URL": base_url})
    assert why in str(caught.value)
    assert "pw" not in str(caught.value)
