"""The local stack's generated credentials: written privately, picked up by the settings only for
the stack's own endpoints, never over an explicit setting, never in production, never printed.
(That the stack really refuses other credentials is tests/security/test_stack_auth.py.)"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ecohub.errors import ConfigError
from ecohub.localstack import KAFKA_ROLES, LocalStackCredentials, credentials_path
from ecohub.settings import load_settings


@pytest.fixture
def creds(tmp_path):
    generated = LocalStackCredentials.generate(
        pg_host="127.0.0.1", pg_port=29432, pg_user="postgres",
        kafka_bootstrap="127.0.0.1:29092", s3_endpoint_url="http://127.0.0.1:29000",
    )  # fmt: skip
    return generated.write(tmp_path / "var" / "secrets" / "local-stack.json")


def _settings(creds, **env):
    return load_settings({"ECOHUB_STACK_CREDENTIALS": str(creds.path), **env})


def test_the_file_and_the_password_file_are_private_and_round_trip(creds):
    assert creds.path is not None and creds.pgpass_path is not None
    for path in (creds.path, creds.pgpass_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(creds.path.parent.stat().st_mode) == 0o700
    assert LocalStackCredentials.read(creds.path) == creds
    assert creds.pgpass_path.read_text() == f"127.0.0.1:29432:*:postgres:{creds.pg_password}\n"
    assert set(creds.kafka_principals) == set(KAFKA_ROLES)
    secrets = creds.secret_values()
    assert len(set(secrets)) == len(secrets) == 2 + len(KAFKA_ROLES)  # all distinct
    assert all(len(s) >= 40 for s in secrets)
    assert not any(s in repr(creds) for s in secrets)


@pytest.mark.parametrize("bootstrap", ["127.0.0.1:29092", "localhost:29092"])
def test_kafka_principals_are_picked_up_for_the_stack_broker(creds, bootstrap):
    kafka = _settings(creds, ECOHUB_KAFKA__BOOTSTRAP_SERVERS=bootstrap).kafka
    assert kafka.security_protocol == "SASL_PLAINTEXT"
    assert kafka.sasl_mechanism == "SCRAM-SHA-512"
    assert kafka.principal("default") == (
        "ecohub-publisher", creds.principal("publisher").password)
    assert kafka.principal("loader") == ("ecohub-loader", creds.principal("loader").password)


@pytest.mark.parametrize(
    "env",
    [
        {"ECOHUB_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:19092"},  # another broker (fault suite)
        {"ECOHUB_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:29092,127.0.0.1:29093"},
        {"ECOHUB_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:29092",
         "ECOHUB_KAFKA__SASL_USERNAME": "me", "ECOHUB_KAFKA__SASL_PASSWORD": "mine"},
        {"ECOHUB_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:29092",
         "ECOHUB_KAFKA__SECURITY_PROTOCOL": "PLAINTEXT"},
    ],
)
def test_kafka_credentials_are_not_picked_up_elsewhere_or_over_explicit_settings(creds, env):
    kafka = _settings(creds, **env).kafka
    assert kafka.principal("loader")[0] in (None, "me")
    assert kafka.sasl_username in (None, "me")


@pytest.mark.parametrize("setting", ["off", "production"])
def test_nothing_is_picked_up_when_off_or_in_production(creds, setting):
    env = {"ECOHUB_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:29092",
           "ECOHUB_LANDING__S3_ENDPOINT_URL": "http://127.0.0.1:29000"}
    if setting == "off":
        settings = load_settings({"ECOHUB_STACK_CREDENTIALS": "off", **env})
    else:
        settings = _settings(creds, ECOHUB_ENV="production", ECOHUB_PII_HMAC_KEY="k" * 40,
                             ECOHUB_TECHPORT__API_KEY="real-key", ECOHUB_HOIP__CLIENT_SECRET="real",
                             **env)
    assert settings.kafka.sasl_username is None
    assert settings.landing.s3_access_key is None


def test_s3_keys_are_picked_up_for_the_stack_endpoint_only(creds):
    landing = _settings(creds, ECOHUB_LANDING__S3_ENDPOINT_URL="http://localhost:29000/").landing
    assert landing.s3_access_key is not None and landing.s3_secret_key is not None
    assert landing.s3_access_key.get_secret_value() == creds.s3_access_key
    assert landing.s3_secret_key.get_secret_value() == creds.s3_secret_key
    other = _settings(creds, ECOHUB_LANDING__S3_ENDPOINT_URL="http://127.0.0.1:9000").landing
    assert other.s3_access_key is None
    mine = _settings(creds, ECOHUB_LANDING__S3_ENDPOINT_URL="http://127.0.0.1:29000",
                     ECOHUB_LANDING__S3_ACCESS_KEY="mine", ECOHUB_LANDING__S3_SECRET_KEY="mine2")
    assert mine.landing.s3_secret_key is not None
    assert mine.landing.s3_secret_key.get_secret_value() == "mine2"


@pytest.mark.parametrize(
    ("url", "gets_passfile"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:29432/ecohub", True),
        ("postgresql+psycopg://postgres@localhost:29432/other?sslmode=disable", True),
        ("postgresql+psycopg://postgres:given@127.0.0.1:29432/ecohub", False),
        ("postgresql+psycopg://postgres@127.0.0.1:29432/ecohub?passfile=/x", False),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/ecohub", False),
        ("postgresql+psycopg://postgres@db.example.vn:29432/ecohub", False),
        ("sqlite:////tmp/wh.db", False),
    ],
)
def test_the_warehouse_url_names_the_password_file_never_the_password(creds, url, gets_passfile):
    settings = _settings(creds, ECOHUB_WAREHOUSE_URL=url)
    if gets_passfile:
        assert settings.warehouse_url.startswith(url)
        assert settings.warehouse_url.endswith(f"passfile={creds.pgpass_path}".replace("/", "%2F"))
    else:
        assert settings.warehouse_url == url
    assert creds.pg_password not in settings.warehouse_url


def test_picked_up_secrets_are_masked_in_the_printed_configuration(creds):
    settings = _settings(creds, ECOHUB_KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:29092",
                         ECOHUB_LANDING__S3_ENDPOINT_URL="http://127.0.0.1:29000",
                         ECOHUB_WAREHOUSE_URL="postgresql+psycopg://postgres@127.0.0.1:29432/e")
    shown = repr(settings.describe()) + repr(settings)
    assert "ecohub-publisher" in shown  # the principal's name is not a secret
    assert not [s for s in [*creds.secret_values(), creds.s3_access_key] if s in shown]


def test_a_malformed_file_is_a_config_error_naming_it(tmp_path):
    path = tmp_path / "local-stack.json"
    path.write_text('{"postgres": {}}')
    with pytest.raises(ConfigError) as caught:
        load_settings({"ECOHUB_STACK_CREDENTIALS": str(path)})
    assert caught.value.context["path"] == str(path)
    assert "infra.stack up" in str(caught.value)


def test_auto_means_the_checkout_var_and_off_means_none(tmp_path):
    assert credentials_path("auto", tmp_path) == tmp_path / "secrets" / "local-stack.json"
    assert credentials_path("off", tmp_path) is None
    assert credentials_path("/x/y.json", tmp_path) == Path("/x/y.json")
