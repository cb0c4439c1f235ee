"""kafka-init (docker-compose.yml): the hub's Kafka users and ACLs, created by the admin.

One-shot and idempotent (it runs on every ``docker compose up``): sets the SCRAM credentials
of the publisher (``ECOHUB_KAFKA__SASL_USERNAME``), the loader (``ECOHUB_KAFKA__LOADER_SASL_*``)
and, when ``KAFKA_READER_PASSWORD`` is set, a read-only principal for downstream apps
(``KAFKA_READER_USER``, default ``ecohub-reader``); then the ACLs of
:func:`ecohub.kafka.hub_acls` on the topics under the hub's prefix: only the loader may read
the restricted PII topic. Changing a password in ``.env`` and re-running it rotates that user.
The admin (``KAFKA_ADMIN_USER``/``KAFKA_ADMIN_PASSWORD``) is the broker's super user, created
when its storage was formatted (infra/compose/kafka-start.sh).
"""

from __future__ import annotations

import os
import sys

from pydantic import SecretStr

from ecohub.errors import EcohubError
from ecohub.kafka import hub_acls, secure_cluster
from ecohub.settings import load_settings


def main() -> int:
    settings = load_settings()
    kafka = settings.kafka
    publisher, loader = kafka.principal("default"), kafka.principal("loader")
    users = {name: password for name, password in (publisher, loader) if name and password}
    if len(users) < 2 or publisher[0] == loader[0]:
        print("kafka-init: the publisher and the loader need their own users and passwords "
              "(ECOHUB_KAFKA__SASL_* and ECOHUB_KAFKA__LOADER_SASL_*)", file=sys.stderr)
        return 2
    reader = None
    if os.environ.get("KAFKA_READER_PASSWORD"):
        reader = os.environ.get("KAFKA_READER_USER") or "ecohub-reader"
        users[reader] = os.environ["KAFKA_READER_PASSWORD"]
    admin = settings.model_copy(update={"kafka": kafka.model_copy(update={
        "sasl_username": os.environ.get("KAFKA_ADMIN_USER") or "ecohub-admin",
        "sasl_password": SecretStr(os.environ["KAFKA_ADMIN_PASSWORD"]),
    })})  # fmt: skip
    rules = hub_acls(settings, publisher=str(publisher[0]), loader=str(loader[0]), reader=reader)
    try:
        secure_cluster(admin, users, rules)
    except EcohubError as exc:
        print(f"kafka-init: {exc}", file=sys.stderr)
        return 3
    print(f"kafka-init: users {sorted(users)} and {len(rules)} ACLs in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
