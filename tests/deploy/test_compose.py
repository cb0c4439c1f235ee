"""The Docker Compose deployment is valid Compose, carries every setting the code reads, and
matches the local stack; each rule also fails, naming the culprit, on a mutated copy.

No Docker engine runs here, so these checks are static (infra/compose/check.py); the facts they
compare against come from the code (ecohub.settings, ecohub.catalog, infra.stack, the
Kafka pom), never from a copy in this file.
"""

from __future__ import annotations

import ast
import importlib
import json
import math
from pathlib import Path
from typing import Any

import pytest

from ecohub import cli
from ecohub.settings import env_names

HUB = (
    "airflow-apiserver",
    "airflow-dag-processor",
    "airflow-init",
    "airflow-scheduler",
    "airflow-triggerer",
    "consumer",
    "kafka-init",
    "simulators",
    "topics-init",
    "webhooks",
)


def without_line(text: str, start: str) -> str:
    """``text`` minus the one line that starts (after indentation) with ``start``."""
    lines = text.splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.lstrip().startswith(start)]
    assert len(hits) == 1, f"expected one line starting with {start!r}, found {len(hits)}"
    del lines[hits[0]]
    return "".join(lines)


def without_setting(env_text: str, name: str) -> str:
    """An env file minus the line of ``name``, active (``NAME=``) or documented (``#NAME=``)."""
    lines = env_text.splitlines(keepends=True)
    kept = [line for line in lines if not line.lstrip("# ").startswith(f"{name}=")]
    assert len(kept) == len(lines) - 1, f"expected one line for {name}"
    return "".join(kept)


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"expected {old!r} once, found {text.count(old)} times"
    return text.replace(old, new)


def resolved(check, compose: dict[str, Any], env_text: str) -> dict[str, Any]:
    return check.resolve(compose, check.example_env(check.parse_env_file(env_text)))


# --- the whole check on the repository --------------------------------------------------------


def test_the_repository_passes_every_rule(check, root, facts):
    assert check.check_all(root, facts) == []


def test_the_command_line_reports_ok(check, capsys):
    assert check.main() == 0
    assert capsys.readouterr().out.strip().endswith("deployment check: OK")


