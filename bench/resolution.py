"""Entity resolution scored against the simulators' truth: ecohub and Splink side by side.

``python -m bench.resolution [--scale real] [--seed 42] [--no-splink]`` starts the three
simulators, syncs every stream that carries organizations, laboratories, startup companies and
experts, normalizes them and loads them into a scratch SQLite warehouse (no Kafka needed: the
records are the ones the loader would store), runs ``ecohub.resolve.resolve`` and Splink 5
(DuckDB backend, bench-only: ``bench/requirements.txt``) on the same records, and prints
pairwise precision, recall and F1 per kind (organization, laboratory, person), with the
resolution times. Nothing here asserts a figure; ``tests/acceptance/test_resolution_real.py``
holds the bar.

Scoring lives here, not in the runtime package: the truth is the simulators' ``/_admin/truth``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "STREAMS",
    "collect",
    "fetch_truth",
    "main",
    "pairwise",
    "score_resolution",
    "splink_clusters",
    "truth_by_entity_key",
]

#: connector streams whose records are organizations, laboratories, startup companies or experts
STREAMS = {
    "stinet": ["organizations", "laboratories", "experts"],
    "techport": ["suppliers", "consultants"],
    "hoip": ["organizations", "startup_projects"],
}
# truth resource -> connector stream, where the names differ
_RESOURCE_STREAMS = {"nha-cung-cap": "suppliers", "tu-van": "consultants"}
_KIND_OF_WORLD_ID = {"W-ORG-": "organization", "W-LAB-": "laboratory", "W-PER-": "person"}


def fetch_truth(urls: str | Iterable[str]) -> dict[str, Any]:
    """The simulators' ground truth of the records that carry world entities.

    ``urls`` is one simulator base URL, several separated by commas, or an iterable. For each,
    ``GET /_admin/truth`` names the portal and its resources; every resource that carries world
    entities is read from ``/_admin/truth/<resource>`` (NDJSON). Deleted records are left out.
    Returns ``{portal: {resource: {record key: world id}}}``.
    """
    import requests

    if isinstance(urls, str):
        urls = [u.strip() for u in urls.split(",") if u.strip()]
    truth: dict[str, Any] = {}
    with requests.Session() as http:
        for url in urls:
            base = url.rstrip("/").removesuffix("/_admin/truth")
            summary = http.get(f"{base}/_admin/truth", timeout=60)
            summary.raise_for_status()
            info = summary.json()
            portal = truth.setdefault(info["portal"], {})
            for resource, meta in sorted(info["resources"].items()):
                if not meta.get("has_entities"):
                    continue
                with http.get(f"{base}/_admin/truth/{resource}", stream=True, timeout=300) as resp:
                    resp.raise_for_status()
                    lines = (json.loads(line) for line in resp.iter_lines() if line)
                    portal[resource] = {
                        str(line["key"]): line["entity_id"]
                        for line in lines
                        if line.get("entity_id") and not line.get("deleted")
                    }
    return truth


def truth_by_entity_key(engine: Any, truth: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``{kind: {entity key: world id}}`` for the truth records present in the warehouse.

    Records are matched on (portal, stream, source id, entity type); a startup project's
    company is the ``organization`` entity of that project record.
    """
    from sqlalchemy import select

    from ecohub.warehouse.tables import entity_version

    ev = entity_version.c
    query = select(ev.portal, ev.stream, ev.source_id, ev.entity_type, ev.entity_key).where(
        ev.is_current.is_(True),
        ev.is_deleted.is_(False),
        ev.entity_type.in_(("organization", "person")),
    )
    with engine.connect() as conn:
        keys = {(p, s, sid, t): key for p, s, sid, t, key in conn.execute(query)}
    out: dict[str, dict[str, str]] = {kind: {} for kind in _KIND_OF_WORLD_ID.values()}
    for portal, resources in truth.items():
        for resource, records in resources.items():
            stream = _RESOURCE_STREAMS.get(resource, resource.replace("-", "_"))
            for sid, world in records.items():
                kind = _KIND_OF_WORLD_ID[world[:6]]
                entity_type = "person" if kind == "person" else "organization"
                key = keys.get((portal, stream, str(sid), entity_type))
                if key is not None:
                    out[kind][key] = world
    return out


