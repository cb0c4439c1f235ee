"""A small downstream app: keep the latest technology offers and their suppliers in memory.

Shows the three rules of docs/events/delivery-semantics.md with the typed consumer:
upsert by entitykey, ignore events whose entityversion is not newer (replays, duplicates),
commit only after the state is updated. Run against the local stack::

    .venv/bin/python examples/consumer_app.py --seconds 10
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from ecohub.events import topic_for
from ecohub.kafka import ConsumedEvent, EventConsumer
from ecohub.settings import load_settings


@dataclass
class Catalogue:
    """Latest state per entity; an event is applied only if it is newer than what we hold."""

    versions: dict[str, int] = field(default_factory=dict)
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)
    suppliers: dict[str, str] = field(default_factory=dict)
    skipped: int = 0

    def apply(self, event: ConsumedEvent) -> None:
        if self.versions.get(event.entity_key, -1) >= event.entity_version:
            self.skipped += 1  # duplicate delivery or replay of an older state
            return
        self.versions[event.entity_key] = event.entity_version
        if event.operation == "delete":
            self.offers.pop(event.entity_key, None)
            self.suppliers.pop(event.entity_key, None)
        elif event.entity_type == "technology_offer" and event.data is not None:
            self.offers[event.entity_key] = event.data
        elif event.entity_type == "organization" and event.data is not None:
            self.suppliers[event.entity_key] = event.data["name"]

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
    parser.add_argument("--seconds", type=float, default=10.0, help="stop after this idle time")
    parser.add_argument("--group", default="example-technology-catalogue")
    args = parser.parse_args()
    settings = load_settings()
    prefix = settings.kafka.topic_prefix
    topics = [topic_for("technology_offer", prefix), topic_for("organization", prefix)]
    catalogue = Catalogue()
    with EventConsumer(settings, topics, args.group,
                       consumer_timeout_ms=args.seconds * 1000) as consumer:
        for event in consumer:
            catalogue.apply(event)
            consumer.commit()  # after the state change: at-least-once, duplicates are skipped
    print(catalogue.report())


if __name__ == "__main__":
    main()
