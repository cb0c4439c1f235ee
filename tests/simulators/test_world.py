"""The shared world and its mess: fair entity resolution, invariants, and the noise helpers."""

from __future__ import annotations

import random
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from stdnum.vn import mst

import simulators
from simulators.noise import fold, make_tax_code, messy, money_text, show_tax
from simulators.world import get_world

sys.path.insert(0, str(Path(__file__).parent))
from er_reference import cluster, evidence, pairwise_scores


def er_records(scale: str, *, with_domains: bool = True) -> list[dict]:
    out = []
    portals = {p: simulators.build_portal(p, scale=scale) for p in simulators.portals()}
    for portal, resource in (
        ("stinet", "organizations"),
        ("stinet", "experts"),
        ("techport", "nha-cung-cap"),
        ("techport", "tu-van"),
        ("hoip", "organizations"),
    ):
        res = portals[portal].resources[resource]
        for i in range(len(res.state)):
            rec = res.build(i)
            mail = None
            if resource == "experts":
                keys = evidence(
                    "per",
                    rec["full_name"],
                    email=rec["email"],
                    affiliation=rec["organization"]["name"],
                )
            elif resource == "tu-van" and rec["loai"] == "Chuyên gia":
                keys = evidence(
                    "per", rec["ten"], email=rec["email"], affiliation=rec["to_chuc_cong_tac"]
                )
            else:
                name = rec.get("name") or rec.get("ten_don_vi") or rec.get("ten")
                tax = rec.get("tax_code") or rec.get("ma_so_thue") or rec.get("tax_id")
                mail = rec["email"] if with_domains else None
                keys = evidence("org", name, tax, mail)
            out.append({"keys": keys, "wid": res.entity(i)})
    return out


@pytest.mark.parametrize("scale", ["small", "real"])
def test_careful_matcher_reaches_095_precision_and_recall(scale: str) -> None:
    records = er_records(scale)
    precision, recall = pairwise_scores([r["wid"] for r in records], cluster(records))
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)
    shared = Counter(r["wid"] for r in records)
    assert sum(1 for n in shared.values() if n > 1) >= len(shared) // 10, (
        "entities must recur across portals"
    )


def test_names_alone_are_not_enough() -> None:
    """Hard but fair: without tax codes and e-mail domains a name matcher loses recall."""
    records = [
        {
            "keys": [k for k in r["keys"] if not k.startswith(("tax:", "dom:", "mail:"))],
            "wid": r["wid"],
        }
        for r in er_records("small", with_domains=False)
    ]
    _, recall = pairwise_scores([r["wid"] for r in records], cluster(records))
    assert recall < 0.95


def test_world_invariants_that_make_matching_fair() -> None:
    world = get_world(42, "real")
    cores = Counter((fold(o.core), o.parent) for o in world.orgs)
    assert max(cores.values()) == 1
    assert len({o.tax[:10] for o in world.orgs}) == len(world.orgs)
    assert len({o.domain for o in world.orgs}) == len(world.orgs)
    assert all(mst.is_valid(o.tax.replace("-", "")) for o in world.orgs)
    phones = [o.phone for o in world.orgs] + [p.phone for p in world.persons]
    phones += [lab.phone for lab in world.labs]
    assert len(set(phones)) == len(phones)
    emails = [p.email for p in world.persons] + [lab.email for lab in world.labs]
    assert len(set(emails)) == len(emails)
    assert len(
        {(fold(p.name), fold(world.orgs[p.affiliation].core)) for p in world.persons}
    ) == len(world.persons)
    assert len({(lab.topic, lab.parent) for lab in world.labs}) == len(world.labs)


def test_world_has_namesakes_at_realistic_rates() -> None:
    """Issue 14: a handful of family names cover most people; centers and labs share names."""
    world = get_world(42, "real")
    names = Counter(fold(p.name) for p in world.persons)
    sharing = sum(n for n in names.values() if n > 1)
    assert sharing >= len(world.persons) // 5, sharing
    surnames = Counter(p.surname for p in world.persons)
    assert sum(n for _, n in surnames.most_common(5)) >= 0.6 * len(world.persons)
    same_field = Counter((fold(p.name), p.field) for p in world.persons)
    assert max(same_field.values()) >= 2
    parents_of: dict[str, set[int | None]] = {}
    for o in world.orgs:
        parents_of.setdefault(fold(o.core), set()).add(o.parent)
    assert sum(1 for ps in parents_of.values() if len(ps) > 1) >= 20
    lab_parents: dict[str, set[int]] = {}
    for lab in world.labs:
        lab_parents.setdefault(lab.topic, set()).add(lab.parent)
    assert max(len(ps) for ps in lab_parents.values()) >= 5


@pytest.mark.parametrize(
    ("amount", "allowed"),
    [
        (
            2_000_000_000,
            {
                "2 tỷ đồng",
                "2 tỷ",
                "2 tỷ VNĐ",
                "2.000.000.000 đ",
                "2.000.000.000 VNĐ",
                "2.000.000.000 đồng",
                "2.000.000.000",
            },
        ),
        (
            1_500_000_000,
            {
                "1,5 tỷ",
                "1,5 tỷ đồng",
                "1 tỷ 500 triệu",
                "1.500.000.000 đ",
                "1.500.000.000 VNĐ",
                "1.500.000.000 đồng",
                "1.500.000.000",
            },
        ),
        (
            400_000_000,
            {
                "400 triệu VNĐ",
                "400 triệu",
                "400 triệu đồng",
                "400tr",
                "400.000.000 đ",
                "400.000.000 VNĐ",
                "400.000.000 đồng",
                "400.000.000",
            },
        ),
        (None, {"Thỏa thuận", "Liên hệ", "Thương lượng"}),
    ],
)
def test_money_text_forms(amount: int | None, allowed: set[str]) -> None:
    r = random.Random(1)
    seen = {money_text(amount, r) for _ in range(200)}
    assert seen <= allowed and len(seen) >= 3


@pytest.mark.parametrize("mode", ["ok", "fmt", "typo", "missing"])
def test_tax_code_display_modes(mode: str) -> None:
    r = random.Random(3)
    for branch in (False, True):
        code = make_tax_code(r, branch=branch)
        shown = show_tax(code, r, mode)
        digits = re.sub(r"\D", "", shown or "")
        if mode in ("ok", "fmt"):
            assert digits == code.replace("-", "") and mst.is_valid(digits)
        elif mode == "typo":
            assert len(digits) == len(code.replace("-", "")) and not mst.is_valid(digits)
        else:
            assert shown in (None, "", "Đang cập nhật")


def test_messy_text_keeps_the_meaning() -> None:
    import html

    text = "Trung tâm Ứng dụng Tiến bộ KH&CN TP.HCM"
    r = random.Random(5)
    variants = {messy(text, r, level=3.0) for _ in range(300)}
    assert len(variants) > 5
    assert any(
        unicodedata.is_normalized("NFD", v) and not unicodedata.is_normalized("NFC", v)
        for v in variants
    )
    assert any("&amp;" in v for v in variants)
    for v in variants:
        clean = " ".join(
            unicodedata.normalize("NFC", html.unescape(v)).replace("\u00a0", " ").split()
        )
        assert clean == text
