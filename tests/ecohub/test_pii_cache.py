"""The remembered phone scan answers exactly as the matcher does, first call or repeated."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecohub.normalize.pii import (
    _BARE_NUMBER,
    _DAY_FIRST,
    _TIMESTAMP,
    _cached_phones,
    _phone_spans,
    _phones,
    find_clear_pii,
    redact_text,
)

KEY = b"test-pii-key"
_PIECES = st.sampled_from([
    "0903 123 456", "+84 28 3932 0016", "(028) 3932 0016", "0316118529", "2020-12-02",
    "02/12/2015", "Nghị quyết 20/2023/NQ-HĐND", "ĐT: ", " hoặc ", "x", "٠٩٠٣١٢٣٤٥٦", "+",
    "https://stinet.gov.vn/tai-lieu/1234", "+49 30 1234", "+683 4002", "0", "(0", "(+",
    "9786040903123",
])
_TEXT = st.lists(_PIECES | st.text(alphabet="0123456789 +()-./", max_size=12), max_size=6).map(
    "".join
)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_remembered_scan_equals_the_matcher(text: str) -> None:
    expected = list(_phone_spans(text))
    assert list(_phones(text)) == expected
    assert list(_phones(text)) == expected  # second call: from the cache for short strings


def test_short_repeats_are_remembered_and_long_text_is_not() -> None:
    _cached_phones.cache_clear()
    short, long = "ĐT: 0903 123 456", "Liên hệ 0903 123 456. " + "Mô tả dài. " * 20
    for _ in range(3):
        assert [e164 for *_, e164 in _phones(short)] == ["+84903123456"]
        assert [e164 for *_, e164 in _phones(long)] == ["+84903123456"]
    info = _cached_phones.cache_info()
    assert (info.hits, info.misses, info.currsize) == (2, 1, 1)


def test_scanner_and_redaction_still_find_phones_when_remembered() -> None:
    value = {"a": "gọi 0903 123 456", "b": ["gọi 0903 123 456"], "c": "2020-12-02"}
    for _ in range(2):
        assert [(f.path, f.kind) for f in find_clear_pii(value)] == [
            ("$.a", "phone"), ("$.b[0]", "phone")]
        redacted = redact_text("gọi 0903 123 456", KEY)
        assert redacted is not None and "0903" not in redacted and "hmac:sha256:" in redacted


_TIMESTAMPS = st.from_regex(_TIMESTAMP, fullmatch=True)


@settings(max_examples=2000, deadline=None)
@given(_TIMESTAMPS)
def test_timestamps_answered_without_the_matcher_hold_no_phone(text: str) -> None:
    """The shortcut for ISO dates and timestamps gives the matcher's own answer."""
    assert list(_phone_spans(text)) == []
    assert list(_phones(text)) == []


def test_a_phone_next_to_a_timestamp_is_still_found() -> None:
    assert list(_phones("2026-03-01T03:12:40Z")) == []
    assert [e164 for *_, e164 in _phones("2026-03-01T03:12:40Z 0903 123 456")] == [
        "+84903123456"
    ]
    assert find_clear_pii({"updated": "2026-03-01T03:12:40Z", "note": "0903 123 456"}) != []


def test_the_fewest_digits_a_kept_number_has_follows_from_the_metadata() -> None:
    """_phones skips texts with fewer digits than _MIN_PHONE_DIGITS: no number the scanner
    keeps (starting with "+", or "0" for a Vietnamese national number) has fewer."""
    from phonenumbers import PhoneMetadata
    from phonenumbers.phonenumberutil import (
        COUNTRY_CODES_FOR_NON_GEO_REGIONS,
        SUPPORTED_REGIONS,
    )

    from ecohub.normalize.pii import _MIN_PHONE_DIGITS

    def shortest(metadata: PhoneMetadata) -> int:
        return min(n for n in metadata.general_desc.possible_length if n > 0)

    international = [len(str(m.country_code)) + shortest(m) for m in (
        *(PhoneMetadata.metadata_for_region(r) for r in SUPPORTED_REGIONS),
        *(PhoneMetadata.metadata_for_nongeo_region(c) for c in COUNTRY_CODES_FOR_NON_GEO_REGIONS),
    )]
    national = 1 + shortest(PhoneMetadata.metadata_for_region("VN"))  # the leading "0"
    assert _MIN_PHONE_DIGITS <= min(*international, national)
    assert min(international) == _MIN_PHONE_DIGITS  # not needlessly low either
    assert [e164 for *_, e164 in _phones("ĐT +49 30 1234 ")] == list(
        e164 for *_, e164 in _phone_spans("ĐT +49 30 1234 "))


