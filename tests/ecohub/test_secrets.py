"""Masking rules of ecohub.secrets: each shape a secret takes in printed text or a log line."""

from __future__ import annotations

import logging

import pytest

from ecohub.secrets import SecretFilter, mask_text
from ecohub.settings import load_settings, secret_values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql+psycopg://ecohub:pw-123@db:5432/ecohub",
         "postgresql+psycopg://ecohub:***@db:5432/ecohub"),
        ("postgresql://db/ecohub?sslmode=require&password=pw-123",
         "postgresql://db/ecohub?sslmode=require&password=***"),
        ("http://minio:9000/?X-Amz-Credential=AKID123%2F20260101&X-Amz-Signature=abc",
         "http://minio:9000/?X-Amz-Credential=***&X-Amz-Signature=***"),
        ("Authorization: Basic ZWNvaHViOnMzY3JldA==", "Authorization: ***"),
        ('{"Authorization": "Bearer hoip_at_0001"}', '{"Authorization": "***"}'),
        ("{'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIDQX/20260101/us-east-1/s3/aws4_"
         "request, SignedHeaders=host, Signature=ab12'}", "{'Authorization': b'***'}"),
        ("headers={'X-API-Key': 'tp-key-1'}", "headers={'X-API-Key': '***'}"),
        ('{"client_secret": "s3cr3t", "scope": "read"}', '{"client_secret": ***, "scope": "read"}'),
        ("aws_secret_access_key=abc/def", "aws_secret_access_key=***"),
        ("page 2 of cong-nghe, resumptionToken=abc", "page 2 of cong-nghe, resumptionToken=abc"),
        ("plain text about keys and tokens", "plain text about keys and tokens"),
    ],
)
def test_secret_shapes_are_masked(text, expected):
    assert mask_text(text) == expected


def test_known_values_are_masked_anywhere():
    assert mask_text("key tp-key-9 rejected; tp-key-9!", ["tp-key-9", "abc"]) == (
        "key *** rejected; ***!"
    )


def test_secret_values_collects_every_configured_secret():
    settings = load_settings({
        "ECOHUB_WAREHOUSE_URL": "postgresql://u:p%40ss-word@h/db",
        "ECOHUB_LANDING__S3_SECRET_KEY": "s3-secret-1",
    })
    values = secret_values(settings)
    assert {"p%40ss-word", "p@ss-word", "s3-secret-1", "dev-techport-key"} <= set(values)


def test_the_log_filter_masks_any_library_record(caplog):
    logger = logging.getLogger("botocore.endpoint")
    secret_filter = SecretFilter(["AKIDQX7"])
    caplog.handler.addFilter(secret_filter)
    try:
        with caplog.at_level(logging.DEBUG, logger="botocore"):
            logger.debug("Sending %s", {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDQX7/x"})
            logger.debug("key id %s", "AKIDQX7")
    finally:
        caplog.handler.removeFilter(secret_filter)
    assert "AKIDQX7" not in caplog.text
    assert caplog.text.count("***") >= 2
