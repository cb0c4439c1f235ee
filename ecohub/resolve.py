"""Cross-portal entity resolution: one golden record per real organization, laboratory and
expert, and for every link the evidence that made it.

Why rules and not a model: every link must be explainable to an auditor. Each link records the
rule, a score and the values that agreed (``entity_link.evidence``); a person can override any
decision (``resolution_override``: ``merge`` two entity keys, or ``split`` one off), and
overrides win over rules.

Why not "same name = same entity": in Vietnam a handful of family names cover most people, and
many universities have a "Trung tâm Chuyển giao Công nghệ" or a "Phòng thí nghiệm Vi mạch". A
name only links records when nothing they say disagrees (tax code, e-mail, phone, street) and,
if several different entities carry that name, only to the one the record's other evidence
points at.

Organizations (laboratories apart), strongest evidence first:

1. ``tax_code`` (1.0): the same valid tax code (mã số thuế; the 10-digit parent of a branch);
2. ``email_token`` (0.98) / ``phone_token`` (0.95): the same keyed HMAC of the e-mail or phone,
   unless the two sides hold different valid tax codes;
3. ``tax_code_typo`` (0.93): a tax code whose check digit fails and that is one digit away
   from exactly one valid code, linked only when the name, e-mail, phone or street agree too;
4. ``name`` (0.9) / ``english_name`` (0.85): the same name key - accent-, case- and
   punctuation-free, legal form stripped ("Công ty TNHH", "Cty TNHH", "Trường Đại học" =
   "ĐH"...), city and university-system suffixes normalized - or an English name or
   abbreviation equal to another record's name key, when no tax code, e-mail, phone or street
   disagrees.

Laboratories (``org_kind`` ``laboratory``) resolve among themselves: e-mail, phone, then
``name_parent`` (0.9): the same name under the same golden parent organization.

Experts: ``email_token`` (1.0), ``phone_token`` (0.95), then ``name_affiliation`` (0.9: the same
name without titles, diacritics-insensitive, at the same golden organization), unless e-mails
or phones disagree.

Golden records keep per-field provenance: for every attribute, which portal (and entity key)
said what; the chosen value is the most frequent one, ties broken by portal priority
(the ``rank`` of each portal's spec in :mod:`ecohub.portals`: Stinet, Techport, H.OIP), then
by entity key, so the result never depends on load order.
Scoring against the simulators' truth lives in ``bench.resolution`` (not in the wheel).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from ecohub.errors import ConfigError
from ecohub.normalize.text import fold
from ecohub.portals import portal_spec, portal_specs
from ecohub.warehouse.tables import entity_link, golden_entity, resolution_override
from ecohub.warehouse.tables import entity_version as ev

__all__ = [
    "KINDS",
    "Features",
    "ResolveSummary",
    "add_override",
    "base_key",
    "current_features",
    "features",
    "name_key",
    "person_key",
    "portal_rank",
    "resolve",
    "resolve_records",
]

KINDS = ("organization", "laboratory", "person")


def portal_rank(portal: str) -> tuple[int, str]:
    """The source precedence of ``portal`` (its spec's ``rank``; lower wins). A portal that is
    no longer registered (older rows in the warehouse) ranks after every registered one, by
    name, so the order stays total and deterministic."""
    try:
        return (portal_spec(portal).rank, "")
    except ConfigError:
        return (max((s.rank for s in portal_specs()), default=0) + 1, portal)


_LEGAL = re.compile(
    r"^(?:cong ty tnhh mtv|cong ty trach nhiem huu han mot thanh vien|cong ty tnhh|cty tnhh|"
    r"cong ty trach nhiem huu han|cong ty co phan|cong ty cp|cty co phan|cty cp|ctcp|"
    r"cong ty|cty|doanh nghiep tu nhan|dntn|hop tac xa|htx|truong dai hoc|truong dh|dai hoc|dh|"
    r"truong cao dang|cd|vien|trung tam|tt|quy|phong thi nghiem|phong tn|ptn)\s+"
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
_STREET_NOISE = re.compile(r"\b(?:so|duong|d)\b")
# "Trung tâm X - Trường ĐH Y", "Trung tâm X, Viện Y", "Trung tâm X thuộc Viện Y"
_PARENT_SEP = re.compile(r"\s+[-\u2013]\s+|,\s+|\s+(?:thuộc|thuoc)\s+", re.IGNORECASE)
_CITY_TAIL = re.compile(r"\s+(?:dhqg hcm|tp hcm)$")


@lru_cache(maxsize=65536)
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


def base_key(name: str | None) -> str | None:
    """The name key of an organization named without its parent or city ("Trung tâm X -
    Trường ĐH Y" -> "x"): what a reference to a center says even when it leaves out whose."""
    if not name:
        return None
    first = _PARENT_SEP.split(unicodedata.normalize("NFC", name).strip(), maxsplit=1)[0]
    key = name_key(first)
    return _CITY_TAIL.sub("", key) if key else None


def person_key(full_name: str | None) -> str | None:
    """Folded person name without academic titles ("PGS.TS. Nguyễn Văn A" -> "nguyen van a")."""
    if not full_name:
        return None
    return _TITLES.sub("", fold(full_name)).strip() or None


# --------------------------------------------------------------------------- features

#: evidence fields that identify one entity: two different values mean two entities
_IDENTIFIERS = ("tax_code", "email_token", "phone_token", "street")


@dataclass(frozen=True)
class Features:
    """What one source record says about who it is, in comparable form."""

    key: str
    portal: str
    kind: str
    name: str | None
    aliases: tuple[str, ...] = ()
    tax_code: str | None = None
    tax_typo: str | None = None
    email_token: str | None = None
    phone_token: str | None = None
    street: str | None = None
    parent_key: str | None = None
    parent_name: str | None = None
    parent_base: str | None = None

    def ids(self) -> dict[str, set[str]]:
        return {f: {v} if (v := getattr(self, f)) else set() for f in _IDENTIFIERS}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _tax(data: Mapping[str, Any]) -> str | None:
    tax = _mapping(data.get("tax_code"))
    if tax.get("valid"):
        return tax.get("parent") or (tax.get("value") or "")[:10] or None
    return None


def _tax_typo(data: Mapping[str, Any]) -> str | None:
    """The digits of a served tax code that failed its check (kept for one-digit matching)."""
    tax = _mapping(data.get("tax_code"))
    texts = [] if tax.get("valid") else [tax.get("text")]
    texts += [
        i.get("value")
        for i in data.get("issues") or []
        if isinstance(i, Mapping) and "tax" in str(i.get("field"))
    ]
    for text in texts:
        digits = re.sub(r"\D", "", str(text or ""))
        if len(digits) in (10, 13):
            return digits[:10]
    return None


def _street(data: Mapping[str, Any]) -> str | None:
    street = _mapping(data.get("address")).get("street")
    if not street:
        return None
    key = " ".join(_STREET_NOISE.sub(" ", fold(str(street))).split())
    return key if any(c.isdigit() for c in key) else None  # "Khu Công nghệ cao" names no door


def _unparsed(data: Mapping[str, Any]) -> set[str]:
    """Fields whose value could not be normalized: their token is of the text as served, which
    differs per written form, so it may agree but never disagrees."""
    return {str(i.get("field")) for i in data.get("issues") or [] if isinstance(i, Mapping)}


def features(entity_type: str, key: str, portal: str, data: Mapping[str, Any]) -> Features:
    """The comparable evidence of one current entity version (organization or person)."""
    if "phone_token" in _unparsed(data):
        data = {**data, "phone_token": None}
    if entity_type == "person":
        org = _mapping(data.get("organization"))
        return Features(
            key=key,
            portal=portal,
            kind="person",
            name=person_key(_mapping(data.get("name")).get("full_name")),
            email_token=data.get("email_token") or None,
            phone_token=data.get("phone_token") or None,
            parent_key=org.get("key") or None,
            parent_name=name_key(org.get("name")),
            parent_base=base_key(org.get("name")),
        )
    name = name_key(data.get("match_key") or data.get("name"))
    said = (name_key(data.get("english_name")), name_key(data.get("abbreviation")))
    aliases = tuple(sorted({a for a in said if a and a != name}))
    parent = _mapping(data.get("parent"))
    return Features(
        key=key,
        portal=portal,
        kind="laboratory" if data.get("org_kind") == "laboratory" else "organization",
        name=name,
        aliases=aliases,
        tax_code=_tax(data),
        tax_typo=None if _tax(data) else _tax_typo(data),
        email_token=data.get("email_token") or None,
        phone_token=data.get("phone_token") or None,
        street=_street(data),
        parent_key=parent.get("key") or None,
        parent_name=name_key(parent.get("name")),
    )


# --------------------------------------------------------------------------- union-find


class _Clusters:
    """Union-find over entity keys that keeps each group's identifiers and every link made."""

    def __init__(self, records: Iterable[Features]) -> None:
        self.parent: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        self.ids: dict[str, dict[str, set[str]]] = {}
        for r in records:
            self.parent[r.key] = r.key
            self.members[r.key] = [r.key]
            self.ids[r.key] = r.ids()
        self.links: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.best: dict[str, tuple[str, float]] = {}

    def find(self, key: str) -> str:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def conflict(self, a: str, b: str, fields: Iterable[str] = _IDENTIFIERS) -> str | None:
        """The first identifier both groups know and on which they disagree, if any."""
        ia, ib = self.ids[self.find(a)], self.ids[self.find(b)]
        for f in fields:
            if ia[f] and ib[f] and not ia[f] & ib[f]:
                return f
        return None

    def agree(self, a: str, b: str) -> dict[str, str]:
        ia, ib = self.ids[self.find(a)], self.ids[self.find(b)]
        return {f: min(ia[f] & ib[f]) for f in _IDENTIFIERS if ia[f] & ib[f]}

    def union(self, a: str, b: str, rule: str, score: float, evidence: dict[str, Any]) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        keep, drop = sorted((ra, rb))
        self.parent[drop] = keep
        self.members[keep].extend(self.members.pop(drop))
        for f, values in self.ids.pop(drop).items():
            self.ids[keep][f] |= values
        for key, other in ((a, b), (b, a)):
            self.links[key].append({"with": other, "rule": rule, "score": score, **evidence})
            if key not in self.best or self.best[key][1] < score:
                self.best[key] = (rule, score)
        return True

    def isolate(self, key: str) -> None:
        """Take ``key`` out of its group; the others stay together."""
        root = self.find(key)
        rest = sorted(m for m in self.members.pop(root) if m != key)
        ids = self.ids.pop(root)
        for member in rest:
            self.parent[member] = rest[0]
        if rest:
            self.members[rest[0]] = rest
            self.ids[rest[0]] = ids
        self.parent[key] = key
        self.members[key] = [key]
        self.ids[key] = {f: set() for f in _IDENTIFIERS}

    def groups(self) -> dict[str, list[str]]:
        return {min(v): sorted(v) for v in self.members.values()}


# --------------------------------------------------------------------------- rules


def _index(records: Iterable[Features], get: Callable[[Features], Iterable[str | None]]) -> dict:
    index: dict[str, list[str]] = defaultdict(list)
    for r in records:
        for value in get(r):
            if value:
                index[value].append(r.key)
    return index


def _link_identifier(
    clusters: _Clusters, index: Mapping[str, list[str]], rule: str, score: float, guard: tuple
) -> None:
    """Chain the keys that share an identifier unless a ``guard`` identifier disagrees."""
    field_name = rule
    for value, keys in sorted(index.items()):
        for other in keys[1:]:
            if not clusters.conflict(keys[0], other, guard):
                clusters.union(keys[0], other, rule, score, {field_name: value})


def _masks(digits: str) -> list[str]:
    return [f"{digits[:i]}_{digits[i + 1 :]}" for i in range(len(digits))]


def _link_tax_typos(clusters: _Clusters, records: list[Features]) -> None:
    """A check-digit-failing code one digit from exactly one valid code, with agreeing evidence."""
    valid: dict[str, set[str]] = defaultdict(set)
    owner: dict[str, str] = {}
    for r in records:
        if r.tax_code:
            owner.setdefault(r.tax_code, r.key)
            for mask in _masks(r.tax_code):
                valid[mask].add(r.tax_code)
    by_key = {r.key: r for r in records}
    for r in records:
        if not r.tax_typo:
            continue
        near = sorted({code for mask in _masks(r.tax_typo) for code in valid.get(mask, ())})
        hits = []
        for code in near:
            target = owner[code]
            if clusters.conflict(r.key, target, ("email_token", "phone_token", "street")):
                continue
            agree = clusters.agree(r.key, target)
            names = {n for k in clusters.members[clusters.find(target)] for n in _names(by_key[k])}
            if r.name and r.name in names:
                agree["name"] = r.name
            if agree:
                hits.append((code, target, agree))
        if len(hits) == 1:
            code, target, agree = hits[0]
            evidence = {"tax_code_served": r.tax_typo, "tax_code": code, "agree": agree}
            clusters.union(r.key, target, "tax_code_typo", 0.93, evidence)


def _names(r: Features) -> tuple[str, ...]:
    return ((r.name,) if r.name else ()) + r.aliases


def _richness(clusters: _Clusters, root: str) -> int:
    return sum(1 for values in clusters.ids[root].values() if values)


def _link_block(
    clusters: _Clusters, keys: list[str], rule: str, score: float, evidence: dict[str, Any]
) -> None:
    """Join the groups of one block (same name, same name and parent...) that do not disagree.

    The best-evidenced groups go first. A group that fits several mutually different groups of
    the block (namesakes) joins only the one its identifiers agree with, else stays apart.
    """
    roots = sorted({clusters.find(k) for k in keys}, key=lambda k: (-_richness(clusters, k), k))
    anchors: list[str] = []
    for root in roots:
        fits = [a for a in anchors if not clusters.conflict(a, root)]
        if not fits:
            anchors.append(root)
            continue
        if len(fits) > 1:  # namesakes: only the one the identifiers point at
            fits = [a for a in fits if clusters.agree(a, root)]
        if len(fits) == 1:
            agree = clusters.agree(fits[0], root)
            clusters.union(fits[0], root, rule, score, {**evidence, "agree": agree})
            anchors = [clusters.find(a) for a in anchors]


def _org_clusters(records: list[Features]) -> _Clusters:
    clusters = _Clusters(records)
    _link_identifier(clusters, _index(records, lambda r: [r.tax_code]), "tax_code", 1.0, ())
    for rule, score in (("email_token", 0.98), ("phone_token", 0.95)):
        index = _index(records, lambda r, f=rule: [getattr(r, f)])  # type: ignore[misc]
        _link_identifier(clusters, index, rule, score, ("tax_code",))
    _link_tax_typos(clusters, records)
    names = _index(records, lambda r: [r.name])
    aliases = _index(records, lambda r: r.aliases)
    for key, keys in sorted(names.items()):
        _link_block(clusters, keys, "name", 0.9, {"name": key})
    for key, keys in sorted(aliases.items()):
        if key in names:
            block = names[key] + keys
            _link_block(clusters, block, "english_name", 0.85, {"name": key})
    return clusters


def _lab_clusters(
    records: list[Features], parent_of: Callable[[Features], str | None]
) -> _Clusters:
    clusters = _Clusters(records)
    for rule, score in (("email_token", 0.98), ("phone_token", 0.95)):
        index = _index(records, lambda r, f=rule: [getattr(r, f)])  # type: ignore[misc]
        _link_identifier(clusters, index, rule, score, ())
    blocks = _index(
        records, lambda r: [f"{r.name}|{p}" if r.name and (p := parent_of(r)) else None]
    )
    for block, keys in sorted(blocks.items()):
        name, parent = block.split("|", 1)
        _link_block(clusters, keys, "name_parent", 0.9, {"name": name, "parent": parent})
    return clusters


def _person_clusters(
    records: list[Features], affiliation_of: Callable[[Features], str | None]
) -> _Clusters:
    clusters = _Clusters(records)
    _link_identifier(clusters, _index(records, lambda r: [r.email_token]), "email_token", 1.0, ())
    _link_identifier(
        clusters,
        _index(records, lambda r: [r.phone_token]),
        "phone_token",
        0.95,
        ("email_token",),
    )

    # the same name at the same golden organization, then at organizations of the same base
    # name (one record says "Trung tâm X", another "Trung tâm X - Trường ĐH Y")
    def same_base(r: Features) -> str | None:
        return f"base:{r.parent_base}" if r.parent_base else None

    for where in (affiliation_of, same_base):
        blocks = _index(records, partial(_name_at, where))
        for block, keys in sorted(blocks.items()):
            name, at = block.split("|", 1)
            _link_block(clusters, keys, "name_affiliation", 0.9, {"name": name, "affiliation": at})
    return clusters


def _name_at(where: Callable[[Features], str | None], r: Features) -> list[str | None]:
    at = where(r) if r.name else None
    return [f"{r.name}|{at}" if at else None]


class _OrgDirectory:
    """Where a reference ("organization": {key, name}) points: a golden organization when the
    key is known or the name is carried by exactly one golden organization, else the name."""

    def __init__(self, records: list[Features], golden: Mapping[str, str]) -> None:
        self.golden = golden
        by_name: dict[str, set[str]] = defaultdict(set)
        for r in records:
            for n in _names(r):
                by_name[n].add(golden[r.key])
        self.by_name = {n: min(g) for n, g in by_name.items() if len(g) == 1}

    def __call__(self, r: Features) -> str | None:
        if r.parent_key and r.parent_key in self.golden:
            return self.golden[r.parent_key]
        if r.parent_name:
            return self.by_name.get(r.parent_name) or f"name:{r.parent_name}"
        return None


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Record:
    key: str
    portal: str
    data: Mapping[str, Any]


def _current(engine: Engine, entity_type: str) -> list[_Record]:
    query = (
        select(ev.c.entity_key, ev.c.portal, ev.c.data)
        .where(
            ev.c.entity_type == entity_type, ev.c.is_current.is_(True), ev.c.is_deleted.is_(False)
        )
        .order_by(ev.c.entity_key)
    )
    with engine.connect() as conn:
        return [_Record(k, p, d or {}) for k, p, d in conn.execute(query)]


def current_features(engine: Engine) -> tuple[list[Features], list[Features]]:
    """The features of the current organizations (laboratories included) and persons: what
    :func:`resolve` decides on, for peers that should see the same records (bench)."""
    orgs = [
        features("organization", r.key, r.portal, r.data) for r in _current(engine, "organization")
    ]
    persons = [features("person", r.key, r.portal, r.data) for r in _current(engine, "person")]
    return orgs, persons


def _overrides(engine: Engine, kinds: tuple[str, ...]) -> list[Mapping[str, Any]]:
    ro = resolution_override.c
    query = select(resolution_override).where(ro.kind.in_(kinds)).order_by(ro.override_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


# --------------------------------------------------------------------------- golden records


def _golden_id(kind: str, members: list[str]) -> str:
    digest = hashlib.sha1(members[0].encode(), usedforsecurity=False).hexdigest()[:16]
    return f"G-{ {'organization': 'ORG', 'laboratory': 'LAB'}.get(kind, 'PER') }-{digest}"


def _pick(values: list[tuple[Any, str, str]]) -> Any:
    """Most frequent value; ties by portal priority then entity key."""
    present = [v for v in values if v[0] not in (None, "", [])]
    if not present:
        return None
    if len(present) == 1:
        return present[0][0]

    def same(value: Any) -> Any:
        if isinstance(value, str | int | float | bool):
            return value
        return json.dumps(value, sort_keys=True, ensure_ascii=False)

    counts = Counter(same(v[0]) for v in present)
    best = min(present, key=lambda v: (-counts[same(v[0])], portal_rank(v[1]), v[2]))
    return best[0]


_ORG_ATTRS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "name": lambda d: d.get("name"),
    "english_name": lambda d: d.get("english_name"),
    "abbreviation": lambda d: d.get("abbreviation"),
    "org_kind": lambda d: d.get("org_kind"),
    "tax_code": _tax,
    "address": lambda d: _mapping(d.get("address")).get("text"),
    "website": lambda d: d.get("website"),
    "parent": lambda d: _mapping(d.get("parent")).get("name"),
}
_PERSON_ATTRS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "name": lambda d: _mapping(d.get("name")).get("full_name"),
    "titles": lambda d: _mapping(d.get("name")).get("titles") or None,
    "degree": lambda d: d.get("degree"),
    "organization": lambda d: _mapping(d.get("organization")).get("name"),
    "email_token": lambda d: d.get("email_token"),
    "position": lambda d: d.get("position"),
}


def _golden_rows(
    kind: str, groups: dict[str, list[str]], by_key: Mapping[str, _Record], now: datetime
) -> list[dict[str, Any]]:
    attrs = _PERSON_ATTRS if kind == "person" else _ORG_ATTRS
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
                    {by_key[k].portal for k in members}, key=portal_rank
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
            clusters.links[key] = [{"rule": "override:split", "score": 1.0, **evidence}]
            clusters.best[key] = ("override:split", 1.0)
        elif o["action"] == "merge" and key in clusters.parent and other in clusters.parent:
            clusters.union(key, other, "override:merge", 1.0, evidence)
            clusters.best[key] = clusters.best[other] = ("override:merge", 1.0)


@dataclass
class ResolveSummary:
    """Counts of one resolution pass."""

    organizations: int = 0
    organization_golden: int = 0
    laboratories: int = 0
    laboratory_golden: int = 0
    persons: int = 0
    person_golden: int = 0
    links_by_rule: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "organizations": self.organizations,
            "organization_golden": self.organization_golden,
            "laboratories": self.laboratories,
            "laboratory_golden": self.laboratory_golden,
            "persons": self.persons,
            "person_golden": self.person_golden,
            "links_by_rule": dict(sorted(self.links_by_rule.items())),
        }


