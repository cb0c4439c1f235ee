"""Cross-portal entity resolution: one golden record per real organization and expert.

Why rules and not a model: every link must be explainable to an auditor. Each link carries
the rule that made it and a score; a person can override any decision (``resolution_override``:
``merge`` two entity keys, or ``split`` one off), and overrides win over rules.

Organizations, strongest evidence first:

1. ``tax_code`` (1.0): the same valid tax code (mã số thuế; the 10-digit parent of a branch);
2. ``name`` (0.9): the same name key - accent-, case- and punctuation-free, legal form
   stripped ("Công ty TNHH", "Cty TNHH", "Trường Đại học" = "ĐH"...), city and university-
   system suffixes normalized ("TP.HCM" = "Thành phố Hồ Chí Minh", "ĐHQG-HCM" = "Đại học Quốc
   gia TP.HCM") - unless the two groups hold different valid tax codes and their addresses
   disagree (two companies may share a trading name);
3. ``english_name`` / ``abbreviation`` (0.85): an English name or abbreviation equal to
   another record's name key.

Experts: ``email_token`` (1.0: the same keyed HMAC of the e-mail), then ``name_affiliation``
(0.9: the same name without titles, diacritics-insensitive, at the same golden organization
or the same affiliation name key).

Golden records keep per-field provenance: for every attribute, which portal (and entity key)
said what; the chosen value is the most frequent one, ties broken by portal priority
(Stinet, Techport, H.OIP), then by entity key, so the result never depends on load order.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from ecohub.normalize.text import fold

__all__ = [
    "ResolveSummary",
    "add_override",
    "fetch_truth",
    "name_key",
    "person_key",
    "resolve",
    "score_against_truth",
]

_PORTAL_RANK = {"stinet": 0, "techport": 1, "hoip": 2}
_LEGAL = re.compile(
    r"^(?:cong ty tnhh mtv|cong ty trach nhiem huu han mot thanh vien|cong ty tnhh|cty tnhh|"
    r"cong ty trach nhiem huu han|cong ty co phan|cong ty cp|cty co phan|cty cp|ctcp|"
    r"cong ty|cty|doanh nghiep tu nhan|dntn|hop tac xa|htx|truong dai hoc|truong dh|dai hoc|dh|"
    r"truong cao dang|cd|vien|trung tam|tt|quy)\s+"
)
_ENGLISH = re.compile(
    r"\s+(?:co ltd|company limited|joint stock company|jsc|corporation|corp|inc|llc|ltd)$"
)
_SUFFIXES = [
    (
        re.compile(r"\s+(?:dhqg|dai hoc quoc gia)\s*(?:tp\s*)?(?:hcm|tphcm|ho chi minh)$"),
        " dhqg hcm",
    ),
    (re.compile(r"\s+(?:tp\s*hcm|tphcm|thanh pho ho chi minh|tp ho chi minh)$"), " tp hcm"),
]
_TITLES = re.compile(
    r"^(?:(?:gs|pgs|tskh|ts|ths|ks|bs|ds|cn|ncs|kts|ls|prof|dr|phd|msc|giao su|pho giao su|"
    r"tien si|thac si)\s+)+"
)


def name_key(name: str | None) -> str | None:
    """The organization name key: folded, legal form stripped, suffix variants unified."""
    if not name:
        return None
    key = fold(name)
    for _ in range(2):  # "Trường ĐH" then a leftover form word
        key = _LEGAL.sub("", key)
    key = _ENGLISH.sub("", key)
    for pattern, canonical in _SUFFIXES:
        key = pattern.sub(canonical, key)
    return key.strip() or None


def person_key(full_name: str | None) -> str | None:
    """Folded person name without academic titles ("PGS.TS. Nguyễn Văn A" -> "nguyen van a")."""
    if not full_name:
        return None
    return _TITLES.sub("", fold(full_name)).strip() or None


# --------------------------------------------------------------------------- union-find


class _Clusters:
    def __init__(self, keys: Iterable[str]) -> None:
        self.parent = {k: k for k in keys}
        self.members: dict[str, list[str]] = {k: [k] for k in self.parent}
        self.link: dict[str, tuple[str, float, dict[str, Any]]] = {}

    def find(self, key: str) -> str:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str, rule: str, score: float, evidence: dict[str, Any]) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        keep, drop = sorted((ra, rb))
        self.parent[drop] = keep
        self.members[keep].extend(self.members.pop(drop))
        for key in (a, b):  # the strongest reason each key was linked
            if key not in self.link or self.link[key][1] < score:
                self.link[key] = (rule, score, evidence)
        return True

    def isolate(self, key: str) -> None:
        """Take ``key`` out of its group; the others stay together."""
        rest = sorted(m for m in self.members.pop(self.find(key)) if m != key)
        for member in rest:
            self.parent[member] = rest[0] if rest else member
        if rest:
            self.members[rest[0]] = rest
        self.parent[key] = key
        self.members[key] = [key]

    def groups(self) -> dict[str, list[str]]:
        return {min(v): sorted(v) for v in self.members.values()}


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Record:
    key: str
    portal: str
    data: Mapping[str, Any]


def _current(engine: Engine, entity_type: str) -> list[_Record]:
    from ecohub.warehouse.tables import entity_version as ev

    query = (
        select(ev.c.entity_key, ev.c.portal, ev.c.data)
        .where(
            ev.c.entity_type == entity_type, ev.c.is_current.is_(True), ev.c.is_deleted.is_(False)
        )
        .order_by(ev.c.entity_key)
    )
    with engine.connect() as conn:
        return [_Record(k, p, d or {}) for k, p, d in conn.execute(query)]


def _overrides(engine: Engine, kind: str) -> list[Mapping[str, Any]]:
    from ecohub.warehouse.tables import resolution_override as ro

    query = select(ro).where(ro.c.kind == kind).order_by(ro.c.override_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


# --------------------------------------------------------------------------- organizations


def _tax(data: Mapping[str, Any]) -> str | None:
    tax = data.get("tax_code") or {}
    if isinstance(tax, Mapping) and tax.get("valid"):
        return tax.get("parent") or (tax.get("value") or "")[:10] or None
    return None


def _address_key(data: Mapping[str, Any]) -> str | None:
    address = data.get("address") or {}
    street = address.get("street") if isinstance(address, Mapping) else None
    return fold(street) if street else None


def _link_by(
    clusters: _Clusters,
    index: Mapping[str, list[str]],
    rule: str,
    score: float,
    allow: Any = None,
) -> None:
    for value, keys in sorted(index.items()):
        first = keys[0]
        for other in keys[1:]:
            if allow is None or allow(first, other):
                clusters.union(first, other, rule, score, {"value": value, "with": first})


def _org_clusters(records: list[_Record]) -> _Clusters:
    clusters = _Clusters(r.key for r in records)
    by_key = {r.key: r for r in records}
    tax_index: dict[str, list[str]] = defaultdict(list)
    name_index: dict[str, list[str]] = defaultdict(list)
    alias_index: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if tax := _tax(r.data):
            tax_index[tax].append(r.key)
        key = name_key(r.data.get("match_key") or r.data.get("name"))
        if key:
            name_index[key].append(r.key)
        for alias in (r.data.get("english_name"), r.data.get("abbreviation")):
            if (akey := name_key(alias)) and akey != key:
                alias_index[akey].append(r.key)
    _link_by(clusters, tax_index, "tax_code", 1.0)

    def compatible(a: str, b: str) -> bool:
        taxes_a = {_tax(by_key[k].data) for k in _members(clusters, a)} - {None}
        taxes_b = {_tax(by_key[k].data) for k in _members(clusters, b)} - {None}
        if not taxes_a or not taxes_b or taxes_a & taxes_b:
            return True
        return _address_key(by_key[a].data) == _address_key(by_key[b].data) is not None

    _link_by(clusters, name_index, "name", 0.9, compatible)
    for alias, keys in sorted(alias_index.items()):
        for target in name_index.get(alias, []):
            for key in keys:
                if compatible(key, target):
                    clusters.union(
                        key, target, "english_name", 0.85, {"value": alias, "with": target}
                    )
    return clusters


def _members(clusters: _Clusters, key: str) -> list[str]:
    return clusters.members[clusters.find(key)]


# --------------------------------------------------------------------------- persons


def _person_clusters(
    records: list[_Record], org_golden: Mapping[str, str], org_names: Mapping[str, str]
) -> _Clusters:
    clusters = _Clusters(r.key for r in records)
    email_index: dict[str, list[str]] = defaultdict(list)
    name_index: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if token := r.data.get("email_token"):
            email_index[token].append(r.key)
        who = person_key((r.data.get("name") or {}).get("full_name"))
        org = r.data.get("organization") or {}
        where = org_golden.get(org.get("key") or "") or org_names.get(
            name_key(org.get("name")) or ""
        )
        where = where or name_key(org.get("name"))
        if who and where:
            name_index[f"{who}|{where}"].append(r.key)
    _link_by(clusters, email_index, "email_token", 1.0)
    _link_by(clusters, name_index, "name_affiliation", 0.9)
    return clusters


# --------------------------------------------------------------------------- golden records


def _golden_id(kind: str, members: list[str]) -> str:
    digest = hashlib.sha1(members[0].encode(), usedforsecurity=False).hexdigest()[:16]
    return f"G-{'ORG' if kind == 'organization' else 'PER'}-{digest}"


def _pick(values: list[tuple[Any, str, str]]) -> Any:
    """Most frequent value; ties by portal priority then entity key."""
    present = [v for v in values if v[0] not in (None, "", [])]
    if not present:
        return None
    counts = Counter(json.dumps(v[0], sort_keys=True, ensure_ascii=False) for v in present)
    best = min(
        present,
        key=lambda v: (
            -counts[json.dumps(v[0], sort_keys=True, ensure_ascii=False)],
            _PORTAL_RANK.get(v[1], 9),
            v[2],
        ),
    )
    return best[0]


_ORG_ATTRS = {
    "name": lambda d: d.get("name"),
    "english_name": lambda d: d.get("english_name"),
    "abbreviation": lambda d: d.get("abbreviation"),
    "org_kind": lambda d: d.get("org_kind"),
    "tax_code": _tax,
    "address": lambda d: (d.get("address") or {}).get("text"),
    "website": lambda d: d.get("website"),
}
_PERSON_ATTRS = {
    "name": lambda d: (d.get("name") or {}).get("full_name"),
    "titles": lambda d: (d.get("name") or {}).get("titles") or None,
    "degree": lambda d: d.get("degree"),
    "organization": lambda d: (d.get("organization") or {}).get("name"),
    "email_token": lambda d: d.get("email_token"),
    "position": lambda d: d.get("position"),
}


def _golden_rows(
    kind: str, groups: dict[str, list[str]], by_key: Mapping[str, _Record], now: datetime
) -> list[dict[str, Any]]:
    attrs = _ORG_ATTRS if kind == "organization" else _PERSON_ATTRS
    rows = []
    for members in groups.values():
        provenance: dict[str, list[dict[str, Any]]] = {}
        chosen: dict[str, Any] = {}
        for attr, get in attrs.items():
            said = [(get(by_key[k].data), by_key[k].portal, k) for k in members]
            provenance[attr] = [
                {"portal": p, "entity_key": k, "value": v}
                for v, p, k in said
                if v not in (None, "")
            ]
            chosen[attr] = _pick(said)
        rows.append(
            {
                "golden_id": _golden_id(kind, members),
                "kind": kind,
                "name": chosen.get("name") or members[0],
                "tax_code": chosen.get("tax_code") if kind == "organization" else None,
                "portals": sorted(
                    {by_key[k].portal for k in members}, key=lambda p: _PORTAL_RANK.get(p, 9)
                ),
                "member_count": len(members),
                "attributes": chosen,
                "provenance": provenance,
                "resolved_at": now,
            }
        )
    return rows


def _apply_overrides(clusters: _Clusters, overrides: list[Mapping[str, Any]]) -> None:
    """Human decisions in the order they were taken: ``split`` isolates a key, ``merge`` joins."""
    for o in overrides:
        key, other = o["entity_key"], o.get("other_entity_key")
        evidence = {"override_id": o["override_id"], "author": o["author"], "reason": o["reason"]}
        if o["action"] == "split" and key in clusters.parent:
            clusters.isolate(key)
            clusters.link[key] = ("override:split", 1.0, evidence)
        elif o["action"] == "merge" and key in clusters.parent and other in clusters.parent:
            clusters.union(key, other, "override:merge", 1.0, evidence)
            clusters.link[key] = clusters.link[other] = ("override:merge", 1.0, evidence)


@dataclass
class ResolveSummary:
    """Counts of one resolution pass."""

    organizations: int = 0
    organization_golden: int = 0
    persons: int = 0
    person_golden: int = 0
    links_by_rule: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "organizations": self.organizations,
            "organization_golden": self.organization_golden,
            "persons": self.persons,
            "person_golden": self.person_golden,
            "links_by_rule": dict(sorted(self.links_by_rule.items())),
        }


def _write(
    engine: Engine,
    kind: str,
    clusters: _Clusters,
    by_key: Mapping[str, _Record],
    summary: ResolveSummary,
) -> dict[str, str]:
    from ecohub.warehouse.tables import entity_link, golden_entity

    now = datetime.now(UTC).replace(tzinfo=None)
    groups = clusters.groups()
    golden = _golden_rows(kind, groups, by_key, now)
    key_to_golden = {k: _golden_id(kind, members) for members in groups.values() for k in members}
    links = []
    for key, gid in sorted(key_to_golden.items()):
        rule, score, evidence = clusters.link.get(key, ("singleton", 1.0, {}))
        links.append(
            {
                "entity_key": key,
                "kind": kind,
                "golden_id": gid,
                "rule": rule,
                "score": score,
                "evidence": evidence,
            }
        )
        summary.links_by_rule[f"{kind}:{rule}"] = summary.links_by_rule.get(f"{kind}:{rule}", 0) + 1
    with engine.begin() as conn:
        conn.execute(delete(entity_link).where(entity_link.c.kind == kind))
        conn.execute(delete(golden_entity).where(golden_entity.c.kind == kind))
        for start in range(0, len(golden), 1000):
            conn.execute(insert(golden_entity), golden[start : start + 1000])
        for start in range(0, len(links), 1000):
            conn.execute(insert(entity_link), links[start : start + 1000])
    return key_to_golden


def resolve(engine: Engine) -> ResolveSummary:
    """Resolve organizations, then experts (whose affiliation uses the organizations' result)."""
    summary = ResolveSummary()
    orgs = _current(engine, "organization")
    org_clusters = _org_clusters(orgs)
    _apply_overrides(org_clusters, _overrides(engine, "organization"))
    org_by_key = {r.key: r for r in orgs}
    org_golden = _write(engine, "organization", org_clusters, org_by_key, summary)
    org_names: dict[str, str] = {}
    for r in orgs:
        nk = name_key(r.data.get("match_key") or r.data.get("name"))
        if nk:
            org_names.setdefault(nk, org_golden[r.key])
    persons = _current(engine, "person")
    person_clusters = _person_clusters(persons, org_golden, org_names)
    _apply_overrides(person_clusters, _overrides(engine, "person"))
    _write(engine, "person", person_clusters, {r.key: r for r in persons}, summary)
    summary.organizations, summary.persons = len(orgs), len(persons)
    summary.organization_golden = len(set(org_golden.values()))
    summary.person_golden = len(person_clusters.groups())
    return summary


def add_override(
    engine: Engine,
    kind: str,
    action: str,
    entity_key: str,
    *,
    other_entity_key: str | None = None,
    reason: str,
    author: str,
) -> None:
    """Record a human decision; it applies from the next :func:`resolve`."""
    from ecohub.errors import ConfigError
    from ecohub.warehouse.tables import resolution_override

    if action not in {"merge", "split"} or (action == "merge") != (other_entity_key is not None):
        raise ConfigError(
            "an override is 'merge' (with other_entity_key) or 'split'", action=action
        )
    with engine.begin() as conn:
        conn.execute(
            insert(resolution_override).values(
                kind=kind,
                action=action,
                entity_key=entity_key,
                other_entity_key=other_entity_key,
                reason=reason,
                author=author,
                created_at=datetime.now(UTC).replace(tzinfo=None),
            )
        )


# --------------------------------------------------------------------------- scoring


def fetch_truth(urls: str | Iterable[str]) -> dict[str, Any]:
    """The simulators' ground truth of organization and expert records.

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


# truth resource -> connector stream, where the names differ
_RESOURCE_STREAMS = {"nha-cung-cap": "suppliers", "tu-van": "consultants"}


def _truth_pairs(truth: Mapping[str, Any]) -> Iterable[tuple[str, str, str, str]]:
    """(portal, stream, source id, world id) from ``{portal: {resource: {key: world id}}}``."""
    for portal, resources in truth.items():
        for resource, records in resources.items():
            stream = _RESOURCE_STREAMS.get(resource, resource.replace("-", "_"))
            for key, world in records.items():
                yield portal, stream, str(key), str(world)


def _pairwise(predicted: Mapping[str, str], actual: Mapping[str, str]) -> dict[str, float]:
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


def score_against_truth(engine: Engine, truth: dict[str, Any]) -> dict[str, Any]:
    """Pairwise precision, recall and F1 of the stored resolution, per kind, against truth.

    ``truth`` is what :func:`fetch_truth` returns. Records are matched on (portal, stream,
    source id as in ``sourceref``); ``truth_records`` vs ``records`` shows how many truth
    records are in the warehouse at all (quarantined or unsynced ones are not).
    """
    from ecohub.warehouse.tables import entity_link, entity_version

    ev = entity_version.c
    query = (
        select(ev.portal, ev.stream, ev.source_id, entity_link.c.kind, entity_link.c.golden_id)
        .join(entity_link, entity_link.c.entity_key == ev.entity_key)
        .where(ev.is_current.is_(True), ev.is_deleted.is_(False))
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    golden = {(portal, stream, sid, kind): gid for portal, stream, sid, kind, gid in rows}
    result: dict[str, Any] = {}
    for kind, prefix in (("organization", "W-ORG-"), ("person", "W-PER-")):
        actual: dict[str, str] = {}
        predicted: dict[str, str] = {}
        expected = 0
        for portal, stream, sid, world in _truth_pairs(truth):
            if not world.startswith(prefix):
                continue
            expected += 1
            gid = golden.get((portal, stream, sid, kind))
            if gid is not None:
                actual[f"{portal}|{sid}"] = world
                predicted[f"{portal}|{sid}"] = gid
        result[kind] = {**_pairwise(predicted, actual), "truth_records": expected}
    return result
