"""The local service stack over real sockets: what every other integration test relies on."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from infra import stack as services
from tests.fixtures.kafka_topics import kafka_config

pytestmark = pytest.mark.integration

EVENTS = [
    pytest.param(
        b"stinet:org:0301234567",
        {"ten": "Công ty TNHH Công nghệ Sài Gòn Xanh", "quan": "Quận 1", "mst": "0301234567"},
        [("source", b"stinet"), ("schema", b"org/v1")],
        id="organization",
    ),
    pytest.param(
        b"techport:project:KC.04.12/21-25",
        {"ten_de_tai": "Ứng dụng AI dự báo ngập lụt TP.HCM", "kinh_phi_vnd": 1_250_000_000},
        [("source", b"techport"), ("trace", "Nguyễn Thị Hạnh".encode())],
        id="project-unicode-header",
    ),
    pytest.param(
        b"hoip:patent:1-2023-04567",
        {"ten_sang_che": "Thiết bị lọc nước nhiễm mặn", "chu_so_huu": None},
        [],
        id="patent-no-headers",
    ),
]


@pytest.fixture
def topic(kafka_bootstrap):
    from kafka import KafkaAdminClient

    name = f"it-stack-{uuid.uuid4().hex[:12]}"
    admin = KafkaAdminClient(**kafka_config(kafka_bootstrap), client_id="it-stack")
    admin.create_topics(
        {name: {"num_partitions": 1, "replication_factor": 1}}, wait_for_metadata=True
    )
    yield name
    admin.delete_topics([name])
    admin.close()


@pytest.mark.parametrize(("key", "payload", "headers"), EVENTS)
def test_kafka_event_round_trips_with_key_and_headers(
    kafka_bootstrap, topic, key, payload, headers
):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    value = json.dumps(payload, ensure_ascii=False).encode()
    producer = KafkaProducer(**kafka_config(kafka_bootstrap), acks="all")
    metadata = producer.send(topic, key=key, value=value, headers=headers).get(timeout=30)
    producer.close()

    consumer = KafkaConsumer(
        **kafka_config(kafka_bootstrap), enable_auto_commit=False, consumer_timeout_ms=10_000
    )
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek(TopicPartition(topic, 0), metadata.offset)
    got = next(iter(consumer))
    consumer.close()

    assert (got.key, got.value, list(got.headers)) == (key, value, headers)
    assert json.loads(got.value) == payload


def test_auto_topic_creation_is_off(kafka_bootstrap):
    from kafka import KafkaProducer
    from kafka.errors import KafkaTimeoutError

    missing = f"it-stack-missing-{uuid.uuid4().hex[:12]}"
    producer = KafkaProducer(**kafka_config(kafka_bootstrap), max_block_ms=3000)
    with pytest.raises(KafkaTimeoutError):
        producer.send(missing, value=b"{}").get(timeout=10)
    producer.close()


PAGES = [
    pytest.param(
        "stinet/organizations/page-0001.json.gz",
        json.dumps(
            {"items": [{"ten": "Viện Khoa học Công nghệ Tính toán", "page": 1}]}, ensure_ascii=False
        ).encode(),
        "application/json",
        id="stinet-json",
    ),
    pytest.param(
        "hoip/patents/page-0042.xml.gz",
        "<?xml version='1.0' encoding='UTF-8'?><patents><p so='1-2023-04567'>Máy sấy nông "
        "sản dùng năng lượng mặt trời</p></patents>".encode(),
        "application/xml",
        id="hoip-xml",
    ),
    pytest.param(
        "techport/projects/page-big.json.gz",
        json.dumps(
            [{"id": i, "ten": f"Đề tài số {i} – Sở KH&CN TP.HCM"} for i in range(20_000)],
            ensure_ascii=False,
        ).encode(),
        "application/json",
        id="techport-large",
    ),
]


@pytest.mark.parametrize(("key", "raw", "content_type"), PAGES)
def test_gzip_page_round_trips_byte_identical(s3_client, landing_bucket, key, raw, content_type):
    body = gzip.compress(raw)
    full_key = f"it-stack-{uuid.uuid4().hex[:12]}/{key}"
    s3_client.put_object(
        Bucket=landing_bucket,
        Key=full_key,
        Body=body,
        ContentType=content_type,
        ContentEncoding="gzip",
        Metadata={"portal": key.split("/")[0]},
    )
    try:
        got = s3_client.get_object(Bucket=landing_bucket, Key=full_key)
        data = got["Body"].read()
        assert data == body
        assert gzip.decompress(data) == raw
        assert got["ContentEncoding"] == "gzip"
        assert got["Metadata"] == {"portal": key.split("/")[0]}
        listed = s3_client.list_objects_v2(Bucket=landing_bucket, Prefix=full_key)
        assert [o["Key"] for o in listed["Contents"]] == [full_key]
        assert listed["Contents"][0]["Size"] == len(body)
    finally:
        s3_client.delete_object(Bucket=landing_bucket, Key=full_key)


def test_s3_rejects_a_wrong_secret(s3_client, landing_bucket):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    access_key, _ = services.s3_credentials()
    intruder = boto3.client(
        "s3",
        endpoint_url=services.S3_ENDPOINT_URL,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key="not-the-secret",
        config=Config(s3={"addressing_style": "path"}),
    )
    with pytest.raises(ClientError) as info:
        intruder.list_objects_v2(Bucket=landing_bucket)
    assert info.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied"}


def test_postgres_accepts_loopback_connection_to_ecohub(pg_url):
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT current_database(), current_user, host(inet_server_addr()),"
                    " inet_server_port(),"
                    " (SELECT count(*) FROM pg_database WHERE datname = 'ecohub')"
                )
            ).one()
    finally:
        engine.dispose()
    assert tuple(row) == ("ecohub", "postgres", "127.0.0.1", 5432, 1)


def test_up_when_already_up_keeps_the_same_pids():
    before = {row.name: row.pid for row in services.status()}
    assert all(before.values()), f"stack not fully up: {before}; run `make up`"
    after = {row.name: (row.pid, row.ready) for row in services.up()}
    assert after == {name: (pid, True) for name, pid in before.items()}


def _listener_pids(port: int) -> set[int]:
    """Read /proc directly (not through infra.stack) so the check is independent."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and int(cols[1].split(":")[-1], 16) == port:
                inodes.add(f"socket:[{cols[9]}]")
    pids = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                    pids.add(int(proc.name))
            except OSError:
                continue
    return pids


@pytest.mark.parametrize(
    ("port", "program", "marker"),
    [
        (9092, "java", "kafka.Kafka"),
        (9093, "java", "kafka.Kafka"),
        (9000, "java", "org.gaul.s3proxy.Main"),
        (5432, "postgres", "-D"),
    ],
)
def test_listener_is_the_real_server(port, program, marker):
    pids = _listener_pids(port)
    assert len(pids) == 1, f"expected one listener on {port}, found {pids}"
    argv = Path(f"/proc/{pids.pop()}/cmdline").read_bytes().decode().split("\0")
    assert Path(argv[0]).name == program
    assert marker in argv


@pytest.mark.parametrize("port", [9092, 9093, 9000, 5432])
def test_services_listen_on_loopback_only(port):
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            address, _, hexport = cols[1].rpartition(":")
            if cols[3] == "0A" and int(hexport, 16) == port:
                listening.add(address)
    # 127.0.0.1 as /proc shows it: little-endian hex, or IPv4-mapped in the tcp6 table
    assert listening, f"nothing listens on {port}"
    assert listening <= {"0100007F", "0000000000000000FFFF00000100007F"}
