"""Cross-portal entity resolution: keys, rules, overrides, provenance, scoring."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ecohub.resolve import add_override, name_key, person_key, resolve, score_against_truth
from ecohub.warehouse import init_db
from ecohub.warehouse.history import apply_events
from ecohub.warehouse.tables import entity_link, golden_entity
from tests.fixtures.warehouse_sample import make_event, sample_data, sqlite_engine


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Công ty TNHH Giải pháp Phần mềm Sao Việt", "CTY TNHH GIẢI PHÁP PHẦN MỀM SAO VIỆT"),
        (
            "Cty TNHH Giải pháp Phần mềm Sao Việt",
            "Công ty Trách nhiệm hữu hạn Giải pháp Phần mềm Sao Việt",
        ),
        ("Trường Đại học Bách khoa - ĐHQG-HCM", "ĐH Bách khoa, Đại học Quốc gia TP.HCM"),
        (
            "Trung tâm Thông tin và Thống kê KH&CN TP.HCM",
            "TT Thông tin và Thống kê KH&CN Thành phố Hồ Chí Minh",
        ),
        ("Công ty Cổ phần Dược Sài Gòn", "CTCP Dược Sài Gòn"),
    ],
)
def test_name_variants_share_a_key(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Công ty TNHH Giải pháp Phần mềm Sao Việt", "Công ty TNHH Giải pháp Phần mềm Sao Mai"),
        ("Trường Đại học Bách khoa", "Trường Đại học Khoa học Tự nhiên"),
    ],
)
def test_different_organizations_keep_different_keys(a, b):
    assert name_key(a) != name_key(b)


@pytest.mark.parametrize(
    ("served", "key"),
    [
        ("PGS.TS. Nguyễn Văn Hùng", "nguyen van hung"),
        ("ThS Lê Thị Thu Hà", "le thi thu ha"),
        ("NGUYỄN VĂN HÙNG", "nguyen van hung"),
        ("Nguyen Van Hung", "nguyen van hung"),
    ],
)
def test_person_key_drops_titles_and_diacritics(served, key):
    assert person_key(served) == key


def _tax(code):
    return {
        "text": code,
        "valid": True,
        "value": code,
        "parent": code[:10],
        "branch": None,
        "reason": None,
    }


NO_TAX = None


@pytest.fixture
def warehouse(tmp_path):
    engine = sqlite_engine(tmp_path / "w.db")
    init_db(engine)
    return engine


def _org(portal, sid, name, tax, **extra):
    data = sample_data(
        "organization",
        portal,
        sid,
        name=name,
        match_key=name_key(name) or "",
        name_as_served=name,
        tax_code=tax,
        english_name=None,
        **extra,
    )
    stream = {"techport": "suppliers"}.get(portal, "organizations")
    return make_event("organization", sid, data, portal=portal, stream=stream)


def _person(portal, sid, name, org_name, email_token=None):
    data = sample_data(
        "person",
        portal,
        sid,
        email_token=email_token,
        name={"full_name": name, "titles": [], "as_served": name},
        organization={"key": None, "name": org_name},
    )
    return make_event("person", sid, data, portal=portal)


def _load(engine, events):
    with engine.begin() as conn:
        apply_events(conn, events)


def _groups(engine, kind):
    with engine.connect() as conn:
        rows = conn.execute(
            select(entity_link.c.golden_id, entity_link.c.entity_key, entity_link.c.rule).where(
                entity_link.c.kind == kind
            )
        ).all()
    by_golden = {}
    for gid, key, _ in rows:
        by_golden.setdefault(gid, []).append(key)
    return sorted(sorted(v) for v in by_golden.values()), {k: r for _, k, r in rows}


ORGS = [
    _org("stinet", "ST-ORG-1", "Trường Đại học Bách khoa - ĐHQG-HCM", _tax("0300123456")),
    _org("techport", "TP-NCC-9", "Ho Chi Minh City University of Technology", _tax("0300123456")),
    _org("hoip", "ORG-77", "ĐH Bách khoa, Đại học Quốc gia TP.HCM", NO_TAX),
    _org("techport", "TP-NCC-10", "Công ty TNHH Sao Việt", _tax("0312345678")),
    _org("hoip", "ORG-78", "Công ty TNHH Sao Mai", NO_TAX),
]


def test_organizations_link_by_tax_code_then_name(warehouse):
    _load(warehouse, ORGS)
    summary = resolve(warehouse)
    groups, rules = _groups(warehouse, "organization")

    assert groups == [
        [
            "hoip:organization:ORG-77",
            "stinet:organization:ST-ORG-1",
            "techport:organization:TP-NCC-9",
        ],
        ["hoip:organization:ORG-78"],
        ["techport:organization:TP-NCC-10"],
    ]
    assert rules["techport:organization:TP-NCC-9"] == "tax_code"
    assert rules["hoip:organization:ORG-77"] == "name"
    assert summary.organization_golden == 3


def test_golden_record_keeps_per_field_provenance(warehouse):
    _load(warehouse, ORGS)
    resolve(warehouse)
    with warehouse.connect() as conn:
        golden = (
            conn.execute(select(golden_entity).where(golden_entity.c.member_count == 3))
            .mappings()
            .one()
        )

    assert golden["portals"] == ["stinet", "techport", "hoip"]
    assert golden["tax_code"] == "0300123456"
    assert {p["portal"]: p["value"] for p in golden["provenance"]["name"]} == {
        "stinet": "Trường Đại học Bách khoa - ĐHQG-HCM",
        "techport": "Ho Chi Minh City University of Technology",
        "hoip": "ĐH Bách khoa, Đại học Quốc gia TP.HCM",
    }


def test_experts_link_by_email_token_or_name_at_the_same_organization(warehouse):
    token = "hmac:sha256:" + "c3" * 32
    _load(
        warehouse,
        [
            *ORGS,
            _person(
                "stinet", "EXP-1", "Nguyễn Văn Hùng", "Trường Đại học Bách khoa - ĐHQG-HCM", token
            ),
            _person("techport", "TV-5", "NGUYỄN VĂN HÙNG", "ĐH Bách khoa, Đại học Quốc gia TP.HCM"),
            _person("hoip", "P-9", "Nguyen Van Hung", "Công ty TNHH Sao Mai", token),
            _person("hoip", "P-10", "Nguyễn Văn Hùng", "Công ty TNHH Sao Việt"),
        ],
    )
    resolve(warehouse)
    groups, rules = _groups(warehouse, "person")

    assert groups == [
        ["hoip:person:P-10"],
        ["hoip:person:P-9", "stinet:person:EXP-1", "techport:person:TV-5"],
    ]
    assert (rules["hoip:person:P-9"], rules["techport:person:TV-5"]) == (
        "email_token",
        "name_affiliation",
    )


def test_overrides_split_and_merge_win_over_rules(warehouse):
    _load(warehouse, ORGS)
    add_override(
        warehouse,
        "organization",
        "split",
        "hoip:organization:ORG-77",
        reason="Khoa Điện, not the university",
        author="auditor@cesti.gov.vn",
    )
    add_override(
        warehouse,
        "organization",
        "merge",
        "hoip:organization:ORG-78",
        other_entity_key="techport:organization:TP-NCC-10",
        reason="same company renamed in 2024",
        author="auditor@cesti.gov.vn",
    )
    resolve(warehouse)
    groups, rules = _groups(warehouse, "organization")

    assert groups == [
        ["hoip:organization:ORG-77"],
        ["hoip:organization:ORG-78", "techport:organization:TP-NCC-10"],
        ["stinet:organization:ST-ORG-1", "techport:organization:TP-NCC-9"],
    ]
    assert (rules["hoip:organization:ORG-77"], rules["hoip:organization:ORG-78"]) == (
        "override:split",
        "override:merge",
    )


def test_score_against_truth_counts_pairs(warehouse):
    _load(warehouse, ORGS)
    resolve(warehouse)
    truth = {
        "stinet": {"organizations": {"ST-ORG-1": "W-ORG-000001"}},
        "techport": {"nha-cung-cap": {"TP-NCC-9": "W-ORG-000001", "TP-NCC-10": "W-ORG-000002"}},
        "hoip": {"organizations": {"ORG-77": "W-ORG-000001", "ORG-78": "W-ORG-000002"}},
    }
    score = score_against_truth(warehouse, truth)["organization"]

    assert (score["true_pairs"], score["predicted_pairs"], score["correct_pairs"]) == (4, 3, 3)
    assert (score["precision"], score["recall"]) == (1.0, 0.75)