def test_vendored_schema_is_the_recorded_compose_specification(check):
    schema = json.loads(check.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["title"] == "Compose Specification"
    assert schema["$schema"] == "https://json-schema.org/draft-07/schema"
    assert "service" in schema["definitions"]
    readme = (check.SCHEMA_PATH.parent / "README.md").read_text(encoding="utf-8")
    assert check.SCHEMA_SHA256 in readme
    assert "Apache License" in (check.SCHEMA_PATH.parent / "LICENSE-compose-spec.txt").read_text()


# --- Compose Specification schema --------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            "    restart: unless-stopped\n    logging: *logging\n\n  warehouse:",
            "    restrat: unless-stopped\n    logging: *logging\n\n  warehouse:",
            "services.kafka",
        ),
        (
            '      minio:\n        condition: service_healthy\n    restart: "no"',
            '      minio:\n        condition: service_ready\n    restart: "no"',
            "services.minio-init.depends_on",
        ),
        ("  hub-var:\n", "  hub-var:\n    driver_opt: {}\n", "volumes.hub-var"),
        ('    profiles: ["dev"]', '    profiles: "dev"', "services.simulators.profiles"),
    ],
    ids=["misspelled-key", "unknown-condition", "bad-volume-option", "profiles-not-a-list"],
)
def test_schema_rejects_an_invalid_file(check, compose_text, compose_from, old, new, where):
    schema = json.loads(check.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert check.schema_problems(compose_from(compose_text), schema) == []
    problems = check.schema_problems(compose_from(replace_once(compose_text, old, new)), schema)
    assert problems and all(p.startswith(f"schema: {where}") for p in problems), problems


# --- every setting the code reads --------------------------------------------------------------


def test_required_settings_come_from_the_code(facts):
    assert set(env_names()) <= facts.settings
    # dags/ reads the topic prefix with os.environ directly: found by the source scan as well.
    assert "ECOHUB_KAFKA__TOPIC_PREFIX" in facts.settings
    assert {
        "ECOHUB_PII_HMAC_KEY",
        "ECOHUB_TECHPORT__API_KEY",
        "ECOHUB_HOIP__CLIENT_SECRET",
        "ECOHUB_LANDING__S3_SECRET_KEY",
    } <= facts.secrets
    assert "ECOHUB_KAFKA__BOOTSTRAP_SERVERS" not in facts.secrets


@pytest.mark.parametrize(
    "name",
    [
        "ECOHUB_KAFKA__BOOTSTRAP_SERVERS",
        "ECOHUB_PII_HMAC_KEY",
        "ECOHUB_TECHPORT__API_KEY",
        "ECOHUB_HOIP__CLIENT_SECRET",
        "ECOHUB_STINET__LOOKBACK_SECONDS",
        "ECOHUB_CONFIG_FILE",
    ],
)
def test_removing_a_setting_reports_exactly_that_setting(
    check, compose_text, env_text, compose_from, facts, name
):
    compose = compose_from(without_line(compose_text, f"{name}:"))
    env_file = check.parse_env_file(without_setting(env_text, name))
    problems = check.missing_setting_problems(facts.settings, compose, env_file, ".env.example")
    assert problems == [
        *(f"{name}: missing from the environment of service {svc!r}" for svc in HUB),
        f"{name}: missing from .env.example",
    ]


def test_a_setting_missing_only_from_the_env_example_is_reported(
    check, compose_text, env_text, compose_from, facts
):
    env_file = check.parse_env_file(without_setting(env_text, "ECOHUB_HOIP__RATE_LIMIT"))
    problems = check.missing_setting_problems(
        facts.settings, compose_from(compose_text), env_file, ".env.example"
    )
    assert problems == ["ECOHUB_HOIP__RATE_LIMIT: missing from .env.example"]


def test_a_setting_added_to_the_code_is_reported_until_deployed(
    check, compose_text, env_text, compose_from, facts
):
    required = facts.settings | {"ECOHUB_TECHPORT__PROXY_URL"}
    problems = check.missing_setting_problems(
        required, compose_from(compose_text), check.parse_env_file(env_text), ".env.example"
    )
    assert {p.split(":")[0] for p in problems} == {"ECOHUB_TECHPORT__PROXY_URL"}
    assert len(problems) == len(HUB) + 1


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  ECOHUB_KAFKA__PARTITIONS:\n",
            "  ECOHUB_KAFKA_PARTITIONS:\n",
            "ECOHUB_KAFKA_PARTITIONS: set for service 'airflow-apiserver' but ecohub reads no"
            " such setting",
        ),
        (
            "  ECOHUB_HOIP__TIMEOUT:\n",
            "  ECOHUB_HOIP__TIMEOUT:\n  ECOHUB_HOIP__TIMEOUT_S: 60\n",
            "ECOHUB_HOIP__TIMEOUT_S: set for service 'airflow-apiserver' but ecohub reads no"
            " such setting",
        ),
    ],
    ids=["single-underscore", "invented-setting"],
)
def test_an_unknown_setting_in_compose_is_reported(
    check, compose_text, env_text, compose_from, facts, old, new, expected
):
    compose = compose_from(replace_once(compose_text, old, new))
    problems = check.unknown_setting_problems(
        facts.settings, compose, check.parse_env_file(env_text), ".env.example"
    )
    assert problems[0] == expected
    assert len(problems) == len(HUB)  # the shared block reaches every hub service


def test_an_unknown_setting_in_the_env_example_is_reported(
    check, compose_text, env_text, compose_from, facts
):
    env_file = check.parse_env_file(env_text + "ECOHUB_LANDING__BUCKET=ecohub-landing\n")
    problems = check.unknown_setting_problems(
        facts.settings, compose_from(compose_text), env_file, ".env.example"
    )
    assert problems == ["ECOHUB_LANDING__BUCKET: in .env.example but ecohub reads no such setting"]


def test_source_scan_finds_literal_reads_only(check, tmp_path):
    module = tmp_path / "sync_hoip.py"
    module.write_text(
        '"""Đồng bộ H.OIP; settings come from ECOHUB_* variables."""\n'
        "import os\n"
        'TOKEN = os.environ["ECOHUB_HOIP__TOKEN_URL"]\n'
        'BATCH = os.getenv("ECOHUB_HOIP__BATCH", "50")\n'
        'PREFIX = "ECOHUB_"\n'
        'NAME = f"ECOHUB_{PREFIX}__X"\n',
        encoding="utf-8",
    )
    found = check.direct_env_reads([module])
    assert found == {"ECOHUB_HOIP__TOKEN_URL": [str(module)], "ECOHUB_HOIP__BATCH": [str(module)]}


