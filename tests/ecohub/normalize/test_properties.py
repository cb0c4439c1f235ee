"""Property tests: the normalizers never crash on arbitrary input and are idempotent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ecohub.errors import NormalizationError
from ecohub.normalize import normalize
from ecohub.normalize.dates import parse_date
from ecohub.normalize.money import canonical_money_text, parse_money
from ecohub.normalize.names import split_person_name
from ecohub.normalize.phones import normalize_phone
from ecohub.normalize.taxcodes import normalize_tax_code
from ecohub.normalize.text import clean_text
from ecohub.records import SourceRecord

# Text that looks like portal data: Vietnamese letters, digits, separators, entities, tags.
VIET = st.text(
    alphabet=st.sampled_from(list("aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậềểễếệ"
                                  "ìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
                                  "ĐÂÊÔƠƯ0123456789 .,-/:;()+&#<>@\u00a0\u0301\u0323")),
    max_size=40,
)
ANY_TEXT = st.one_of(st.text(max_size=60), VIET)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@given(ANY_TEXT)
def test_clean_text_is_idempotent(value: str) -> None:
    once = clean_text(value)
    assert clean_text(once) == once


@given(ANY_TEXT)
def test_person_name_never_crashes_and_is_idempotent(value: str) -> None:
    try:
        name = split_person_name(value)
    except NormalizationError:
        return
    again = split_person_name(name.full_name)
    assert (again.full_name, again.titles) == (name.full_name, [])


MONEYISH = st.from_regex(r"\d{1,4}([.,]\d{3}){0,3}( tỷ| triệu| đ| VNĐ)?", fullmatch=True)


@given(st.one_of(ANY_TEXT, MONEYISH))
def test_money_never_crashes_and_is_idempotent(value: str) -> None:
    try:
        money = parse_money(value)
    except NormalizationError:
        return
    again = parse_money(canonical_money_text(money))
    assert (again.status, again.amount_vnd, again.max_amount_vnd, again.currency, again.amount) == (
        money.status, money.amount_vnd, money.max_amount_vnd, money.currency, money.amount)


@given(st.one_of(ANY_TEXT, st.from_regex(r"(\+84|0)[1-9]\d{8,9}", fullmatch=True)))
def test_phone_never_crashes_and_is_idempotent(value: str) -> None:
    try:
        e164 = normalize_phone(value)
    except NormalizationError:
        return
    assert normalize_phone(e164) == e164


@given(st.one_of(ANY_TEXT, st.from_regex(r"\d{10}(-\d{3})?", fullmatch=True)))
def test_tax_code_never_raises_and_is_idempotent(value: str) -> None:
    code = normalize_tax_code(value)
    if code.valid:
        assert code.value is not None
        assert normalize_tax_code(code.value).value == code.value
    else:
        assert code.reason


@given(ANY_TEXT)
def test_date_never_crashes_and_is_idempotent(value: str) -> None:
    try:
        parsed = parse_date(value)
    except NormalizationError:
        return
    assert parse_date(parsed.value).value == parsed.value


STREAMS = st.sampled_from([
    ("stinet", "documents"), ("stinet", "tasks"), ("stinet", "experts"),
    ("stinet", "laboratories"), ("stinet", "organizations"), ("techport", "cong-nghe"),
    ("techport", "nhu-cau"), ("techport", "nha-cung-cap"), ("techport", "tu-van"),
    ("techport", "tim-doi-tac"), ("hoip", "startup-projects"), ("hoip", "organizations"),
    ("hoip", "programs"), ("hoip", "challenges"), ("hoip", "support-applications"),
])


KNOWN_KEYS = st.sampled_from([
    "modified", "created", "revision", "name", "title", "full_name", "email", "phone", "fields",
    "field", "budget", "tax_code", "address", "founded_date", "host_organization", "organization",
    "datestamp", "metadata", "header", "dc:title", "dc:creator", "dc:date", "ngay_cap_nhat",
    "phien_ban", "ten_cong_nghe", "loai", "gia_tham_khao", "ma_nha_cung_cap", "tieu_de",
    "ten_don_vi", "ten", "ten_du_an", "updated_at", "version", "stage", "status", "founders",
    "company_name", "type", "project_id", "deleted_at", "linh_vuc", "dia_chi", "ma_so_thue",
])
DATES = st.sampled_from(["2026-03-01 10:00:00", "01/03/2026 09:40", "2026-03-02T10:00:00+07:00",
                         "2026-03-01T03:12:40Z", "31/02/2024"])


@settings(max_examples=400)
@given(STREAMS, st.dictionaries(st.one_of(KNOWN_KEYS, st.text(max_size=8)),
                                st.one_of(JSONISH, DATES), max_size=12), st.booleans())
def test_normalize_raises_only_normalization_error(stream: tuple[str, str], data: dict,
                                                   deleted: bool) -> None:
    record = SourceRecord(stream[0], stream[1], "1", data, deleted=deleted)
    try:
        normalize(record, pii_key=b"k")
    except NormalizationError:
        pass