_PHONES_IN_HEX = ["0903123456", "0912345678", "02839320016", "84903123456", "00849031234"]
_HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
_DIGIT_HEAVY = st.text(alphabet="0123456789" * 6 + "abcdef", min_size=64, max_size=64)


@st.composite
def _planted(draw: st.DrawFn) -> str:
    """64 hex digits with a valid phone number's digits planted at the start, the end or in
    between, next to letters or digits."""
    phone = draw(st.sampled_from(_PHONES_IN_HEX))
    filler = draw(st.sampled_from(["0", "a", "f", "9"]))
    at = draw(st.sampled_from([0, 64 - len(phone), draw(st.integers(0, 64 - len(phone)))]))
    return (filler * at + phone + filler * 64)[:64]


@settings(max_examples=1000, deadline=None)
@given(_HEX | _DIGIT_HEAVY | _planted() | st.sampled_from(["0" * 64, "0903123456" * 6 + "0903"]))
def test_tokens_answered_without_the_matcher_hold_no_phone(hex_digits: str) -> None:
    """The shortcut for tokens gives the matcher's own answer, digit runs next to the ":"
    and at the end of the token included."""
    from ecohub.normalize.pii import _TOKEN, TOKEN_PREFIX

    token = TOKEN_PREFIX + hex_digits
    assert _TOKEN.fullmatch(token)
    assert list(_phone_spans(token)) == []
    assert list(_phones(token)) == []


def test_a_token_shaped_text_with_more_around_it_still_goes_to_the_matcher() -> None:
    from ecohub.normalize.pii import TOKEN_PREFIX, tokenize

    token = tokenize("+84903123456", KEY)
    for text in (f"{token} 0903 123 456", f"0903 123 456 {token}", TOKEN_PREFIX + "0903123456",
                 f"{token}\n0903 123 456"):
        assert list(_phones(text)) == list(_phone_spans(text)) != []


@settings(max_examples=3000, deadline=None)
@given(st.from_regex(_TIMESTAMP, fullmatch=True) | st.from_regex(_DAY_FIRST, fullmatch=True))
def test_dates_and_times_answered_without_the_matcher_hold_no_phone(text: str) -> None:
    """ISO timestamps with a space and day-first dates with a time: the matcher's own answer."""
    assert list(_phone_spans(text)) == []
    assert list(_phones(text)) == []


@pytest.mark.parametrize("text", [
    "26/08/2020 00:37", "01/01/2016 00:58:09", "1/2/2016", "31/12/2099 23:59", "09/09/2009 09:09",
    "2016-01-11 03:58:21", "2016-01-11 00:00:00.001+07:00", "2016-01-01",
])
def test_the_portals_date_shapes_hold_no_phone(text: str) -> None:
    assert _TIMESTAMP.fullmatch(text) or _DAY_FIRST.fullmatch(text)
    assert list(_phone_spans(text)) == []


def test_a_phone_next_to_a_day_first_date_is_still_found() -> None:
    for text in ("26/08/2020, ĐT 0903123456", "ĐT 0903 123 456, 26/08/2020",
                 "26/08/2020 00:37, ĐT 0903123456"):
        assert not _DAY_FIRST.fullmatch(text)
        assert list(_phones(text)) == list(_phone_spans(text)) != []


@settings(max_examples=2000, deadline=None)
@given(st.from_regex(_BARE_NUMBER, fullmatch=True)
       | st.sampled_from(["9786048012847", "84903123456", "903123456", "2839320016"])
       | st.builds(lambda head, tail: head + tail, st.sampled_from("123456789"),
                   st.text(alphabet="0123456789", max_size=63)))
def test_bare_numbers_answered_without_the_matcher_hold_no_phone(text: str) -> None:
    """Digits alone, not starting with "0" (ISBN-13s): the matcher keeps nothing in them."""
    assert _BARE_NUMBER.fullmatch(text)
    assert list(_phone_spans(text)) == []
    assert list(_phones(text)) == []


def test_numbers_the_shortcut_leaves_to_the_matcher() -> None:
    for text in ("0903123456", "+84903123456", "1" * 64 + "0903123456"):
        assert not _BARE_NUMBER.fullmatch(text)
    assert list(_phones("0903123456")) == list(_phone_spans("0903123456")) != []