def pairwise(predicted: Mapping[str, str], actual: Mapping[str, str]) -> dict[str, Any]:
    """Pairwise precision, recall and F1 of a clustering against the true one."""
    keys = set(predicted) & set(actual)

    def pairs(counter: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    both = pairs(Counter((predicted[k], actual[k]) for k in keys))
    pred = pairs(Counter(predicted[k] for k in keys))
    true = pairs(Counter(actual[k] for k in keys))
    precision = both / pred if pred else 1.0
    recall = both / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": len(keys),
        "true_pairs": true,
        "predicted_pairs": pred,
        "correct_pairs": both,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def score_resolution(
    golden: Mapping[str, str], truth: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """Per kind: pairwise scores of ``golden`` (entity key -> cluster id) against the truth,
    plus ``cross_kind_pairs``: pairs merged across kinds (an organization with a laboratory)."""
    result: dict[str, Any] = {}
    for kind, actual in truth.items():
        predicted = {k: golden[k] for k in actual if k in golden}
        result[kind] = {**pairwise(predicted, actual), "truth_records": len(actual)}
    kind_of = {k: kind for kind, actual in truth.items() for k in actual}
    members: dict[str, set[str]] = {}
    for key, gid in golden.items():
        if key in kind_of:
            members.setdefault(gid, set()).add(kind_of[key])
    result["clusters_spanning_kinds"] = sum(1 for kinds in members.values() if len(kinds) > 1)
    return result


def stored_golden(engine: Any) -> dict[str, str]:
    """entity key -> golden id, as ``ecohub.resolve.resolve`` stored it."""
    from sqlalchemy import select

    from ecohub.warehouse.tables import entity_link

    with engine.connect() as conn:
        rows = conn.execute(select(entity_link.c.entity_key, entity_link.c.golden_id)).all()
    return {key: gid for key, gid in rows}


# --------------------------------------------------------------------------- records


def collect(scale: str, seed: int, workdir: Path) -> tuple[Any, dict[str, Any]]:
    """Sync the entity streams of all three simulators into a scratch SQLite warehouse.

    Returns the engine and the truth. The records go through the connectors (HTTP), the
    normalizers and the warehouse's SCD2 loader exactly as in production, without Kafka and
    without the quality gate (both change nothing about who is who).
    """
    import simulators
    from connectors import get_connector
    from ecohub.db import get_engine
    from ecohub.events import to_event
    from ecohub.landing import Landing
    from ecohub.normalize import normalize
    from ecohub.settings import load_settings
    from ecohub.warehouse import init_db
    from ecohub.warehouse.history import apply_events

    servers = simulators.start_all(
        scale=scale, seed=seed, ports=dict.fromkeys(simulators.portals(), 0)
    )
    try:
        env = {
            "ECOHUB_WAREHOUSE_URL": f"sqlite:///{workdir}/er.db",
            "ECOHUB_LANDING__URL": f"file://{workdir}/landing",
            **{f"ECOHUB_{p.upper()}__BASE_URL": s.url for p, s in servers.items()},
            **{f"ECOHUB_{p.upper()}__RATE_LIMIT": "1000" for p in servers},
        }
        settings = load_settings(env)
        engine = get_engine(settings.warehouse_url)
        init_db(engine)
        landing = Landing.from_settings(settings.landing)
        key = settings.pii_hmac_key.get_secret_value().encode()
        for portal, streams in STREAMS.items():
            connector = get_connector(portal, settings)
            for stream in streams:
                for batch in connector.read(stream, state=None, run_id="bench-er", landing=landing):
                    events = []
                    for record in batch.records:
                        try:
                            events += [
                                to_event(c, "bench-er") for c in normalize(record, pii_key=key)
                            ]
                        except Exception:
                            continue
                    with engine.begin() as conn:
                        apply_events(conn, events)
        truth = fetch_truth([s.url for s in servers.values()])
    finally:
        for s in servers.values():
            s.stop()
    return engine, truth


# --------------------------------------------------------------------------- Splink


def _splink_frame(kind: str, records: list[Any]) -> Any:
    import pandas as pd

    rows = []
    for r in records:
        row = {
            "unique_id": r.key,
            "name": r.name,
            "email_token": r.email_token,
            "phone_token": r.phone_token,
        }
        if kind == "organization":
            row |= {
                "alias": r.aliases[0] if r.aliases else None,
                "tax_code": r.tax_code,
                "street": r.street,
            }
        elif kind == "laboratory":
            row |= {"parent": r.parent_key or r.parent_name, "street": r.street}
        else:
            row |= {"affiliation": r.parent_key or r.parent_name}
        rows.append(row)
    return pd.DataFrame(rows)


def splink_clusters(kind: str, records: list[Any], threshold: float = 0.9) -> dict[str, str]:
    """Splink 5 (DuckDB) deduplication of one kind's records: entity key -> cluster id.

    The model sees the same standardized evidence ecohub does (name key, tax code, e-mail and
    phone tokens, street, parent or affiliation reference); u from random sampling, m by EM
    on two blockings, the prior from deterministic rules; links at ``threshold``.
    """
    import logging

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink.internals.exceptions import EMTrainingException

    frame = _splink_frame(kind, records)
    exact = [c for c in frame.columns if c not in ("unique_id", "name")]
    comparisons = [cl.JaroWinklerAtThresholds("name", [0.97, 0.9])]
    comparisons += [cl.ExactMatch(c) for c in exact]
    blocking = [block_on("name"), *(block_on(c) for c in exact if c != "street")]
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )
    db = DuckDBAPI()
    linker = Linker(db.register(frame), settings, log_level=logging.WARNING)
    strong = [block_on(c) for c in ("email_token", "tax_code") if c in exact]
    if kind == "laboratory":
        strong.append(block_on("name", "parent"))
    linker.training.estimate_probability_two_random_records_match(strong, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in (block_on("name"), block_on("email_token")):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except (ValueError, EMTrainingException):  # too few pairs in a small pool: defaults
            continue
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    table = clusters.as_pandas_dataframe()
    return dict(zip(table["unique_id"], table["cluster_id"].astype(str), strict=True))


# --------------------------------------------------------------------------- main


def run(scale: str, seed: int, *, with_splink: bool = True) -> dict[str, Any]:
    """Collect, resolve with ecohub (and Splink), score; returns the figures."""
    from ecohub.resolve import current_features, resolve

    with tempfile.TemporaryDirectory(prefix="bench-er-") as tmp:
        t0 = time.perf_counter()
        engine, truth = collect(scale, seed, Path(tmp))
        t_collect = time.perf_counter() - t0
        by_key = truth_by_entity_key(engine, truth)
        t0 = time.perf_counter()
        summary = resolve(engine)
        t_ecohub = time.perf_counter() - t0
        out: dict[str, Any] = {
            "scale": scale,
            "seed": seed,
            "collect_s": round(t_collect, 1),
            "ecohub": {
                "resolve_s": round(t_ecohub, 2),
                "summary": summary.as_dict(),
                "scores": score_resolution(stored_golden(engine), by_key),
            },
        }
        if with_splink:
            orgs, persons = current_features(engine)
            pools = {
                "organization": [r for r in orgs if r.kind == "organization"],
                "laboratory": [r for r in orgs if r.kind == "laboratory"],
                "person": persons,
            }
            golden: dict[str, str] = {}
            t0 = time.perf_counter()
            for kind, records in pools.items():
                golden |= {k: f"{kind}:{c}" for k, c in splink_clusters(kind, records).items()}
            out["splink"] = {
                "resolve_s": round(time.perf_counter() - t0, 2),
                "scores": score_resolution(golden, by_key),
            }
        engine.dispose()
    return out


def _table(result: Mapping[str, Any]) -> str:
    lines = [
        f"entity resolution, scale={result['scale']} seed={result['seed']} "
        f"(records collected in {result['collect_s']} s)",
        f"{'kind':<13}{'tool':<8}{'records':>8}{'true pairs':>11}{'P':>8}{'R':>8}{'F1':>8}",
    ]
    tools = [t for t in ("ecohub", "splink") if t in result]
    for kind in _KIND_OF_WORLD_ID.values():
        for tool in tools:
            s = result[tool]["scores"][kind]
            lines.append(
                f"{kind:<13}{tool:<8}{s['records']:>8}{s['true_pairs']:>11}"
                f"{s['precision']:>8.4f}{s['recall']:>8.4f}{s['f1']:>8.4f}"
            )
        if len(tools) == 2:
            a, b = (result[t]["scores"][kind]["f1"] for t in tools)
            lines.append(f"{'':<13}{'F1 ecohub - splink':<35}{a - b:>+8.4f}")
    for tool in tools:
        lines.append(
            f"{tool} resolution time: {result[tool]['resolve_s']} s; clusters spanning kinds: "
            f"{result[tool]['scores']['clusters_spanning_kinds']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.resolution", description=__doc__)
    parser.add_argument("--scale", default="real", choices=["small", "real", "xl"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-splink", action="store_true", help="ecohub only")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    result = run(args.scale, args.seed, with_splink=not args.no_splink)
    print(_table(result))
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