# --- .env.example ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "documented"),
    [
        ("WAREHOUSE_PASSWORD=\n", {"WAREHOUSE_PASSWORD": ""}, {}),
        ("#ECOHUB_STINET__PAGE_SIZE=100\n", {}, {"ECOHUB_STINET__PAGE_SIZE": "100"}),
        ("# ECOHUB_LOG_LEVEL=INFO\n", {}, {"ECOHUB_LOG_LEVEL": "INFO"}),
        ('MINIO_ROOT_USER="quản-trị-viên"\n', {"MINIO_ROOT_USER": "quản-trị-viên"}, {}),
        ("# Thành phố Hồ Chí Minh: sở KH&CN\n\n", {}, {}),
        ("KAFKA_HEAP_OPTS=-Xms512m -Xmx1g\n", {"KAFKA_HEAP_OPTS": "-Xms512m -Xmx1g"}, {}),
    ],
    ids=["empty-required", "documented", "documented-spaced", "quoted", "prose", "spaces"],
)
def test_env_file_parsing(check, text, values, documented):
    parsed = check.parse_env_file(text)
    assert (parsed.values, parsed.documented) == (values, documented)


def test_documented_values_are_what_the_containers_get(
    check, env_text, compose_text, compose_from, facts
):
    compose = compose_from(compose_text)
    env_file = check.parse_env_file(env_text)
    expected = check.expected_defaults(compose, env_file, facts)
    # compose defaults win over code defaults; passthrough settings show the code default
    assert expected["ECOHUB_KAFKA__BOOTSTRAP_SERVERS"] == "kafka:19092"
    assert expected["ECOHUB_STINET__PAGE_SIZE"] == facts.code_defaults["ECOHUB_STINET__PAGE_SIZE"]
    assert check.documented_value_problems(env_file, expected, ".env.example") == []

    stale = check.parse_env_file(
        replace_once(env_text, "#ECOHUB_STINET__PAGE_SIZE=", "#ECOHUB_STINET__PAGE_SIZE=5")
    )
    shown = stale.documented["ECOHUB_STINET__PAGE_SIZE"]
    assert check.documented_value_problems(stale, expected, ".env.example") == [
        f"ECOHUB_STINET__PAGE_SIZE: .env.example shows {shown!r} but the containers get "
        f"{expected['ECOHUB_STINET__PAGE_SIZE']!r}"
    ]


# --- secrets -----------------------------------------------------------------------------------


def test_no_secret_has_a_value_in_the_repository(
    check, compose_text, env_text, compose_from, facts
):
    problems = check.secret_problems(
        compose_from(compose_text), check.parse_env_file(env_text), facts.secrets, ".env.example"
    )
    assert problems == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "${ECOHUB_PII_HMAC_KEY:?set ECOHUB_PII_HMAC_KEY in .env (32+ random bytes)}",
            "${ECOHUB_PII_HMAC_KEY:-khoa-bi-mat-tphcm}",
            "ECOHUB_PII_HMAC_KEY: service 'airflow-apiserver' gives a secret a literal or"
            " default value",
        ),
        (
            "  ECOHUB_TECHPORT__API_KEY:\n",
            "  ECOHUB_TECHPORT__API_KEY: tp-2024-0001\n",
            "ECOHUB_TECHPORT__API_KEY: service 'airflow-apiserver' gives a secret a literal or"
            " default value",
        ),
        (
            "postgresql+psycopg://airflow:${AIRFLOW_DB_PASSWORD:?set AIRFLOW_DB_PASSWORD in .env}@",
            "postgresql+psycopg://airflow:matkhau2024@",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: service 'airflow-apiserver' writes a literal"
            " password in a URL",
        ),
    ],
    ids=["default-hmac-key", "literal-api-key", "password-in-url"],
)
def test_a_secret_written_into_compose_is_reported(
    check, compose_text, env_text, compose_from, facts, old, new, expected
):
    compose = compose_from(compose_text.replace(old, new))
    problems = check.secret_problems(
        compose, check.parse_env_file(env_text), facts.secrets, ".env.example"
    )
    assert problems[0] == expected


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        (
            "AIRFLOW_FERNET_KEY=\n",
            "AIRFLOW_FERNET_KEY=3q2-7wEXAMPLEc2VjcmV0\n",
            "AIRFLOW_FERNET_KEY",
        ),
        (
            "#ECOHUB_HOIP__CLIENT_SECRET=\n",
            "#ECOHUB_HOIP__CLIENT_SECRET=dev-hoip-secret\n",
            "ECOHUB_HOIP__CLIENT_SECRET",
        ),
    ],
)
def test_a_secret_value_in_the_env_example_is_reported(
    check, compose_text, env_text, compose_from, facts, old, new, name
):
    env_file = check.parse_env_file(replace_once(env_text, old, new))
    problems = check.secret_problems(
        compose_from(compose_text), env_file, facts.secrets, ".env.example"
    )
    assert problems == [f"{name}: .env.example must not carry a secret's value"]


