from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from pydantic import SecretStr

from connectors.airflow import apply_connection
from ecohub.errors import ConfigError
from ecohub.settings import PortalSettings

TECHPORT = PortalSettings(
    base_url="http://127.0.0.1:8102", auth="api_key", api_key=SecretStr("dev-techport-key")
)
HOIP = PortalSettings(
    base_url="http://127.0.0.1:8103",
    auth="oauth2",
    client_id="ecohub",
    client_secret=SecretStr("dev-hoip-secret"),
)


@dataclass
class Conn:  # the attributes of airflow.sdk.Connection that matter
    conn_id: str
    host: str | None = None
    schema: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    extra_dejson: dict = field(default_factory=dict)


@pytest.mark.parametrize(
    ("base", "conn", "expected"),
    [
        (
            TECHPORT,
            Conn(
                "ecohub_techport",
                host="techport.vn",
                password="tp-live-key",
                extra_dejson={"rate_limit": 10},
            ),
            {"base_url": "https://techport.vn", "api_key": "tp-live-key", "rate_limit": 10.0},
        ),
        (
            HOIP,
            Conn(
                "ecohub_hoip",
                host="hoip.hochiminhcity.gov.vn",
                login="ecohub-prod",
                password="prod-secret",
                extra_dejson={"lookback_seconds": 7200},
            ),
            {
                "base_url": "https://hoip.hochiminhcity.gov.vn",
                "client_id": "ecohub-prod",
                "client_secret": "prod-secret",
                "lookback_seconds": 7200,
            },
        ),
        (
            TECHPORT,
            Conn("ecohub_techport", host="10.0.0.5", schema="http", port=8443),
            {"base_url": "http://10.0.0.5:8443", "api_key": "dev-techport-key"},
        ),
        (
            TECHPORT,
            Conn("ecohub_techport", host="https://techport.vn/partner"),
            {"base_url": "https://techport.vn/partner"},
        ),
    ],
)
def test_a_connection_repoints_a_portal(base, conn, expected):
    result = apply_connection(base, conn)
    for name, value in expected.items():
        got = getattr(result, name)
        assert (got.get_secret_value() if isinstance(got, SecretStr) else got) == value


def test_a_connection_with_a_bad_setting_is_a_configuration_error():
    with pytest.raises(ConfigError, match=r"ecohub_techport.*invalid portal settings"):
        apply_connection(TECHPORT, Conn("ecohub_techport", extra_dejson={"page_size": 0}))


def test_a_connection_pointing_off_loopback_cannot_carry_development_secrets(monkeypatch):
    """An Airflow connection that moves Techport to a real host without a real key (or with
    the default PII key) is refused like the same ECOHUB_* settings would be."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from connectors.airflow import settings_with_airflow_connections
    from ecohub.settings import load_settings

    conns = {"ecohub_techport": Conn("ecohub_techport", host="techport.vn")}

    def get_connection(conn_id: str) -> Conn:
        if conn_id not in conns:
            raise AirflowNotFoundException(conn_id)
        return conns[conn_id]

    monkeypatch.setattr(BaseHook, "get_connection", staticmethod(get_connection))
    with pytest.raises(ConfigError, match="ECOHUB_PII_HMAC_KEY"):
        settings_with_airflow_connections(load_settings({}))
    real_key = {"ECOHUB_PII_HMAC_KEY": "a-real-random-key-0123456789abcdef"}
    with pytest.raises(ConfigError, match="ECOHUB_TECHPORT__API_KEY"):
        settings_with_airflow_connections(load_settings(real_key))
    conns["ecohub_techport"].password = "tp-live-key"
    overlaid = settings_with_airflow_connections(load_settings(real_key))
    assert overlaid.portal("techport").base_url == "https://techport.vn"
