"""A small downstream app: keep the latest technology offers and their suppliers in memory.

Written from docs/events/ alone, with the clients a downstream team would pick and **no ecohub
import**: confluent-kafka to read, the CloudEvents Python SDK's Kafka binding to decode
(``from_kafka_event``: ecohub sends structured mode, ``content-type:
application/cloudevents+json``). It follows the rules of docs/events/delivery-semantics.md:
upsert by ``entitykey``, ignore an event whose ``entityversion`` (a decimal string: compare as
an integer) is not newer than the one applied (replays, duplicates), commit only after the
state changed. Run against the local stack (which authenticates: a downstream app is the
read-only ``ecohub-reader`` principal, whose password ``make up`` generated)::

    pip install confluent-kafka cloudevents
    export KAFKA_PASSWORD="$(python3 -c 'import json; s = json.load(open(
        "var/secrets/local-stack.json")); print(s["kafka"]["principals"]["reader"]["password"])')"
    .venv/bin/python examples/consumer_app.py --username ecohub-reader --seconds 10
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from typing import Any

from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event
from confluent_kafka import Consumer, Message


@dataclass
class Catalogue:
    """Latest state per entity; an event is applied only if it is newer than what we hold."""

    versions: dict[str, int] = field(default_factory=dict)
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)
    suppliers: dict[str, str] = field(default_factory=dict)
    skipped: int = 0

    def apply(self, message: Message) -> None:
        if message.value() is None:
            return  # entity topics carry no tombstones; nothing to decode anyway
        event = from_kafka_event(KafkaMessage(headers=dict(message.headers() or []),
                                              key=message.key(), value=message.value()))
        attributes = event.get_attributes()
        key = attributes["entitykey"]
        version = int(attributes["entityversion"])  # epoch ms as a CloudEvents String
        if self.versions.get(key, -1) >= version:
            self.skipped += 1  # duplicate delivery or replay of an older state
            return
        self.versions[key] = version
        data = event.get_data()
        if attributes["operation"] == "delete":
            self.offers.pop(key, None)
            self.suppliers.pop(key, None)
        elif attributes["entitytype"] == "technology_offer" and isinstance(data, dict):
            self.offers[key] = data
        elif attributes["entitytype"] == "organization" and isinstance(data, dict):
            self.suppliers[key] = data["name"]

    def report(self) -> str:
        priced = [o for o in self.offers.values() if o["price"] and o["price"]["amount_vnd"]]
        total = sum(o["price"]["amount_vnd"] for o in priced)
        lines = [f"{len(self.offers)} offers, {len(priced)} priced, {total:,} VND in total; "
                 f"{self.skipped} stale or duplicate events ignored"]
        for offer in list(self.offers.values())[:5]:
            supplier = offer["supplier"] or {}
            name = self.suppliers.get(supplier.get("key") or "", supplier.get("name"))
            lines.append(f"- {offer['title']} ({name})")
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--prefix", default="ecohub", help="the hub's topic prefix")
    parser.add_argument("--seconds", type=float, default=10.0, help="stop after this idle time")
    parser.add_argument("--group", default="example-technology-catalogue")
    parser.add_argument("--username", help="SASL/SCRAM-SHA-512 user; the password is read "
                        "from the KAFKA_PASSWORD environment variable (never an argument)")
    args = parser.parse_args()
    config = {"bootstrap.servers": args.bootstrap, "group.id": args.group,
              "auto.offset.reset": "earliest", "enable.auto.commit": False}
    if args.username:
        config |= {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
                   "sasl.username": args.username, "sasl.password": os.environ["KAFKA_PASSWORD"]}
    consumer = Consumer(config)
    consumer.subscribe([f"{args.prefix}.technology_offer.v1", f"{args.prefix}.organization.v1"])
    catalogue = Catalogue()
    idle_since = time.monotonic()
    try:
        while time.monotonic() - idle_since < args.seconds:
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                raise RuntimeError(message.error())
            catalogue.apply(message)
            consumer.commit(message=message, asynchronous=False)  # after the state change
            idle_since = time.monotonic()
    finally:
        consumer.close()
    print(catalogue.report())


if __name__ == "__main__":
    main()
