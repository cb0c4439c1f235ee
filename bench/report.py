"""docs/performance.md and its chart from one bench run's figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

__all__ = [
    "PUBLISHER_PEER", "PUBLISH_STAGE", "SIDE_BY_SIDE", "Results", "markdown", "rows", "svg",
]

PUBLISH_STAGE = "encode + publish (ecohub Publisher)"
"""The stage row: events built from canonical records, JSON-encoded and sent."""
SIDE_BY_SIDE = "ecohub syncs + loader side by side (as the DAGs run)"
"""Every portal's sync in its own process and the loader, all at once: the end-to-end row
the goal is measured on (a full sync of all portals plus the load, both cores busy)."""
PUBLISHER_PEER = "ecohub Publisher (prepared messages)"
"""The producer row: the peers' payloads as prepared messages with their event headers, sent
by the Publisher (a sync's main process: the encoding runs in worker processes). The ratio to
Kafka's ProducerPerformance is taken from this row: like with like."""


@dataclass
class Results:
    command: str
    started: datetime
    scale: str
    portals: list[str]
    e2e: dict[str, Any]
    stages: dict[str, tuple[int, float, float]]
    kafka: dict[str, Any]
    copy: tuple[int, float, float]
    dlt: dict[str, Any] | None
    machine: str
    replay: dict[str, Any] | None = None  # replay of the landing zone + its consume
    side: dict[str, Any] | None = None  # every sync and the loader at once (as the DAGs run)
    incremental: dict[str, Any] | None = None  # the same after one simulated hour of changes


def _rate(items: int, seconds: float) -> float:
    return items / seconds if seconds > 0 else float("inf")


def rows(r: Results) -> list[tuple[str, str, int, float, float | None]]:
    """(group, what, items, seconds, cpu seconds or None) for the table and the chart."""
    out: list[tuple[str, str, int, float, float | None]] = [
        ("end to end", "ecohub sync + consume, one after another", r.e2e["records"],
         r.e2e["seconds"], None)]
    if r.side:
        out.append(("end to end", SIDE_BY_SIDE, r.side["records"], r.side["seconds"], None))
    if r.incremental:
        out.append(("end to end", "incremental: the same after ~1.4 % changed",
                    r.incremental["records"], r.incremental["seconds"], None))
    if r.replay:
        out.append(("end to end", "replay of the landing zone + consume", r.replay["records"],
                    r.replay["seconds"], None))
    if r.dlt:
        out.append(("end to end", "dlt rest_api + OAI resource", r.dlt["records"],
                    r.dlt["seconds"], None))
    for name, (items, seconds, cpu) in r.stages.items():
        out.append(("stage", name, items, seconds, cpu))
    for name, value in r.kafka.items():
        if not name.startswith("_"):
            items, seconds, cpu = value
            out.append(("Kafka producer", name, items, seconds, cpu))
    out.append(("PostgreSQL", "COPY into an unindexed table", *r.copy))
    return out


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "n/a"


def markdown(r: Results) -> str:
    stage = {name: _rate(items, s) for name, (items, s, _c) in r.stages.items()}
    kafka = {name: _rate(v[0], v[1]) for name, v in r.kafka.items() if not name.startswith("_")}
    e2e_rate = _rate(r.e2e["records"], r.e2e["seconds"])
    dlt_rate = _rate(r.dlt["records"], r.dlt["seconds"]) if r.dlt else None
    copy_rate = _rate(r.copy[0], r.copy[1])
    syncs = ", ".join(f"{p} {s:.0f} s" for p, s in r.e2e["sync_seconds"].items())
    publisher = kafka.get(PUBLISHER_PEER)
    encode_publish = stage.get(PUBLISH_STAGE)
    java = kafka.get("Kafka ProducerPerformance (Java)")
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`python -m bench`); every figure below comes from one run, so",
        "the ratios compare things measured side by side on the same machine at the same time.",
        "The machine is shared (2 cores, other work running): read the ratios, not the absolute",
        "figures.",
        "",
        f"- command: `{r.command}`",
        f"- run: {r.started:%Y-%m-%d %H:%M} UTC; {r.machine}",
        f"- data: simulators of {', '.join(r.portals)} at `{r.scale}` scale (own processes, "
        "faults off, rate limits lifted), local Kafka and PostgreSQL, file landing",
        f"- end to end: {r.e2e['records']} source records, {r.e2e['events']} events loaded "
        f"or quarantined; sync {syncs}, "
        f"consume {r.e2e['load_seconds']:.0f} s; peak RSS {r.e2e['peak_rss_mb']:.0f} MB",
        *_side_lines(r),
        *([f"- replay of the landing zone (no portal): {r.replay['records']} source records "
           f"re-published in {r.replay['replay_seconds']:.0f} s, {r.replay['events']} events "
           f"consumed in {r.replay['load_seconds']:.0f} s"] if r.replay else []),
        "",
        "| group | what | items | seconds | items/s | CPU s (this process) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for group, what, items, seconds, cpu in rows(r):
        cpu_text = f"{cpu:.1f}" if cpu is not None else ""
        lines.append(f"| {group} | {what} | {items} | {seconds:.1f} | "
                     f"{_rate(items, seconds):,.0f} | {cpu_text} |")
    lines += [
        "",
        "## Ratios (goal in brackets)",
        "",
        *_end_to_end_ratios(r, e2e_rate, dlt_rate),
        f"- ecohub Publisher / Kafka ProducerPerformance: **{_ratio(publisher, java)}** "
        "(>= 0.5); with the encoding of the events (the publish stage): "
        f"**{_ratio(encode_publish, java)}**",
        f"- ecohub Publisher / bare kafka-python: **"
        f"{_ratio(publisher, kafka.get('kafka-python (bare)'))}**",
        f"- bare kafka-python / bare confluent-kafka: **"
        f"{_ratio(kafka.get('kafka-python (bare)'), kafka.get('confluent-kafka (bare)'))}**",
        f"- ecohub load (without GX) / COPY: **"
        f"{_ratio(stage.get('load (PostgreSQL)'), copy_rate)}** (>= 0.5); "
        f"with GX: **{_ratio(_combined(r), copy_rate)}**",
        "",
        f"Kafka producers all use acks=all, idempotence, {r.kafka.get('_codec', 'gzip')} "
        "(each client's default level), linger 20 ms, 256 KiB batches, on",
        f"the same event payloads (mean {r.kafka.get('_bytes', 0):.0f} bytes); the Publisher",
        "also sends the three headers every event carries, the peers none. The Python clients",
        "run interleaved, best of two each. ProducerPerformance reads the same values from",
        "`--payload-file` (its own JVM; its CPU is not in this process's column). The",
        "Publisher's row sends prepared messages, as a sync's main process does (the events",
        "are built and encoded in worker processes); the encode + publish stage also builds",
        "and encodes them.",
        "The stage rows run one stage at a time over the same records (no overlap), so their",
        "seconds add up to more than the pipelined end-to-end figure would need.",
        "",
        "![records per second](performance.svg)",
        "",
        *_breakdown(r, kafka),
    ]
    return "\n".join(lines)


