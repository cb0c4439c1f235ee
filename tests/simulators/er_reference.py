"""A careful reference matcher, used to prove the simulated world is hard but fair.

Tax code first (valid check digit only), then the normalized name (Unicode NFC, HTML entities,
whitespace, case, accents, legal forms and city suffixes removed); experts by e-mail, else by
(name without academic titles, normalized workplace). Imported by the entity-resolution tests.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from itertools import combinations
from typing import Any

from stdnum.vn import mst

_PREFIXES = sorted(
    """cong ty trach nhiem huu han|cong ty tnhh|cty tnhh|cong ty co phan|cong ty cp
    |cty co phan|cty cp|ctcp
    |truong dai hoc|truong dh|dai hoc|dh|vien|trung tam|tt|quy""".replace("\n", "").split("|"),
    key=len,
    reverse=True,
)
_PREFIXES = [p.strip() for p in _PREFIXES]
_SUFFIXES = sorted(
    [
        "dhqg hcm",
        "dhqg tp hcm",
        "dai hoc quoc gia tp hcm",
        "dhqg tphcm",
        "tp hcm",
        "tp ho chi minh",
        "thanh pho ho chi minh",
        "tphcm",
    ],
    key=len,
    reverse=True,
)
_TITLES = [
    "pho giao su tien si",
    "giao su tien si",
    "pgs ts",
    "gs ts",
    "tien si",
    "thac si",
    "ky su",
    "pgs",
    "gs",
    "ts",
    "ths",
    "th s",
    "ks",
    "dr",
]


def fold(text: str) -> str:
    text = unicodedata.normalize("NFC", html.unescape(unicodedata.normalize("NFC", text or "")))
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def org_key(name: str | None) -> str:
    text = fold(name or "")
    for prefix in _PREFIXES:
        if text == prefix or text.startswith(prefix + " "):
            text = text[len(prefix) :].strip()
            break
    for suffix in _SUFFIXES:
        if text.endswith(" " + suffix):
            text = text[: -len(suffix)].strip()
            break
    return text


def person_key(name: str | None) -> str:
    text = fold(name or "")
    changed = True
    while changed:
        changed = False
        for title in _TITLES:
            if text.startswith(title + " "):
                text, changed = text[len(title) + 1 :], True
    return text


def tax_key(raw: str | None) -> str | None:
    digits = re.sub(r"\D", "", raw or "")
    return digits if len(digits) in (10, 13) and mst.is_valid(digits) else None


def cluster(records: list[dict[str, Any]]) -> list[int]:
    """Union-find over evidence keys; returns a cluster id per record."""
    parent = list(range(len(records)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[str, int] = {}
    for i, rec in enumerate(records):
        for key in rec["keys"]:
            if key in owner:
                parent[find(i)] = find(owner[key])
            else:
                owner[key] = i
    return [find(i) for i in range(len(records))]


def evidence(
    kind: str,
    name: str | None,
    tax: str | None = None,
    email: str | None = None,
    affiliation: str | None = None,
) -> list[str]:
    keys = []
    if kind == "org":
        if (t := tax_key(tax)) is not None:
            keys.append(f"tax:{t}")
        if k := org_key(name):
            keys.append(f"org:{k}")
        if email and "@" in email:
            keys.append(f"dom:{email.strip().lower().rsplit('@', 1)[1]}")
    else:
        if email:
            keys.append(f"mail:{email.strip().lower()}")
        if (n := person_key(name)) and (a := org_key(affiliation)):
            keys.append(f"per:{n}|{a}")
    return keys


def pairwise_scores(truth_ids: list[str], predicted: list[int]) -> tuple[float, float]:
    def pairs(groups: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in groups.values())

    both = pairs(Counter(zip(truth_ids, predicted, strict=True)))
    pred = pairs(Counter(predicted))
    true = pairs(Counter(truth_ids))
    return (both / pred if pred else 1.0), (both / true if true else 1.0)


__all__ = [
    "cluster",
    "combinations",
    "evidence",
    "fold",
    "org_key",
    "pairwise_scores",
    "person_key",
]
