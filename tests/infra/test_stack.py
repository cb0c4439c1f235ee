"""Pure logic of the local stack: rendered configs, pid files, process and port lookups.

The services themselves are exercised over real sockets in tests/integration/test_stack.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ecohub.errors import ConfigError
from infra import stack as services
from infra.stack import ServiceStatus, Stack


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    return Stack(root=tmp_path / "Dự án ecohub", s3_identity="sokhcn", s3_credential="bí-mật-123")


def _parse_properties(text: str) -> dict[str, str]:
    """A minimal Java-properties reader (key=value lines, # comments, \\\\ escapes)."""
    parsed = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            parsed[key] = value.replace("\\\\", "\\")
    return parsed


# --- Kafka server.properties -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("process.roles", "broker,controller"),
        ("node.id", "1"),
        ("controller.quorum.bootstrap.servers", "127.0.0.1:9093"),
        ("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"),
        ("advertised.listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"),
        ("inter.broker.listener.name", "PLAINTEXT"),
        ("controller.listener.names", "CONTROLLER"),
        ("listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"),
        ("auto.create.topics.enable", "false"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.replication.factor", "1"),
        ("transaction.state.log.replication.factor", "1"),
        ("transaction.state.log.min.isr", "1"),
        ("share.coordinator.state.topic.replication.factor", "1"),
        ("share.coordinator.state.topic.min.isr", "1"),
    ],
)
def test_kafka_properties_single_node_kraft_on_loopback(stack, key, expected):
    assert services.kafka_properties(stack)[key] == expected


def test_kafka_data_lives_under_the_checkouts_var(stack):
    rendered = services.render_properties(services.kafka_properties(stack))
    assert _parse_properties(rendered)["log.dirs"] == str(stack.root / "var" / "kafka" / "data")


def test_every_kafka_listener_is_loopback(stack):
    props = services.kafka_properties(stack)
    for key in ("listeners", "advertised.listeners", "controller.quorum.bootstrap.servers"):
        hosts = re.findall(r"(?://)?([0-9a-zA-Z.\-]+):\d+", props[key])
        assert hosts and set(hosts) == {"127.0.0.1"}, key


# --- rendering .properties ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "header", "expected"),
    [
        ({"a.b": "1", "c": "x y"}, "", "a.b=1\nc=x y\n"),
        (
            {"log.dirs": "/srv/dữ liệu/kafka"},
            "do not edit",
            "# do not edit\nlog.dirs=/srv/dữ liệu/kafka\n",
        ),
        ({"path": "C:\\kafka\\logs"}, "", "path=C:\\\\kafka\\\\logs\n"),
        ({}, "only\ncomments", "# only\n# comments\n"),
    ],
    ids=["plain", "unicode-path-and-header", "backslashes-escaped", "empty"],
)
def test_render_properties(props, header, expected):
    assert services.render_properties(props, header) == expected


@pytest.mark.parametrize(
    "props",
    [
        {"s3proxy.identity": "sokhcn\ns3proxy.authorization=none"},
        {"key\r": "value"},
        {"": "value"},
        {"a=b": "value"},
    ],
    ids=["newline-smuggles-a-key", "carriage-return", "empty-key", "equals-in-key"],
)
def test_render_properties_refuses_injection(props):
    with pytest.raises(ConfigError, match="line break or bad key"):
        services.render_properties(props)


def test_render_properties_keeps_order_and_round_trips(stack):
    props = services.kafka_properties(stack)
    parsed = _parse_properties(services.render_properties(props, "generated"))
    assert list(parsed.items()) == list(props.items())


# --- KRaft cluster id --------------------------------------------------------------------------


def test_kafka_cluster_id_has_kafkas_uuid_shape():
    seen = set()
    for _ in range(2000):
        cluster_id = services.kafka_cluster_id()
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
        seen.add(cluster_id)
    assert len(seen) == 2000


# --- s3proxy properties and credentials --------------------------------------------------------