def resolve_records(
    orgs: list[Features],
    persons: list[Features],
    overrides: Mapping[str, list[Mapping[str, Any]]] | None = None,
) -> dict[str, _Clusters]:
    """Resolve features without a database: organizations, then laboratories (whose parent is
    a golden organization), then experts (whose affiliation is one). Returns clusters per kind."""
    overrides = overrides or {}
    plain = [r for r in orgs if r.kind == "organization"]
    labs = [r for r in orgs if r.kind == "laboratory"]
    org_clusters = _org_clusters(plain)
    _apply_overrides(org_clusters, list(overrides.get("organization", [])))
    golden = {k: _golden_id("organization", m) for m in org_clusters.groups().values() for k in m}
    directory = _OrgDirectory(plain, golden)
    lab_clusters = _lab_clusters(labs, directory)
    _apply_overrides(lab_clusters, list(overrides.get("laboratory", [])))
    person_clusters = _person_clusters(persons, directory)
    _apply_overrides(person_clusters, list(overrides.get("person", [])))
    return {"organization": org_clusters, "laboratory": lab_clusters, "person": person_clusters}


def _write(
    engine: Engine,
    kind: str,
    clusters: _Clusters,
    by_key: Mapping[str, _Record],
    summary: ResolveSummary,
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    groups = clusters.groups()
    golden = _golden_rows(kind, groups, by_key, now)
    links: list[dict[str, Any]] = []
    for members in groups.values():
        gid = _golden_id(kind, members)
        for key in members:
            rule, score = clusters.best.get(key, ("singleton", 1.0))
            links.append(
                {
                    "entity_key": key,
                    "kind": kind,
                    "golden_id": gid,
                    "rule": rule,
                    "score": score,
                    "evidence": {"links": clusters.links.get(key, [])},
                }
            )
            counted = f"{kind}:{rule}"
            summary.links_by_rule[counted] = summary.links_by_rule.get(counted, 0) + 1
    links.sort(key=lambda row: str(row["entity_key"]))
    with engine.begin() as conn:
        conn.execute(delete(entity_link).where(entity_link.c.kind == kind))
        conn.execute(delete(golden_entity).where(golden_entity.c.kind == kind))
        for start in range(0, len(golden), 1000):
            conn.execute(insert(golden_entity), golden[start : start + 1000])
        for start in range(0, len(links), 1000):
            conn.execute(insert(entity_link), links[start : start + 1000])


def resolve(engine: Engine) -> ResolveSummary:
    """Resolve the current organizations, laboratories and experts and store golden records
    and links (with their evidence), replacing the previous pass."""
    summary = ResolveSummary()
    org_records = _current(engine, "organization")
    person_records = _current(engine, "person")
    orgs = [features("organization", r.key, r.portal, r.data) for r in org_records]
    persons = [features("person", r.key, r.portal, r.data) for r in person_records]
    overrides = {
        "organization": _overrides(engine, ("organization",)),
        "laboratory": _overrides(engine, ("laboratory", "organization")),
        "person": _overrides(engine, ("person",)),
    }
    clusters = resolve_records(orgs, persons, overrides)
    by_key = {r.key: r for r in (*org_records, *person_records)}
    for kind, found in clusters.items():
        _write(engine, kind, found, by_key, summary)
    summary.organizations = sum(1 for r in orgs if r.kind == "organization")
    summary.laboratories = len(orgs) - summary.organizations
    summary.persons = len(persons)
    summary.organization_golden = len(clusters["organization"].groups())
    summary.laboratory_golden = len(clusters["laboratory"].groups())
    summary.person_golden = len(clusters["person"].groups())
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
    if action not in {"merge", "split"} or (action == "merge") != (other_entity_key is not None):
        raise ConfigError(
            "an override is 'merge' (with other_entity_key) or 'split'", action=action
        )
    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}; valid kinds: {', '.join(KINDS)}", kind=kind)
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