# --- services: health, start order, scaling, volumes, ports -------------------------------------


def test_services_are_healthy_ordered_scalable_and_persistent(
    check, compose_text, compose_from, facts
):
    compose = compose_from(compose_text)
    assert check.healthcheck_problems(compose) == []
    assert check.depends_on_problems(compose) == []
    assert check.scalable_problems(compose, "consumer") == []
    assert check.volume_problems(compose) == []
    assert check.port_problems(compose, facts.host_ports) == []


@pytest.mark.parametrize(
    ("old", "new", "rule", "expected"),
    [
        (
            '      test: ["CMD", "mc", "ready", "local"]\n',
            "",
            "healthcheck_problems",
            "service 'minio' is long-running but has no health check",
        ),
        (
            '    restart: "no"\n    logging: *logging\n\n  topics-init:',
            "    restart: on-failure\n    logging: *logging\n\n  topics-init:",
            "healthcheck_problems",
            "service 'minio-init' is a one-shot job but restarts (on-failure)",
        ),
        (
            "      warehouse:\n        condition: service_healthy\n      minio-init:\n       "
            " condition: "
            "service_completed_successfully\n      topics-init:\n        condition: "
            "service_completed_successfully\n    healthcheck:",
            "      warehouse:\n        condition: service_started\n      minio-init:\n       "
            " condition: "
            "service_completed_successfully\n      topics-init:\n        condition: "
            "service_completed_successfully\n    healthcheck:",
            "depends_on_problems",
            "service 'consumer' waits for 'warehouse' with service_started, not service_healthy",
        ),
        (
            '    command: ["ecohub", "consume",',
            '    container_name: ecohub-consumer\n    command: ["ecohub", "consume",',
            "scalable_problems",
            "service 'consumer' has a container_name, so it cannot be scaled",
        ),
        (
            '    command: ["ecohub", "consume",',
            '    ports: ["127.0.0.1:9400:9400"]\n    command: ["ecohub", "consume",',
            "scalable_problems",
            "service 'consumer' publishes fixed host port 9400, so it cannot be scaled",
        ),
        (
            "      - kafka-data:/var/lib/kafka/data\n",
            "",
            "volume_problems",
            "service 'kafka' keeps its data in /var/lib/kafka/data without a named volume",
        ),
        (
            "      - ./infra/compose/minio-init.sh:/ecohub/minio-init.sh:ro",
            "      - ./infra/compose/minio-init.sh:/ecohub/minio-init.sh",
            "volume_problems",
            "service 'minio-init' bind-mounts ./infra/compose/minio-init.sh writable",
        ),
        (
            '      - "127.0.0.1:5432:5432"',
            '      - "0.0.0.0:5432:5432"',
            "port_problems",
            "service 'warehouse' publishes port 5432 beyond 127.0.0.1",
        ),
    ],
    ids=[
        "no-healthcheck",
        "restarting-job",
        "started-not-healthy",
        "container-name",
        "fixed-port",
        "no-volume",
        "writable-bind",
        "public-port",
    ],
)
def test_a_broken_service_rule_is_reported(
    check, compose_text, compose_from, facts, old, new, rule, expected
):
    compose = compose_from(replace_once(compose_text, old, new))
    args = {"scalable_problems": ("consumer",), "port_problems": (facts.host_ports,)}.get(rule, ())
    assert expected in getattr(check, rule)(compose, *args)