def _breakdown(r: Results, kafka: dict[str, float]) -> list[str]:
    """Each stage's share of the summed stage time, and what it says about the Kafka client."""
    total = sum(seconds for _items, seconds, _cpu in r.stages.values()) or 1.0
    shares = ", ".join(f"{name} {100 * seconds / total:.0f}%"
                       for name, (_items, seconds, _cpu) in r.stages.items())
    lines = ["## Where the time goes", "", f"Share of the summed stage seconds: {shares}.", ""]
    publish = r.stages.get(PUBLISH_STAGE)
    bare, librd = kafka.get("kafka-python (bare)"), kafka.get("confluent-kafka (bare)")
    if publish and bare and librd:
        lines += [
            "Kafka client: bare kafka-python sends at "
            f"{bare / librd:.2f}x the rate of bare confluent-kafka on the same broker and "
            f"settings, and publishing is {100 * publish[1] / total:.0f}% of the stage time. "
            f"{_client_verdict(kafka)}",
            "",
        ]
    return lines


def _client_verdict(kafka: dict[str, float]) -> str:
    """What the producer figures say about the client (issue 13: one client, the faster one
    only when kafka-python cannot meet the goal)."""
    publisher, java = kafka.get(PUBLISHER_PEER), kafka.get("Kafka ProducerPerformance (Java)")
    if not publisher or not java:
        return ("The Publisher or ProducerPerformance did not run: no verdict on the client "
                "from this run.")
    ratio = publisher / java
    if ratio >= 0.5:
        return (f"On kafka-python the Publisher reaches {ratio:.2f}x ProducerPerformance "
                "(goal >= 0.5), so the project stays on it (one client, through "
                "ecohub/kafka.py).")
    return (f"On kafka-python the Publisher reaches only {ratio:.2f}x ProducerPerformance "
            "(goal >= 0.5): the figures call for the faster client (one client, through "
            "ecohub/kafka.py).")