def test_s3proxy_properties(stack):
    props = services.s3proxy_properties(stack)
    assert props == {
        "s3proxy.endpoint": "http://127.0.0.1:9000",
        "s3proxy.authorization": "aws-v2-or-v4",
        "s3proxy.identity": "sokhcn",
        "s3proxy.credential": "bí-mật-123",
        "jclouds.provider": "filesystem-nio2",
        "jclouds.filesystem.basedir": str(stack.root / "var" / "s3"),
    }


def test_stack_repr_hides_the_credential(stack):
    assert "bí-mật-123" not in repr(stack)
    assert "sokhcn" in repr(stack)


def test_s3_credentials_come_from_settings_when_both_keys_are_set(monkeypatch):
    monkeypatch.setenv("ECOHUB_LANDING__S3_ACCESS_KEY", "hcm-landing")
    monkeypatch.setenv("ECOHUB_LANDING__S3_SECRET_KEY", "khóa")
    assert services.s3_credentials() == ("hcm-landing", "khóa")
    monkeypatch.delenv("ECOHUB_LANDING__S3_SECRET_KEY")  # half a pair is not a pair
    assert services.s3_credentials() == services.Stack.default().s3_keys() != (
        "hcm-landing", "ecohub-secret")


def test_s3_keys_are_given_generated_or_the_development_pair(tmp_path):
    assert Stack(root=tmp_path / "open").s3_keys() == ("ecohub", "ecohub-secret")
    given = Stack(root=tmp_path / "given", s3_identity="a-key", s3_credential="a-secret", auth=True)
    assert given.s3_keys() == ("a-key", "a-secret")
    secured = Stack(root=tmp_path / "auth", auth=True)
    assert secured.credentials() is None  # only `up` generates them; until then it is open
    creds = secured.credentials(create=True)
    assert creds is not None
    assert secured.s3_keys() == (creds.s3_access_key, creds.s3_secret_key)
    assert creds.s3_secret_key != "ecohub-secret" and len(creds.s3_secret_key) >= 40
    assert services.s3proxy_properties(secured)["s3proxy.credential"] == creds.s3_secret_key


# --- pid files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pid", [1, 4242, 4_194_304])
def test_pid_file_round_trip(tmp_path, pid):
    path = tmp_path / "run" / "kafka.pid"
    services.write_pid_file(path, pid)
    assert path.read_text() == f"{pid}\n"
    assert services.read_pid_file(path) == pid
    assert not list(path.parent.glob("*.tmp"))


def test_missing_pid_file_reads_as_none(tmp_path):
    assert services.read_pid_file(tmp_path / "absent.pid") is None


@pytest.mark.parametrize("content", ["", "\n", "abc", "-5", "0", "12 34", "1.5", "١٢٣"])
def test_malformed_pid_file_is_stale_and_warned(tmp_path, caplog, content):
    path = tmp_path / "s3.pid"
    path.write_text(content, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="infra.stack"):
        assert services.read_pid_file(path) is None
    assert str(path) in caplog.text


@pytest.mark.parametrize("pid", [0, -1])
def test_write_pid_file_refuses_non_pids(tmp_path, pid):
    with pytest.raises(ValueError, match="not a pid"):
        services.write_pid_file(tmp_path / "x.pid", pid)


# --- processes and ports -----------------------------------------------------------------------


def test_pid_alive_for_a_running_and_an_exited_process():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert services.pid_alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not services.pid_alive(child.pid)


def test_a_zombie_is_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
    assert not services.pid_alive(child.pid)
    child.wait()


def test_listening_pids_finds_this_process():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert services.listening_pids(port) == {os.getpid()}
    assert services.listening_pids(port) == set()


# --- selection and status lines ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("only", "expected"),
    [
        (None, ["postgres", "kafka", "s3", "webhooks"]),
        (["webhooks", "kafka"], ["kafka", "webhooks"]),
        (["kafka"], ["kafka"]),
        (["s3", "kafka"], ["kafka", "s3"]),
        ([" postgres ", ""], ["postgres"]),
    ],
)
def test_select_keeps_start_order(only, expected):
    assert [svc.name for svc in services._select(only)] == expected