def test_an_ephemeral_port_keeps_the_consumer_scalable(check, compose_text, compose_from):
    text = replace_once(
        compose_text,
        '    command: ["ecohub", "consume",',
        '    ports: ["9400"]\n    command: ["ecohub", "consume",',
    )
    assert check.scalable_problems(compose_from(text), "consumer") == []


def test_the_host_ports_are_the_local_stacks(facts):
    from ecohub.settings import load_settings
    from infra import stack as services

    defaults = load_settings({})
    assert facts.host_ports["kafka"] == (services.KAFKA_PORT,)
    assert services.KAFKA_BOOTSTRAP.endswith(f":{services.KAFKA_PORT}")
    assert facts.host_ports["warehouse"] == (services.PG_PORT,)
    assert facts.host_ports["minio"] == (services.S3_PORT,)
    assert len(facts.host_ports["simulators"]) == len(defaults.portals)


# --- the same Kafka, bucket and topics as the local stack ---------------------------------------


def test_kafka_is_the_local_stacks_version(
    check, root, compose_text, env_text, compose_from, facts
):
    from infra import stack as services

    assert facts.kafka_version == check.pom_property(root / "infra/kafka/pom.xml", "kafka.version")
    assert getattr(services, "KAFKA_VERSION", facts.kafka_version) == facts.kafka_version
    compose = compose_from(compose_text)
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{facts.kafka_version}"
    assert (
        check.kafka_problems(
            compose, resolved(check, compose, env_text), "kafka", facts.kafka_version
        )
        == []
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "image: apache/kafka:{v}",
            "image: apache/kafka:3.9.1",
            "service 'kafka' runs apache/kafka:3.9.1, the local stack runs apache/kafka:{v}",
        ),
        (
            'KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false"',
            'KAFKA_AUTO_CREATE_TOPICS_ENABLE: "true"',
            "service 'kafka' lets clients create topics implicitly",
        ),
        (
            "${ECOHUB_KAFKA__BOOTSTRAP_SERVERS:-kafka:19092}",
            "${ECOHUB_KAFKA__BOOTSTRAP_SERVERS:-kafka:9092}",
            "service 'airflow-apiserver' bootstraps from kafka:9092, not a listener of 'kafka'",
        ),
        (
            "HOST:SASL_PLAINTEXT,CONTROLLER",
            "HOST:PLAINTEXT,CONTROLLER",
            "service 'kafka' lets clients in without SASL authentication on HOST",
        ),
        (
            '      KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND: "false"\n',
            "",
            "service 'kafka' does not enforce ACLs (StandardAuthorizer, "
            "allow.everyone.if.no.acl.found=false)",
        ),
    ],
    ids=["other-version", "auto-create", "wrong-listener", "open-listener", "no-acls"],
)
def test_a_different_kafka_is_reported(
    check, compose_text, env_text, compose_from, facts, old, new, expected
):
    v = facts.kafka_version
    compose = compose_from(replace_once(compose_text, old.replace("{v}", v), new))
    problems = check.kafka_problems(compose, resolved(check, compose, env_text), "kafka", v)
    assert problems[0] == expected.replace("{v}", v)


def test_landing_bucket_and_warehouse_match(check, compose_text, env_text, compose_from, facts):
    from infra import stack as services

    assert facts.bucket == services.LANDING_BUCKET
    compose = resolved(check, compose_from(compose_text), env_text)
    assert check.landing_problems(compose, facts.bucket, "minio", "minio-init") == []
    assert check.warehouse_problems(compose, "warehouse", facts.database) == []


def test_another_bucket_is_reported(check, compose_text, env_text, compose_from, facts):
    text = compose_text.replace(
        "${ECOHUB_LANDING__URL:-s3://ecohub-landing}", "${ECOHUB_LANDING__URL:-s3://du-lieu-tho}"
    )
    compose = resolved(check, compose_from(text), env_text)
    problems = check.landing_problems(compose, facts.bucket, "minio", "minio-init")
    assert (
        f"service 'consumer' lands into s3://du-lieu-tho, not the bucket {facts.bucket!r}"
        in problems
    )
    assert (
        f"service 'minio-init' lands into s3://du-lieu-tho, not the bucket {facts.bucket!r}"
        in problems
    )