def _combined(r: Results) -> float | None:
    gx = r.stages.get("quality gate (GX)")
    load = r.stages.get("load (PostgreSQL)")
    if not gx or not load:
        return None
    return _rate(load[0], gx[1] + load[1])


def svg(r: Results) -> str:
    """Horizontal bars of items/s, one per table row, on a log-free linear scale per group."""
    data = [(f"{group}: {what}", _rate(items, seconds))
            for group, what, items, seconds, _ in rows(r)]
    width, bar_left, row_h = 860, 330, 22
    top = max(rate for _, rate in data) or 1.0
    height = 40 + row_h * len(data)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="10" y="20" font-weight="bold">items/s, one bench run '
        f'({escape(r.started.strftime("%Y-%m-%d %H:%M"))} UTC)</text>',
    ]
    for i, (label, rate) in enumerate(data):
        y = 32 + i * row_h
        w = max(1.0, (width - bar_left - 90) * rate / top)
        parts.append(f'<text x="10" y="{y + 14}">{escape(label)}</text>')
        parts.append(f'<rect x="{bar_left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                     'fill="#4a7ab5"/>')
        parts.append(f'<text x="{bar_left + w + 6:.1f}" y="{y + 14}">{rate:,.0f}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _side_lines(r: Results) -> list[str]:
    out = []
    for label, run in (("side by side", r.side), ("incremental", r.incremental)):
        if run:
            ends = ", ".join(f"{p} {s:.0f} s" for p, s in run["sync_seconds"].items())
            out.append(f"- {label}: {run['records']} source records, {run['events']} events "
                       f"loaded or quarantined; syncs ended at {ends}; loader done at "
                       f"{run['seconds']:.0f} s; peak RSS of any process "
                       f"{run['peak_rss_mb']:.0f} MB")
    return out


def _end_to_end_ratios(r: Results, e2e_rate: float, dlt_rate: float | None) -> list[str]:
    out = []
    if r.side:
        out.append(f"- ecohub end to end (side by side) / dlt: "
                   f"**{_ratio(_rate(r.side['records'], r.side['seconds']), dlt_rate)}** "
                   f"(>= 1.0); {r.side['seconds']:.0f} s wall (goal <= 60 s)")
    out.append(f"- ecohub end to end (one step after another) / dlt: "
               f"**{_ratio(e2e_rate, dlt_rate)}**")
    if r.side and r.incremental:
        out.append(f"- incremental run / full run (side by side): "
                   f"**{_ratio(r.incremental['seconds'], r.side['seconds'])}** (<= 0.05)")
    if r.replay:
        out.append(f"- replay of the landing zone + consume: **{r.replay['seconds']:.0f} s** "
                   "(<= 30 s)")
    return out
