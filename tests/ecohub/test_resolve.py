"""Cross-portal entity resolution: keys, rules, namesakes, evidence, overrides, provenance."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from ecohub.resolve import add_override, base_key, name_key, person_key, resolve
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
    """An organization that says only what the case gives it (no e-mail, phone or address)."""
    fields = {"email_token": None, "phone_token": None, "address": None, "english_name": None}
    fields.update(extra)
    data = sample_data(
        "organization",
        portal,
        sid,
        name=name,
        match_key=name_key(name) or "",
        name_as_served=name,
        tax_code=tax,
        **fields,
    )
    stream = {"techport": "suppliers"}.get(portal, "organizations")
    return make_event("organization", sid, data, portal=portal, stream=stream)


def _lab(sid, name, parent_key, parent_name, **extra):
    fields = {"email_token": None, "phone_token": None, "address": None, "english_name": None}
    fields.update(extra)
    data = sample_data(
        "organization",
        "stinet",
        f"lab-{sid}",
        name=name,
        match_key=name_key(name) or "",
        name_as_served=name,
        tax_code=None,
        org_kind="laboratory",
        parent={"key": parent_key, "name": parent_name},
        **fields,
    )
    return make_event("organization", f"lab-{sid}", data, portal="stinet", stream="laboratories")


def _person(portal, sid, name, org_name, email_token=None, phone_token=None, org_key=None):
    data = sample_data(
        "person",
        portal,
        sid,
        email_token=email_token,
        phone_token=phone_token,
        name={"full_name": name, "titles": [], "as_served": name},
        organization={"key": org_key, "name": org_name},
    )
    return make_event("person", sid, data, portal=portal)


def _token(n):
    return "hmac:sha256:" + f"{n:02x}" * 32


def _address(street):
    return {
        "text": f"{street}, TP.HCM",
        "street": street,
        "ward": None,
        "district": None,
        "city": "Thành phố Hồ Chí Minh",
    }


def _typo(code):
    return {
        "text": code,
        "valid": False,
        "value": None,
        "parent": None,
        "branch": None,
        "reason": "check digit (10th digit) does not match the first nine digits",
    }


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


VALID = "0300123456"  # check digit valid
TYPO = "0300128456"  # one digit off, check digit fails
CENTER = "Trung tâm Chuyển giao Công nghệ"
NAMESAKE_CASES = {
    # case: (events, expected groups of source ids, rule that joined the second record)
    "namesake centers with different tax codes and e-mails stay apart": (
        [
            _org("stinet", "1", CENTER, _tax("0300123456"), email_token=_token(1)),
            _org("hoip", "2", CENTER, _tax("0312345678"), email_token=_token(2)),
        ],
        [["1"], ["2"]],
        None,
    ),
    "a name-only record next to two namesakes joins neither": (
        [
            _org("stinet", "1", CENTER, _tax("0300123456"), email_token=_token(1)),
            _org("hoip", "2", CENTER, _tax("0312345678"), email_token=_token(2)),
            _org("techport", "3", CENTER, None),
        ],
        [["1"], ["2"], ["3"]],
        None,
    ),
    "a name-only record joins the one namesake its street agrees with": (
        [
            _org("stinet", "1", CENTER, _tax("0300123456"), address=_address("268 Lý Thường Kiệt")),
            _org("hoip", "2", CENTER, _tax("0312345678"), address=_address("12 Nguyễn Văn Bảo")),
            _org("techport", "3", CENTER, None, address=_address("268 Lý Thường Kiệt")),
        ],
        [["1", "3"], ["2"]],
        "name",
    ),
    "a one-digit tax typo joins when the name agrees": (
        [
            _org("stinet", "1", "Công ty TNHH Sao Việt", _tax(VALID)),
            _org("techport", "2", "Cty TNHH Sao Việt", _typo(TYPO)),
        ],
        [["1", "2"]],
        "tax_code_typo",
    ),
    "a one-digit tax typo with nothing else agreeing stays apart": (
        [
            _org("stinet", "1", "Công ty TNHH Sao Việt", _tax(VALID), email_token=_token(1)),
            _org("techport", "2", "Công ty TNHH Sao Mai", _typo(TYPO), email_token=_token(2)),
        ],
        [["1"], ["2"]],
        None,
    ),
    "an English-name record joins its Vietnamese twin on e-mail token and street": (
        [
            _org(
                "stinet",
                "1",
                "Trường Đại học Bách khoa",
                None,
                email_token=_token(7),
                address=_address("268 Lý Thường Kiệt"),
            ),
            _org(
                "techport",
                "2",
                "Ho Chi Minh City University of Technology",
                _tax(VALID),
                email_token=_token(7),
                address=_address("268 Lý Thường Kiệt"),
            ),
        ],
        [["1", "2"]],
        "email_token",
    ),
    "the same e-mail does not join two different valid tax codes": (
        [
            _org("stinet", "1", "Công ty TNHH Sao Việt", _tax("0300123456"), email_token=_token(3)),
            _org("hoip", "2", "Công ty TNHH Sao Mai", _tax("0312345678"), email_token=_token(3)),
        ],
        [["1"], ["2"]],
        None,
    ),
}


@pytest.mark.parametrize("case", list(NAMESAKE_CASES))
def test_organizations_use_all_the_evidence(warehouse, case):
    events, expected, rule = NAMESAKE_CASES[case]
    _load(warehouse, events)
    resolve(warehouse)
    groups, rules = _groups(warehouse, "organization")

    def sid(key):
        return key.rsplit(":", 1)[1]

    assert sorted(sorted(sid(k) for k in g) for g in groups) == expected
    joined = [r for r in rules.values() if r != "singleton"]
    assert (joined[0] if joined else None) == rule


LAB = "Phòng thí nghiệm Vi mạch"
BK, KHTN = "stinet:organization:1001", "stinet:organization:1002"


@pytest.mark.parametrize(
    ("labs", "expected"),
    [
        (  # the same name under two parents: two laboratories
            [_lab("1", LAB, BK, "Trường ĐH Bách khoa"), _lab("2", LAB, KHTN, "Trường ĐH KHTN")],
            [["lab-1"], ["lab-2"]],
        ),
        (  # listed twice under the same parent, once by id and once by its name only
            [
                _lab("1", LAB, BK, "Trường Đại học Bách khoa"),
                _lab("2", "PTN Vi mạch", None, "ĐH Bách khoa"),
            ],
            [["lab-1", "lab-2"]],
        ),
        (  # the same name, same parent, different lab e-mails: two laboratories
            [
                _lab("1", LAB, BK, "Trường ĐH Bách khoa", email_token=_token(1)),
                _lab("2", LAB, BK, "Trường ĐH Bách khoa", email_token=_token(2)),
            ],
            [["lab-1"], ["lab-2"]],
        ),
    ],
)
def test_laboratories_resolve_under_their_parent(warehouse, labs, expected):
    parents = [
        _org("stinet", "1001", "Trường Đại học Bách khoa", _tax("0300123456")),
        _org("stinet", "1002", "Trường Đại học KHTN", _tax("0312345678")),
    ]
    _load(warehouse, [*parents, *labs])
    summary = resolve(warehouse)
    groups, rules = _groups(warehouse, "laboratory")

    assert sorted(sorted(k.rsplit(":", 1)[1] for k in g) for g in groups) == expected
    assert summary.laboratories == len(labs) and summary.organizations == 2
    assert all(k.startswith("stinet:organization:lab-") for k in rules)


@pytest.mark.parametrize(
    ("persons", "expected"),
    [
        (  # namesakes at two organizations
            [
                _person("stinet", "P1", "Nguyễn Văn Hùng", "Trường Đại học Bách khoa"),
                _person("techport", "P2", "Nguyễn Văn Hùng", "Viện Sinh học Nhiệt đới"),
            ],
            [["P1"], ["P2"]],
        ),
        (  # namesakes at the same organization with different e-mails
            [
                _person("stinet", "P1", "Nguyễn Văn Hùng", "Trường ĐH Bách khoa", _token(1)),
                _person("hoip", "P2", "Nguyễn Văn Hùng", "ĐH Bách khoa", _token(2)),
            ],
            [["P1"], ["P2"]],
        ),
        (  # the same e-mail, the middle name left out
            [
                _person("stinet", "P1", "Nguyễn Văn Hùng", "Trường ĐH Bách khoa", _token(1)),
                _person("hoip", "P2", "Nguyễn Hùng", "Công ty TNHH Sao Mai", _token(1)),
            ],
            [["P1", "P2"]],
        ),
        (  # the same phone and name, affiliation written with and without its parent
            [
                _person("stinet", "P1", "Lê Thị Lan", CENTER, None, _token(9)),
                _person("techport", "P2", "Lê Thị Lan", f"{CENTER} - Trường ĐH Bách khoa"),
            ],
            [["P1", "P2"]],
        ),
    ],
)
def test_experts_namesakes_are_not_merged(warehouse, persons, expected):
    _load(warehouse, persons)
    resolve(warehouse)
    groups, _ = _groups(warehouse, "person")

    assert sorted(sorted(k.rsplit(":", 1)[1] for k in g) for g in groups) == expected


def test_every_link_keeps_its_evidence(warehouse):
    _load(
        warehouse,
        [
            _org("stinet", "1", "Công ty TNHH Sao Việt", _tax(VALID), email_token=_token(5)),
            _org("techport", "2", "Cty TNHH Sao Việt", _typo(TYPO), phone_token=_token(6)),
        ],
    )
    resolve(warehouse)
    with warehouse.connect() as conn:
        row = (
            conn.execute(
                select(entity_link).where(entity_link.c.entity_key == "techport:organization:2")
            )
            .mappings()
            .one()
        )

    assert (row["rule"], row["score"]) == ("tax_code_typo", 0.93)
    (link,) = row["evidence"]["links"]
    assert link["with"] == "stinet:organization:1"
    assert (link["tax_code_served"], link["tax_code"]) == (TYPO, VALID)
    assert link["agree"] == {"name": "sao viet"}
    with warehouse.connect() as conn:
        mart = conn.execute(
            text(
                "SELECT rule, evidence, member_count FROM mart_entity_links WHERE entity_key = :k"
            ),
            {"k": "techport:organization:2"},
        ).one()
    assert (mart.rule, mart.member_count) == ("tax_code_typo", 2)
    assert json.loads(mart.evidence)["links"][0]["tax_code"] == VALID


@pytest.mark.parametrize(
    ("served", "key"),
    [
        ("Trung tâm Chuyển giao Công nghệ - Trường ĐH Bách khoa", "chuyen giao cong nghe"),
        ("Trung tâm Chuyển giao Công nghệ thuộc Viện Sinh học", "chuyen giao cong nghe"),
        ("Trường Đại học Bách khoa – ĐHQG-HCM", "bach khoa"),
        ("Trường ĐH Bách khoa ĐHQG TP.HCM", "bach khoa"),
    ],
)
def test_base_key_drops_the_parent_and_the_city(served, key):
    assert base_key(served) == key


def test_report_counts_laboratories_as_their_own_kind(warehouse):
    from ecohub.report.data import _resolution

    _load(
        warehouse,
        [
            _org("stinet", "1001", "Trường Đại học Bách khoa", _tax("0300123456")),
            _lab("1", LAB, BK, "Trường ĐH Bách khoa"),
            _lab("2", "PTN Vi mạch", None, "ĐH Bách khoa"),
        ],
    )
    resolve(warehouse)
    with warehouse.connect() as conn:
        rows = {r["kind"]: r for r in _resolution(conn)}

    lab, org = rows["laboratory"], rows["organization"]
    assert (lab["golden"], lab["links"], lab["source_entities"], lab["unlinked"]) == (1, 2, 2, 0)
    assert (org["golden"], org["links"], org["source_entities"]) == (1, 1, 1)


def test_a_phone_that_did_not_parse_is_no_evidence():
    from ecohub.resolve import features

    unparsed = {"field": "phone_token", "reason": "not a valid number", "value": None}
    data = {"name": "Công ty TNHH Sao Việt", "phone_token": _token(4), "issues": [unparsed]}
    assert features("organization", "k", "techport", data).phone_token is None
    assert features("organization", "k", "techport", {**data, "issues": []}).phone_token