def test_a_warehouse_url_elsewhere_is_reported(check, compose_text, env_text, compose_from, facts):
    text = replace_once(compose_text, "@warehouse:5432/ecohub}", "@warehouse:5432/kho_du_lieu}")
    problems = check.warehouse_problems(
        resolved(check, compose_from(text), env_text), "warehouse", facts.database
    )
    assert (
        "service 'consumer': warehouse URL does not point at 'warehouse' as configured" in problems
    )


def test_topic_names_are_the_codes(check, root, facts):
    prefix = facts.topic_prefix
    assert {f"{prefix}.organization.v1", f"{prefix}.quarantine.v1"} <= facts.topics
    texts = {p: (root / p).read_text(encoding="utf-8") for p in check.DEPLOYMENT_TEXTS}
    assert check.topic_problems(texts, facts.topics, prefix) == []
    bad = {"docs/deploy.md": f"Replay from {prefix}.to_chuc.v1 or {prefix}.organization.v1."}
    assert check.topic_problems(bad, facts.topics, prefix) == [
        f"docs/deploy.md: topic {prefix}.to_chuc.v1 is not one ecohub creates"
    ]


def test_compose_uses_the_local_topic_prefix(check, compose_text, env_text, compose_from, facts):
    compose = resolved(check, compose_from(compose_text), env_text)
    for svc in HUB:
        env = check.environment_of(compose["services"][svc])
        assert env["ECOHUB_KAFKA__TOPIC_PREFIX"] == facts.topic_prefix


# --- what the services run ---------------------------------------------------------------------


def test_hub_commands_are_valid_ecohub_invocations(compose_text, compose_from):
    services = compose_from(compose_text)["services"]
    consumer = services["consumer"]
    assert consumer["command"][0] == "ecohub"
    args = cli._parser().parse_args(consumer["command"][1:])
    assert (args.command, math.isinf(args.idle_timeout), args.max_batches) == (
        "consume",
        True,
        None,
    )
    simulators = services["simulators"]
    args = cli._parser().parse_args(simulators["command"][1:])
    assert (args.command, args.portal, args.scale, args.host) == (
        "simulate",
        "all",
        "small",
        "0.0.0.0",
    )
    assert simulators["profiles"] == ["dev"]
    # ecohub processes bypass the Airflow image's /entrypoint, which would run `airflow <command>`
    for name in ("consumer", "simulators", "topics-init"):
        assert services[name]["entrypoint"] == ["/usr/bin/dumb-init", "--"]


def test_topics_init_calls_functions_that_exist(compose_text, compose_from):
    command = compose_from(compose_text)["services"]["topics-init"]["command"]
    assert command[:2] == ["python", "-c"]
    imports = [n for n in ast.walk(ast.parse(command[2])) if isinstance(n, ast.ImportFrom)]
    assert imports
    for node in imports:
        module = importlib.import_module(node.module)
        for alias in node.names:
            assert callable(getattr(module, alias.name)), f"{node.module}.{alias.name}"