def test_the_webhook_receiver_is_found_by_its_checkout_marker(tmp_path):
    stack = services.Stack(root=tmp_path, webhooks_port=26001)
    svc = services._TABLE["webhooks"]
    argv = [sys.executable, "-X", f"ecohub.home={tmp_path}", "-m", "ecohub.cli", "webhooks",
            "serve", "--host", "127.0.0.1", "--port", "26001"]
    assert svc.identifies(stack, argv)
    assert not svc.identifies(services.Stack(root=tmp_path / "other"), argv)
    assert not svc.identifies(stack, [sys.executable, "-m", "ecohub.cli", "consume"])
    assert svc.address(stack) == "http://127.0.0.1:26001/hooks/hoip"
    assert svc.ports(stack) == (26001,)


def test_select_rejects_unknown_service():
    with pytest.raises(ConfigError, match=r"unknown service\(s\) \['minio'\]; valid: postgres"):
        services._select(["kafka", "minio"])


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            ServiceStatus("kafka", 4242, "127.0.0.1:9092", True, 343.4),
            "kafka     pid=4242     127.0.0.1:9092           ready=yes  rss=343MB",
        ),
        (
            ServiceStatus("s3", None, "http://127.0.0.1:9000", False),
            "s3        pid=-        http://127.0.0.1:9000    ready=no   rss=-",
        ),
    ],
)
def test_status_line(row, expected):
    assert row.line() == expected


# --- versions and jar completeness -------------------------------------------------------------


def test_versions_come_from_the_poms():
    root = Path(services.__file__).resolve().parents[1]
    kafka_pom = (root / "infra" / "kafka" / "pom.xml").read_text()
    s3_pom = (root / "infra" / "s3proxy" / "pom.xml").read_text()
    assert f"<kafka.version>{services.KAFKA_VERSION}</kafka.version>" in kafka_pom
    assert f"<s3proxy.version>{services.S3PROXY_VERSION}</s3proxy.version>" in s3_pom
    assert re.fullmatch(r"4\.\d+\.\d+", services.KAFKA_VERSION)


def test_pom_without_the_property_is_a_config_error(tmp_path):
    pom = tmp_path / "pom.xml"
    pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><properties>'
        "<other>1</other></properties></project>"
    )
    with pytest.raises(ConfigError, match=r"has no <kafka\.version> property"):
        services._pom_property(pom, "kafka.version")


def test_jars_are_complete_only_for_the_current_pom(tmp_path):
    component = tmp_path / "kafka"
    (component / "lib").mkdir(parents=True)
    (component / "pom.xml").write_text("<project>4.2.2</project>")
    assert not services._jars_complete(component)  # no stamp: a download may have broken off
    digest = hashlib.sha256(b"<project>4.2.2</project>").hexdigest()
    (component / "lib" / ".complete").write_text(digest + "\n")
    assert services._jars_complete(component)
    (component / "pom.xml").write_text("<project>4.3.1</project>")
    assert not services._jars_complete(component)  # the POM changed: fetch again


# --- lifecycle on stand-in processes (a sleeping Python, never a real service) -----------------


def _stand_in(
    name: str,
    marker: str,
    *,
    ready=lambda _stack: True,
    code="time.sleep(60)",
    timeout: float = 1.0,
) -> services._Service:
    def start(stack: Stack) -> int:
        argv = [sys.executable, "-c", f"import time; {code}", marker]
        return services._spawn(stack, name, argv, stack.root)

    return services._Service(
        name=name,
        log_name=name,
        address=lambda _stack: "127.0.0.1:0",
        ports=lambda _stack: (),
        start=start,
        ready=ready,
        after_ready=lambda _stack: None,
        identifies=lambda _stack, argv: marker in argv,
        stop_signal=signal.SIGTERM,
        ready_timeout=timeout,
    )


