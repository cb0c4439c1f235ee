"""Table-driven tests of the generic normalizers with real-looking Vietnamese values."""

from __future__ import annotations

import unicodedata

import pytest

from ecohub.errors import NormalizationError
from ecohub.normalize.addresses import parse_address
from ecohub.normalize.dates import epoch_ms, parse_date
from ecohub.normalize.fields import map_field, map_fields
from ecohub.normalize.money import parse_money
from ecohub.normalize.names import split_person_name
from ecohub.normalize.orgnames import parse_org_name
from ecohub.normalize.phones import normalize_phone
from ecohub.normalize.taxcodes import normalize_tax_code
from ecohub.normalize.text import clean_text, fold

NFD = unicodedata.normalize("NFD", "Viện Sinh học Nhiệt đới")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (NFD, "Viện Sinh học Nhiệt đới"),
        ("Giải pháp tưới tiết kiệm n&#432;ớc", "Giải pháp tưới tiết kiệm nước"),
        ("Nghi&#7879;m thu &amp;amp; b&agrave;n giao", "Nghiệm thu & bàn giao"),
        ("  Trung\u00a0tâm   Thông tin\u200b \n KH&amp;CN ", "Trung tâm Thông tin KH&CN"),
        ("<p>Hệ thống&nbsp;IoT</p><br/>quan trắc", "Hệ thống IoT quan trắc"),
        ("&lt;b&gt;Robot&lt;/b&gt; tự hành", "Robot tự hành"),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected
    assert unicodedata.is_normalized("NFC", clean_text(raw))


@pytest.mark.parametrize(
    ("a", "b"), [("phường Xuân Hòa", "PHƯỜNG XUÂN HOÀ"), ("Đại học Bách khoa", "dai hoc bach khoa")]
)
def test_fold_ignores_accents_case_and_tone_placement(a: str, b: str) -> None:
    assert fold(a) == fold(b)


@pytest.mark.parametrize(
    ("raw", "name", "titles"),
    [
        ("PGS.TS. Nguyễn Văn An", "Nguyễn Văn An", ["PGS", "TS"]),
        ("PGS. TS Lê Hoàng Thái", "Lê Hoàng Thái", ["PGS", "TS"]),
        ("GS.TSKH Trần Bình", "Trần Bình", ["GS", "TSKH"]),
        ("Giáo sư, Tiến sĩ Võ Thị Hồng", "Võ Thị Hồng", ["GS", "TS"]),
        ("Phó Giáo sư Tiến sĩ Hồ Văn Em", "Hồ Văn Em", ["PGS", "TS"]),
        ("ThS Lê Thị Cúc, PhD", "Lê Thị Cúc", ["ThS", "TS"]),
        ("Th.S Phạm Minh", "Phạm Minh", ["ThS"]),
        ("KS. Trương Định", "Trương Định", ["KS"]),
        ("TS.BS. Võ Phúc", "Võ Phúc", ["TS", "BS"]),
        ("BSCKII Lý Thu", "Lý Thu", ["BSCKII"]),
        ("Nguyễn Văn Hải (ThS)", "Nguyễn Văn Hải", ["ThS"]),
        ("Trần Thị Bích Ngọc", "Trần Thị Bích Ngọc", []),
    ],
)
def test_split_person_name(raw: str, name: str, titles: list[str]) -> None:
    parsed = split_person_name(raw)
    assert (parsed.full_name, parsed.titles, parsed.as_served) == (name, titles, raw)


@pytest.mark.parametrize("raw", ["", "   ", "PGS.TS.", "ThS"])
def test_split_person_name_rejects_names_without_a_name(raw: str) -> None:
    with pytest.raises(NormalizationError, match="name"):
        split_person_name(raw)


