from __future__ import annotations

import pytest

from connectors import connector_refs, get_connector
from connectors.hoip import HoipConnector
from connectors.stinet import StinetConnector
from connectors.techport import TechportConnector
from ecohub.errors import ConfigError
from ecohub.settings import load_settings


@pytest.mark.parametrize(
    ("portal", "cls", "streams", "reconciled"),
    [
        (
            "stinet",
            StinetConnector,
            ["documents", "tasks", "experts", "laboratories", "organizations"],
            True,
        ),
        (
            "techport",
            TechportConnector,
            ["technologies", "demands", "suppliers", "consultants", "partner_projects"],
            True,
        ),
        (
            "hoip",
            HoipConnector,
            ["startup_projects", "organizations", "programs", "challenges", "support_applications"],
            False,
        ),
    ],
)
def test_each_portal_has_its_connector_and_streams(portal, cls, streams, reconciled):
    connector = get_connector(portal, load_settings({}))
    assert type(connector) is cls and connector.portal == portal
    assert connector.stream_names == streams
    assert connector.needs_key_reconciliation is reconciled


def test_an_unknown_portal_lists_the_valid_ones():
    with pytest.raises(
        ConfigError, match="unknown portal 'techmart'; valid portals: hoip, stinet, techport"
    ):
        get_connector("techmart", load_settings({}))
    assert sorted(connector_refs()) == ["hoip", "stinet", "techport"]


def test_an_unknown_stream_lists_the_valid_ones():
    connector = get_connector("techport", load_settings({}))
    with pytest.raises(ConfigError, match="valid streams: technologies, demands"):
        connector.stream("cong-nghe")


def test_the_configuration_repoints_a_connector_without_code():
    env = {
        "ECOHUB_TECHPORT__BASE_URL": "https://techport.vn",
        "ECOHUB_TECHPORT__API_KEY": "k",
        "ECOHUB_PII_HMAC_KEY": "a-real-random-key-0123456789abcdef",
        "ECOHUB_TECHPORT__RATE_LIMIT": "5",
        "ECOHUB_TECHPORT__PAGE_SIZE": "150",
    }
    connector = get_connector("techport", load_settings(env))
    assert connector.http.base_url == "https://techport.vn"
    assert connector.http.limiter.rate == 5.0
    assert connector.http.auth.headers() == {"X-API-Key": "k"}
    first = connector.first_request(connector.stream("technologies"), None)
    assert first.params == {"trang": 1, "so_dong": 150}
    assert "k" not in repr(connector)