@pytest.fixture
def lifecycle(tmp_path):
    stack = Stack(root=tmp_path)
    stack.log_dir.mkdir(parents=True)
    stack.run_dir.mkdir(parents=True)
    svc = _stand_in("kafka", f"ecohub-test-{tmp_path.name}")
    yield stack, svc
    for pid in services._strays(stack, svc):
        os.kill(pid, signal.SIGKILL)


def test_up_then_up_again_keeps_the_pid_and_down_stops_it(lifecycle):
    stack, svc = lifecycle
    services._up_one(stack, svc)
    pid = services.read_pid_file(stack.pid_file("kafka"))
    assert pid and services.pid_alive(pid)
    services._up_one(stack, svc)
    assert services.read_pid_file(stack.pid_file("kafka")) == pid
    services._down_one(stack, svc)
    assert not services.pid_alive(pid)
    assert not stack.pid_file("kafka").exists()


def test_up_adopts_our_process_whose_pid_file_was_lost(lifecycle):
    stack, svc = lifecycle
    services._up_one(stack, svc)
    pid = services.read_pid_file(stack.pid_file("kafka"))
    stack.pid_file("kafka").unlink()
    services._up_one(stack, svc)
    assert services.read_pid_file(stack.pid_file("kafka")) == pid
    assert services._strays(stack, svc) == {pid}


def test_down_stops_our_process_even_without_pid_file(lifecycle):
    stack, svc = lifecycle
    services._up_one(stack, svc)
    pid = services.read_pid_file(stack.pid_file("kafka"))
    stack.pid_file("kafka").unlink()
    services._down_one(stack, svc)
    assert not services.pid_alive(pid)


def test_a_pid_file_naming_a_foreign_process_is_never_signalled(lifecycle):
    stack, svc = lifecycle
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        services.write_pid_file(stack.pid_file("kafka"), bystander.pid)  # e.g. a reused pid
        services._down_one(stack, svc)
        assert services.pid_alive(bystander.pid)
        services._up_one(stack, svc)
        ours = services.read_pid_file(stack.pid_file("kafka"))
        assert ours != bystander.pid and services.pid_alive(bystander.pid)
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.parametrize(
    ("code", "ready", "message"),
    [
        ("time.sleep(60)", lambda _stack: False, r"kafka not ready after 1s; see .*kafka\.log"),
        (
            "print('Sở KH&CN: cổng 9092 bận'); raise SystemExit(3)",
            lambda _stack: False,
            r"kafka exited during start; see .*kafka\.log",
        ),
    ],
    ids=["never-ready", "dies-at-start"],
)
def test_a_failed_start_is_reported_and_cleaned_up(tmp_path, code, ready, message):
    stack = Stack(root=tmp_path)
    stack.log_dir.mkdir(parents=True)
    svc = _stand_in("kafka", f"ecohub-test-{tmp_path.name}", ready=ready, code=code)
    with pytest.raises(services.ServiceUnavailable, match=message):
        services._up_one(stack, svc)
    assert not stack.pid_file("kafka").exists()
    assert services._strays(stack, svc) == set()