def test_airflow_runs_its_four_components_after_migrating(compose_text, compose_from):
    services = compose_from(compose_text)["services"]
    commands = {
        name: services[name]["command"]
        for name in services
        if name.startswith("airflow-") and name != "airflow-db"
    }
    assert commands["airflow-apiserver"] == ["api-server"]
    assert commands["airflow-scheduler"] == ["scheduler"]
    assert commands["airflow-dag-processor"] == ["dag-processor"]
    assert commands["airflow-triggerer"] == ["triggerer"]
    assert "airflow db migrate" in commands["airflow-init"][-1]
    for name in (
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    ):
        assert (
            services[name]["depends_on"]["airflow-init"]["condition"]
            == "service_completed_successfully"
        )
    metadata = services["airflow-apiserver"]["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "@airflow-db:5432/airflow" in metadata


# --- the hub image -----------------------------------------------------------------------------


def test_pins_are_read_from_the_project(check, root):
    airflow, python = check.pinned_versions(root)
    assert f"apache-airflow=={airflow}" in (root / "requirements.txt").read_text().splitlines()
    assert f">={python}" in (root / "pyproject.toml").read_text()


def test_the_image_builds_from_the_pins(check, root):
    airflow, python = check.pinned_versions(root)
    problems = check.dockerfile_problems(
        (root / "Dockerfile").read_text(),
        root,
        (root / ".dockerignore").read_text(),
        airflow,
        python,
    )
    assert problems == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "FROM apache/airflow:{a}-python{p}",
            "FROM apache/airflow:3.0.6-python3.12",
            "Dockerfile: FROM ['apache/airflow:3.0.6-python3.12'], expected exactly"
            " apache/airflow:{a}-python{p}",
        ),
        (
            "COPY --chown=airflow:0 quality ./quality",
            "COPY --chown=airflow:0 chat_luong ./quality",
            "Dockerfile: COPY source chat_luong does not exist",
        ),
        (
            "COPY --chown=airflow:0 dags /opt/airflow/dags",
            "COPY --chown=airflow:0 dags /opt/ecohub/dags",
            "Dockerfile: the DAGs are not copied to /opt/airflow/dags",
        ),
        (
            "# The DAGs, where",
            "USER root\n# The DAGs, where",
            "Dockerfile: the image does not end as a non-root user",
        ),
    ],
    ids=["other-airflow", "missing-source", "dags-elsewhere", "root-user"],
)
def test_a_broken_dockerfile_is_reported(check, root, old, new, expected):
    airflow, python = check.pinned_versions(root)
    text = replace_once((root / "Dockerfile").read_text(), old.format(a=airflow, p=python), new)
    problems = check.dockerfile_problems(
        text, root, (root / ".dockerignore").read_text(), airflow, python
    )
    assert problems == [expected.format(a=airflow, p=python)]


@pytest.mark.parametrize(
    ("secret", "lines"),
    [(".env", {".env", "*.env"}), (".venv", {".venv"}), ("var", {"var"}), (".git", {".git"})],
)
def test_dockerignore_keeps_secrets_and_state_out(check, root, secret, lines):
    airflow, python = check.pinned_versions(root)
    ignore = "\n".join(
        line
        for line in (root / ".dockerignore").read_text().splitlines()
        if line.strip() not in lines
    )
    problems = check.dockerfile_problems(
        (root / "Dockerfile").read_text(), root, ignore, airflow, python
    )
    assert problems == [f".dockerignore: {secret} is not excluded from the build context"]


def test_a_copied_but_ignored_source_is_reported(check, root):
    airflow, python = check.pinned_versions(root)
    ignore = (root / ".dockerignore").read_text() + "\nschemas\n"
    problems = check.dockerfile_problems(
        (root / "Dockerfile").read_text(), root, ignore, airflow, python
    )
    assert problems == ["Dockerfile: COPY source schemas is excluded by .dockerignore"]


# --- interpolation as Compose does it ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${BUCKET:-ecohub-landing}", {}, "ecohub-landing"),
        ("${BUCKET:-ecohub-landing}", {"BUCKET": ""}, "ecohub-landing"),
        ("${BUCKET-ecohub-landing}", {"BUCKET": ""}, ""),
        ("${BUCKET:-ecohub-landing}", {"BUCKET": "kho-tho-hcm"}, "kho-tho-hcm"),
        ("s3://$BUCKET/techport", {"BUCKET": "kho-tho-hcm"}, "s3://kho-tho-hcm/techport"),
        (
            "${URL:-postgresql://ecohub:${PW:?no password}@warehouse/ecohub}",
            {"PW": "x1"},
            "postgresql://ecohub:x1@warehouse/ecohub",
        ),
        (
            "${URL:-postgresql://ecohub:${PW:?no password}@warehouse/ecohub}",
            {"URL": "postgresql://kho.sokhcn.hochiminhcity.gov.vn/ecohub"},
            "postgresql://kho.sokhcn.hochiminhcity.gov.vn/ecohub",
        ),
        ("${DEBUG:+--verbose}", {"DEBUG": "1"}, "--verbose"),
        ("${DEBUG:+--verbose}", {}, ""),
        ('--hostname "$${HOSTNAME}"', {}, '--hostname "${HOSTNAME}"'),
        ("${HEAP:--Xms512m -Xmx1g}", {}, "-Xms512m -Xmx1g"),
    ],
)
def test_interpolation(check, text, env, expected):
    assert check.interpolate(text, env) == expected


