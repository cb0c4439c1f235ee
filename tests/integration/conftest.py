"""Session fixtures for the local service stack (``make up`` / ``python -m infra.stack up``).

Each fixture checks that its service answers and fails loudly otherwise: an integration test
that silently skipped because Kafka was down would be a lie in the CI report.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from infra import stack as services
from tests.fixtures.kafka_topics import delete_marked_topics

_HOW_TO_START = "start the local stack with `make up` (python -m infra.stack up)"


def _require(name: str) -> services.ServiceStatus:
    row = services.status([name])[0]
    if not row.ready:
        pytest.fail(
            f"service {name!r} is not up on {row.address} (pid={row.pid}): {_HOW_TO_START}; "
            f"logs in var/log/",
            pytrace=False,
        )
    return row


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """``host:port`` of the local Kafka broker, checked to answer a metadata request."""
    _require("kafka")
    return services.KAFKA_BOOTSTRAP


@pytest.fixture(scope="session")
def pg_url() -> str:
    """SQLAlchemy URL of the local PostgreSQL warehouse database ``ecohub``."""
    _require("postgres")
    return services.WAREHOUSE_URL


@pytest.fixture(scope="session")
def s3_client() -> Iterator[Any]:
    """A boto3 S3 client on the local endpoint (path-style, us-east-1, the stack's keys)."""
    import boto3
    from botocore.config import Config

    _require("s3")
    access_key, secret_key = services.s3_credentials()
    client = boto3.client(
        "s3",
        endpoint_url=services.S3_ENDPOINT_URL,
        region_name=services.S3_REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(s3={"addressing_style": "path"}),
    )
    yield client
    client.close()


@pytest.fixture(scope="session")
def landing_bucket(s3_client: Any) -> str:
    """The landing bucket, checked to exist (``up`` creates it)."""
    try:
        s3_client.head_bucket(Bucket=services.LANDING_BUCKET)
    except Exception as exc:
        pytest.fail(
            f"bucket {services.LANDING_BUCKET!r} missing on {services.S3_ENDPOINT_URL}: "
            f"{exc}; {_HOW_TO_START}",
            pytrace=False,
        )
    return services.LANDING_BUCKET


@pytest.fixture(scope="session", autouse=True)
def _delete_test_topics() -> Iterator[None]:
    """Tests create topics under prefixes from :func:`tests.fixtures.kafka_topics.unique_tag`;
    remove the ones of *this* session when it ends, so a developer's long-lived local broker
    does not pile up thousands of partitions, while a concurrent session's topics (another
    engineer, another CI job on the same broker) are left alone. Topics of the real hub
    (``ecohub.``) and Kafka's internal ones are never touched."""
    yield
    try:
        delete_marked_topics(services.KAFKA_BOOTSTRAP)
    except Exception as exc:  # the stack is down: the service fixtures said so loudly
        warnings.warn(f"test topics of this session not deleted: {exc}", stacklevel=1)