@pytest.mark.parametrize(
    ("raw", "value", "precision", "millis"),
    [
        ("05/03/2025 14:30", "2025-03-05T07:30:00Z", "instant", 1741159800000),
        ("2025-03-05T14:30:00+07:00", "2025-03-05T07:30:00Z", "instant", 1741159800000),
        ("2026-03-01T03:12:40Z", "2026-03-01T03:12:40Z", "instant", 1772334760000),
        ("2026-03-01 10:00:00", "2026-03-01T03:00:00Z", "instant", 1772334000000),
        ("12/05/1979", "1979-05-12", "day", 295290000000),
        ("ngày 5 tháng 3 năm 2025", "2025-03-05", "day", 1741107600000),
        ("03/2025", "2025-03", "month", 1740762000000),
        ("2025", "2025", "year", 1735664400000),
    ],
)
def test_parse_date(raw: str, value: str, precision: str, millis: int) -> None:
    parsed = parse_date(raw)
    assert (parsed.value, parsed.precision, parsed.text) == (value, precision, raw)
    assert epoch_ms(parsed) == millis


@pytest.mark.parametrize(
    ("raw", "why"),
    [("31/02/2024", "day is out of range"), ("2024-13-45", "month must be in"),
     ("hôm qua", "unrecognised"), ("01/01/0005", "year outside")],
)
def test_parse_date_rejects_impossible_dates(raw: str, why: str) -> None:
    with pytest.raises(NormalizationError, match=why):
        parse_date(raw)


@pytest.mark.parametrize(
    ("raw", "status", "amount", "maximum", "currency"),
    [
        ("2 tỷ đồng", "exact", 2_000_000_000, None, "VND"),
        ("1,5 tỷ", "exact", 1_500_000_000, None, "VND"),
        ("1,5 tỷ đồng", "exact", 1_500_000_000, None, "VND"),
        ("400 triệu VNĐ", "exact", 400_000_000, None, "VND"),
        ("850 triệu", "exact", 850_000_000, None, "VND"),
        ("2.000.000.000 đ", "exact", 2_000_000_000, None, "VND"),
        ("2,000,000,000 VND", "exact", 2_000_000_000, None, "VND"),
        ("1 tỷ 200 triệu", "exact", 1_200_000_000, None, "VND"),
        ("1.234,5 triệu", "exact", 1_234_500_000, None, "VND"),
        ("500k", "exact", 500_000, None, "VND"),
        ("Từ 500 triệu đến 1 tỷ", "range", 500_000_000, 1_000_000_000, "VND"),
        ("1 - 2 tỷ", "range", 1_000_000_000, 2_000_000_000, "VND"),
        ("Thỏa thuận", "negotiable", None, None, "VND"),
        ("Thoả thuận", "negotiable", None, None, "VND"),
        ("Liên hệ", "negotiable", None, None, "VND"),
        ("50.000 USD", "foreign_currency", None, None, "USD"),
    ],
)
def test_parse_money(raw: str, status: str, amount: int | None, maximum: int | None,
                     currency: str) -> None:
    money = parse_money(raw)
    assert (money.status, money.amount_vnd, money.max_amount_vnd, money.currency, money.text) == (
        status, amount, maximum, currency, raw)