def test_a_port_held_by_a_foreign_process_is_named(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        svc = services._Service(
            name="s3",
            log_name="s3proxy",
            address=lambda _s: "-",
            ports=lambda _s: (port,),
            start=lambda _s: 0,
            ready=lambda _s: False,
            after_ready=lambda _s: None,
            identifies=lambda _s, _a: False,
            stop_signal=signal.SIGTERM,
            ready_timeout=1.0,
        )
        with pytest.raises(
            services.ServiceUnavailable, match=rf"port {port} is held by pid {os.getpid()}"
        ):
            services._check_ports_free(services.Stack.default(), svc)


def test_a_second_stack_carries_its_own_root_and_ports(tmp_path):
    from infra import stack as st

    other = Stack(root=tmp_path, kafka_port=19092, kafka_controller_port=19093, pg_port=19432,
                  s3_port=19000)  # fmt: skip
    props = st.kafka_properties(other)

    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["log.dirs"] == str(tmp_path / "var" / "kafka" / "data")
    assert st.s3proxy_properties(other)["s3proxy.endpoint"] == "http://127.0.0.1:19000"
    assert other.warehouse_url == "postgresql+psycopg://postgres@127.0.0.1:19432/ecohub"
    assert "port = 19432" in st._pg_conf(other)
    assert other.home_marker != Stack.default().home_marker
    rows = st.status(["kafka", "postgres"], other)  # nothing started there: not ours, not ready
    assert [(r.address, r.pid, r.ready) for r in rows] == [
        ("127.0.0.1:19432", None, False),
        ("127.0.0.1:19092", None, False),
    ]


def test_a_quick_restart_broker_writes_its_class_archive_once_then_maps_it(tmp_path):
    quick, plain = Stack(root=tmp_path, kafka_quick_restart=True), Stack(root=tmp_path)
    archive = tmp_path / "var" / "kafka" / "classes.jsa"

    assert "-XX:+UseG1GC" in services._kafka_jvm(plain, "kafka.Kafka")
    first = services._kafka_jvm(quick, "kafka.Kafka")
    assert {"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m"} <= set(first)
    assert f"-XX:ArchiveClassesAtExit={archive}" in first
    storage_tool = services._kafka_jvm(quick, "kafka.tools.StorageTool")
    assert not any("Archive" in arg for arg in storage_tool)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"written by the first clean stop")
    later = services._kafka_jvm(quick, "kafka.Kafka")
    assert f"-XX:SharedArchiveFile={archive}" in later
    assert not any("ArchiveClassesAtExit" in arg for arg in later)


def test_stack_root_is_the_checkout_holding_var(tmp_path):
    main, worktree, fresh = tmp_path / "main", tmp_path / "wt", tmp_path / "fresh"
    (main / "var").mkdir(parents=True)
    worktree.mkdir()
    fresh.mkdir()
    (worktree / "var").symlink_to(main / "var")
    assert services.stack_root(main) == main
    assert services.stack_root(worktree) == main  # a worktree sharing the running stack
    assert services.stack_root(fresh) == fresh  # no var/ yet: the stack will be created here


# --- authentication ----------------------------------------------------------------------------


@pytest.fixture
def secured(tmp_path: Path) -> Stack:
    stack = Stack(root=tmp_path, kafka_port=29092, kafka_controller_port=29093, pg_port=29432,
                  s3_port=29000, auth=True)  # fmt: skip
    stack.credentials(create=True)
    return stack


def test_credentials_are_generated_once_and_follow_the_stack_ports(secured, tmp_path):
    first = secured.credentials()
    assert first is not None and first.kafka_bootstrap == "127.0.0.1:29092"
    assert secured.credentials(create=True) == first  # generated once
    moved = Stack(root=tmp_path, kafka_port=29192, pg_port=29532, auth=True)
    again = moved.credentials(create=True)
    assert again is not None
    assert (again.kafka_bootstrap, again.pg_port) == ("127.0.0.1:29192", 29532)
    assert again.secret_values() == first.secret_values()  # same secrets, new endpoints
    assert stat.S_IMODE(moved.credentials_file.stat().st_mode) == 0o600


def test_an_authenticated_broker_has_sasl_listeners_acls_and_one_super_user(secured):
    props = services.kafka_properties(secured)
    creds = secured.credentials()
    assert creds is not None
    admin = creds.principal("admin")
    assert props["listeners"] == (
        "SASL_PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093")
    assert props["listener.security.protocol.map"] == (
        "CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT")
    assert props["listener.name.sasl_plaintext.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert props["authorizer.class.name"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer")
    assert props["super.users"] == f"User:{admin.username}" == "User:ecohub-admin"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    jaas = props["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"]
    assert f'username="ecohub-admin" password="{admin.password}"' in jaas
    assert "PLAINTEXT:PLAINTEXT" not in props["listener.security.protocol.map"]
    # only the admin's password is in the broker's file; the others live in the metadata log
    text = services.render_properties(props)
    assert [p for p in creds.secret_values() if p in text] == [admin.password]