@pytest.mark.parametrize(
    ("text", "env", "variable"),
    [
        ("${PW:?set PW in .env}", {}, "PW"),
        ("${PW:?set PW in .env}", {"PW": ""}, "PW"),
        ("${PW", {}, "PW"),
        ("${1PW}", {}, "1PW"),
    ],
)
def test_interpolation_errors_name_the_variable(check, text, env, variable):
    with pytest.raises(check.InterpolationError) as info:
        check.interpolate(text, env)
    assert variable in str(info.value)


def test_required_secrets_stop_compose_without_dotenv(check, compose_text, compose_from):
    with pytest.raises(check.InterpolationError) as info:
        check.resolve(compose_from(compose_text), {})
    assert info.value.variable in {
        "WAREHOUSE_PASSWORD",
        "ECOHUB_PII_HMAC_KEY",
        "AIRFLOW_FERNET_KEY",
        "AIRFLOW_DB_PASSWORD",
        "ECOHUB_LANDING__S3_ACCESS_KEY",
        "ECOHUB_LANDING__S3_SECRET_KEY",
        "AIRFLOW_API_SECRET_KEY",
        "AIRFLOW_JWT_SECRET",
        "MINIO_ROOT_USER",
        "MINIO_ROOT_PASSWORD",
    }


# --- the external-warehouse override -----------------------------------------------------------


def test_external_warehouse_override_releases_every_dependant(check, compose_text, compose_from):
    override = check.load_override(check.HERE / "external-warehouse.yml")
    compose = compose_from(compose_text)
    assert check.override_problems(compose, override, "warehouse") == []
    released = {
        name
        for name, svc in override["services"].items()
        if isinstance((svc.get("depends_on") or {}).get("warehouse"), check.Reset)
    }
    assert released == {
        name
        for name, svc in compose["services"].items()
        if "warehouse" in (svc.get("depends_on") or {})
    }


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  airflow-triggerer:\n    depends_on:\n      warehouse: !reset null\n",
            "",
            "override: service 'airflow-triggerer' still waits for 'warehouse'",
        ),
        (
            '    profiles: ["local-warehouse"]\n',
            "    image: postgres:15-bookworm\n",
            "override: service 'warehouse' is not moved to a profile",
        ),
    ],
    ids=["forgotten-service", "warehouse-still-on"],
)
def test_a_broken_override_is_reported(
    check, compose_text, compose_from, tmp_path, old, new, expected
):
    text = (check.HERE / "external-warehouse.yml").read_text(encoding="utf-8")
    path = tmp_path / "override.yml"
    path.write_text(replace_once(text, old, new), encoding="utf-8")
    problems = check.override_problems(
        compose_from(compose_text), check.load_override(path), "warehouse"
    )
    assert problems == [expected]


# --- acceptance: the whole check fails on a copy of the repository missing one setting ----------


def _repository_copy(root: Path, target: Path, replaced: dict[str, str]) -> Path:
    """``target`` mirrors ``root`` through symlinks, except the files in ``replaced``."""
    for entry in root.iterdir():
        if entry.name not in replaced and entry.name not in {".git", ".venv", "var"}:
            (target / entry.name).symlink_to(entry)
    for name, text in replaced.items():
        (target / name).write_text(text, encoding="utf-8")
    return target


@pytest.mark.parametrize("name", ["ECOHUB_LANDING__S3_REGION", "ECOHUB_HOIP__CLIENT_ID"])
def test_check_all_fails_when_a_setting_is_removed(
    check, root, facts, compose_text, env_text, tmp_path, name
):
    copy = _repository_copy(
        root,
        tmp_path,
        {
            "docker-compose.yml": without_line(compose_text, f"{name}:"),
            ".env.example": without_setting(env_text, name),
        },
    )
    generated = [  # a portal's settings are also its generated blocks (test_compose_portals)
        f"{file}: the portals' block is not the one generated from the built-in portal specs; "
        "run python -m infra.compose.check --write-portals"
        for file in ("docker-compose.yml", ".env.example") if name.startswith("ECOHUB_HOIP__")
    ]
    assert check.check_all(copy, facts) == [
        *(f"{name}: missing from the environment of service {svc!r}" for svc in HUB),
        f"{name}: missing from .env.example",
        *generated,
    ]