@pytest.mark.parametrize(
    ("raw", "why"),
    [("hai tỷ", "no amount"), ("2 tỷ 500", "decreasing units"), ("1.2.3 triệu", "grouping"),
     ("", "empty")],
)
def test_parse_money_says_why_it_cannot_read(raw: str, why: str) -> None:
    with pytest.raises(NormalizationError, match=why):
        parse_money(raw)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0903 123 456", "+84903123456"),
        ("090.312.3456", "+84903123456"),
        ("(028) 3822 1234", "+842838221234"),
        ("028 3897 8390", "+842838978390"),
        ("+84 28 3932 0016", "+842839320016"),
        ("84903123456", "+84903123456"),
        ("0168 123 4567", "+84381234567"),  # 2018 renumbering: 0168 -> 038
        ("0129 888 7777", "+84828887777"),  # 0129 -> 082
    ],
)
def test_normalize_phone(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12345", "0283822123", "không có", "0903 12"])
def test_normalize_phone_rejects_invalid_numbers(raw: str) -> None:
    with pytest.raises(NormalizationError, match=r"phone|number"):
        normalize_phone(raw)


@pytest.mark.parametrize(
    ("raw", "valid", "value", "branch", "reason"),
    [
        ("0100233488", True, "0100233488", None, None),
        ("0314409058-002", True, "0314409058002", "002", None),
        ("0312 68 78 78 - 001", True, "0312687878001", "001", None),
        ("0100233480", False, None, None, "check digit"),
        ("12345", False, None, None, "10 digits"),
        ("031440905A", False, None, None, "only digits"),
        ("0314409058-000", False, None, None, "branch suffix"),
    ],
)
def test_normalize_tax_code(raw: str, valid: bool, value: str | None, branch: str | None,
                            reason: str | None) -> None:
    code = normalize_tax_code(raw)
    assert (code.valid, code.value, code.branch, code.text) == (valid, value, branch, raw)
    if reason is None:
        assert code.reason is None
    else:
        assert code.reason is not None and reason in code.reason


@pytest.mark.parametrize(
    ("portal", "label", "code", "oecd"),
    [
        ("stinet", "Khoa học máy tính và thông tin", "102", "1.2"),
        ("stinet", "Khoa học kỹ thuật và công nghệ", "2", "2"),
        ("stinet", "KHOA HỌC TỰ NHIÊN", "1", "1"),
        ("stinet", "Dược học", "303", "3.1"),
        ("techport", "Công nghệ thông tin", "102", "1.2"),
        ("techport", "Nông nghiệp", "4", "4"),
        ("techport", "Y dược", "3", "3"),
        ("techport", "Môi trường", "207", "2.7"),
        ("hoip", "fintech", "502", "5.2"),
        ("hoip", "agritech", "401", "4.1"),
        ("hoip", "big_data", "102", "1.2"),
    ],
)
def test_map_field(portal: str, label: str, code: str, oecd: str) -> None:
    mapped = map_field(portal, label).to_dict()
    assert (mapped["code"], mapped["oecd_fos"], mapped["source_label"]) == (code, oecd, label)


def test_unknown_field_label_is_kept_unmapped() -> None:
    assert map_fields("techport", ["Phong thủy", "", None, "Phong thủy"]) == [
        map_field("techport", "Phong thủy")
    ]
    assert map_field("techport", "Phong thủy").to_dict()["code"] is None


@pytest.mark.parametrize(
    ("raw", "ward", "district", "scheme", "ward_2025"),
    [
        ("123 Trương Định, Phường 6, Quận 3, TP.HCM", "Phường 6", "Quận 3", "pre_2025",
         "Phường Xuân Hòa"),
        ("123 Trương Định, phường Xuân Hòa, TP. Hồ Chí Minh", "Phường Xuân Hòa", None,
         "post_2025", "Phường Xuân Hòa"),
        ("9/621 Xa lộ Hà Nội, Phường Linh Trung, TP. Thủ Đức, TP.HCM", "Phường Linh Trung",
         "Thành phố Thủ Đức", "pre_2025", None),
        ("268 Lý Thường Kiệt, P.14, Q.10, TP. Hồ Chí Minh", "Phường 14", "Quận 10", "pre_2025",
         None),
        ("12 Phạm Ngọc Thạch, Quận 3, TPHCM", None, "Quận 3", "pre_2025", None),
        ("Số 1 Võ Văn Ngân, Thủ Đức", None, None, "unknown", None),
    ],
)
def test_parse_address(raw: str, ward: str | None, district: str | None, scheme: str,
                       ward_2025: str | None) -> None:
    address = parse_address(raw)
    assert (address.ward, address.district, address.scheme, address.ward_2025, address.text) == (
        ward, district, scheme, ward_2025, raw)


def test_address_in_a_merged_province_gets_its_2025_province() -> None:
    address = parse_address("Đường 30/4, Phường Phú Hòa, TP. Thủ Dầu Một, Tỉnh Bình Dương")
    assert (address.province, address.province_2025, address.scheme) == (
        "Tỉnh Bình Dương", "Thành phố Hồ Chí Minh", "pre_2025")


@pytest.mark.parametrize(
    ("raw", "name", "legal_form", "key"),
    [
        ("Cty TNHH Nông nghiệp Công nghệ cao Minh Phát",
         "Công ty TNHH Nông nghiệp Công nghệ cao Minh Phát", "Công ty TNHH",
         "nong nghiep cong nghe cao minh phat"),
        ("CÔNG TY TNHH NÔNG NGHIỆP CÔNG NGHỆ CAO MINH PHÁT",
         "Công ty TNHH NÔNG NGHIỆP CÔNG NGHỆ CAO MINH PHÁT", "Công ty TNHH",
         "nong nghiep cong nghe cao minh phat"),
        ("CTCP Giải pháp Số Sài Gòn", "Công ty cổ phần Giải pháp Số Sài Gòn", "Công ty cổ phần",
         "giai phap so sai gon"),
        ("Trường ĐH Bách khoa", "Trường Đại học Bách khoa", "Trường Đại học", "bach khoa"),
        ("Viện Sinh học Nhiệt đới", "Viện Sinh học Nhiệt đới", "Viện", "sinh hoc nhiet doi"),
    ],
)
def test_parse_org_name(raw: str, name: str, legal_form: str, key: str) -> None:
    org = parse_org_name(raw)
    assert (org.name, org.legal_form, org.match_key, org.as_served) == (name, legal_form, key, raw)


@pytest.mark.parametrize("value", ["1741159800", "1741159800000", "2024010112", 1741159800])
def test_a_bare_number_is_never_read_as_unix_time(value: object) -> None:
    with pytest.raises(NormalizationError, match="Unix time is not guessed"):
        parse_date(value)


@pytest.mark.parametrize("entity_type", ["document", "organization", "person", "startup_project"])
def test_skeleton_is_every_schema_property_empty_and_fresh_each_time(entity_type: str) -> None:
    from ecohub.contract import entity_schema
    from ecohub.normalize.mapping import skeleton

    properties = entity_schema(entity_type)["properties"]
    first = skeleton(entity_type)
    assert list(first) == list(properties)  # the schema's order
    assert first == {name: [] if spec.get("type") == "array" else None
                     for name, spec in properties.items()}
    for value in first.values():
        if isinstance(value, list):
            value.append("mapped")  # a record fills its lists in place
    assert all(v in ([], None) for v in skeleton(entity_type).values())  # nothing shared


def _outcome(parse: object, text: str) -> object:
    """What a parser gives for ``text``: its result, or its NormalizationError's message."""
    try:
        return parse(text)  # type: ignore[operator]
    except NormalizationError as exc:
        return exc.message


@pytest.mark.parametrize("text", ["21/07/2019", "26/08/2020 00:37", "2016-01-11 03:58:21",
                                  "tháng 3/2025", "2016", "99/99/2020", "", "1717171717"])
def test_remembered_dates_are_the_parsed_ones(text: str) -> None:
    from ecohub.normalize.dates import _parse_date

    for _ in range(2):  # parsed, then remembered
        assert _outcome(parse_date, text) == _outcome(_parse_date, text)


@pytest.mark.parametrize("text", ["450.000.000 đồng", "1,5 tỷ", "Thỏa thuận", "50 USD", "abc"])
def test_remembered_money_is_the_parsed_one(text: str) -> None:
    from ecohub.normalize.money import _parse_money

    for _ in range(2):
        assert _outcome(parse_money, text) == _outcome(_parse_money, text)


@pytest.mark.parametrize("text", ["PGS.TS. Nguyễn Văn A", "ThS Lê C, PhD", "TS", "Ông Ích Khiêm"])
def test_remembered_names_are_the_split_ones(text: str) -> None:
    from ecohub.normalize.names import _split_person_name

    for _ in range(2):
        first = _outcome(split_person_name, text)
        assert first == _outcome(_split_person_name, text)
    if not isinstance(first, str):  # the shared result: to_dict hands out a copy of titles
        first.to_dict()["titles"].append("X")  # type: ignore[attr-defined]
        assert "X" not in split_person_name(text).titles