def test_only_the_loader_may_read_the_restricted_topic(secured):
    creds = secured.credentials()
    assert creds is not None
    acls = services.kafka_acls(creds)
    denies = {(r.principal, r.name, r.operation, r.prefixed) for r in acls
              if r.permission == "DENY"}
    assert denies == {("User:ecohub-publisher", "ecohub.restricted.pii.v1", "READ", False),
                      ("User:ecohub-reader", "ecohub.restricted.pii.v1", "READ", False)}
    reader_ops = {r.operation for r in acls if r.principal == "User:ecohub-reader"
                  and r.permission == "ALLOW" and r.resource_type == "TOPIC"}
    assert reader_ops == {"READ", "DESCRIBE", "DESCRIBE_CONFIGS"}
    assert {r.name for r in acls if r.resource_type == "TOPIC" and r.permission == "ALLOW"} == {
        "*"}  # the stack's tests use their own topic prefixes
    assert not [r for r in acls if r.principal == "User:ecohub-admin"]  # super user: needs none


def test_the_storage_format_gets_a_salted_scram_credential_not_the_password(secured):
    creds = secured.credentials()
    assert creds is not None
    admin = creds.principal("admin")
    arg = services._scram_argument(admin.username, admin.password)
    assert admin.password not in arg
    fields = dict(part.split("=", 1) for part in arg.split("=[", 1)[1].rstrip("]").split(","))
    salt = base64.b64decode(fields["salt"].strip('"'))
    expected = hashlib.pbkdf2_hmac("sha512", admin.password.encode(), salt,
                                   int(fields["iterations"]))
    assert base64.b64decode(fields["saltedpassword"].strip('"')) == expected
    assert arg.startswith("SCRAM-SHA-512=[name=ecohub-admin,")


def test_postgres_hba_is_scram_for_an_authenticated_stack_and_loopback_only(secured, tmp_path):
    hba = [line.split() for line in services._pg_hba(secured).splitlines()
           if line and not line.startswith("#")]
    assert hba == [["host", "all", "all", "127.0.0.1/32", "scram-sha-256"],
                   ["host", "all", "all", "::1/128", "scram-sha-256"]]
    assert "trust" in services._pg_hba(Stack(root=tmp_path / "open"))
    assert "password_encryption = 'scram-sha-256'" in services._pg_conf(secured)
    url = secured.warehouse_url
    creds = secured.credentials()
    assert creds is not None and creds.pg_password not in url
    assert url == f"postgresql+psycopg://postgres@127.0.0.1:29432/ecohub?passfile={secured.pgpass_file}"


def test_the_postgres_verifier_is_rfc_5802_scram_sha_256():
    verifier = services.scram_sha256_verifier("mật-khẩu", iterations=4096)
    scheme, rest = verifier.split("$", 1)
    params, keys = rest.split("$")
    iterations, salt_b64 = params.split(":")
    stored_b64, server_b64 = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", "mật-khẩu".encode(), base64.b64decode(salt_b64), 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    assert (scheme, iterations) == ("SCRAM-SHA-256", "4096")
    assert base64.b64decode(stored_b64) == hashlib.sha256(client_key).digest()
    assert base64.b64decode(server_b64) == hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    assert services.scram_sha256_verifier("mật-khẩu") != verifier  # fresh salt each time


def test_an_authenticated_up_refuses_to_adopt_a_service_started_open(tmp_path):
    """Before the switch the checkout's services ran open: `up` must say to restart them, not
    adopt them (its clients would present credentials the service does not check)."""
    import dataclasses

    svc = dataclasses.replace(services._TABLE["kafka"], identifies=lambda _st, _argv: True)
    stack = Stack(root=tmp_path, auth=True)
    services.write_pid_file(stack.pid_file("kafka"), os.getpid())  # "running": this process
    with pytest.raises(services.ServiceUnavailable, match="run without authentication"):
        services._refuse_open_services(stack, [svc])
    services._mode_file(stack, svc).write_text("on\n")
    services._refuse_open_services(stack, [svc])  # started with authentication: adopted
    services._refuse_open_services(Stack(root=tmp_path), [svc])  # an open stack: never refused
