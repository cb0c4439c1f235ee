"""Money: every written form the portals use parses back to exactly the amount written, and
forms that could mean two amounts are refused (issue #14, point 3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecohub.errors import NormalizationError
from ecohub.normalize.money import parse_money

_CURRENCY = ["", " đ", " VNĐ", " đồng", "đ", "VND", " VND", "đ/tháng", " đồng/năm"]


def _dotted(amount: int, mark: str = ".") -> str:
    return f"{amount:,}".replace(",", mark)


def written_forms(amount: int) -> list[str]:
    """Every way the portals (docs/portals/*.md, simulators/noise.py) write ``amount``."""
    forms = [f"{_dotted(amount)}{c}" for c in _CURRENCY]
    forms += [f"{_dotted(amount, ',')} VND", f"{amount} đ", f"{amount:,}".replace(",", " ") + " đ"]
    billions, rest = divmod(amount, 10**9)
    if rest == 0:
        forms += [f"{billions} tỷ đồng", f"{billions} tỷ", f"{billions} tỷ VNĐ", f"{billions}tỷ"]
    elif amount >= 10**9 and rest % 10**8 == 0:
        tenths = rest // 10**8
        forms += [f"{billions},{tenths} tỷ", f"{billions},{tenths} tỷ đồng",
                  f"{billions} tỷ {tenths}00 triệu", f"{billions}.{tenths} tỷ"]
    if amount % 10**6 == 0 and amount < 10**12:
        millions = amount // 10**6
        forms += [f"{millions} triệu VNĐ", f"{millions} triệu", f"{millions} triệu đồng",
                  f"{millions}tr"]
    if amount % 1000 == 0 and amount < 10**9:
        forms += [f"{amount // 1000}k", f"{amount // 1000} nghìn đồng"]
    return forms


AMOUNTS = st.one_of(
    st.integers(min_value=1, max_value=10**13),
    st.integers(min_value=1, max_value=99_999).map(lambda n: n * 10**6),
    st.integers(min_value=1, max_value=9_999).map(lambda n: n * 10**8),
    st.integers(min_value=1, max_value=999).map(lambda n: n * 10**9),
)


@settings(max_examples=300, deadline=None)
@given(amount=AMOUNTS, data=st.data())
def test_every_written_form_parses_back_exactly(amount: int, data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(written_forms(amount)))
    money = parse_money(text)
    assert (money.status, money.amount_vnd, money.max_amount_vnd) == ("exact", amount, None), text


@settings(max_examples=200, deadline=None)
@given(low=AMOUNTS, high=AMOUNTS, data=st.data())
def test_ranges_and_bounds_keep_both_ends_or_the_one_given(low: int, high: int,
                                                           data: st.DataObject) -> None:
    low, high = min(low, high), max(low, high)
    # a bare number on the left takes the unit of the right ("1 - 2 tỷ"): not drawn here
    a = data.draw(st.sampled_from([f for f in written_forms(low) if not _bare(f)]))
    b = data.draw(st.sampled_from(written_forms(high)))
    assert _ends(f"Từ {a} đến {b}") == ("range", low, high)
    assert _ends(f"{a} - {b}") == ("range", low, high)
    assert _ends(f"Dưới {b}") == ("range", None, high)
    assert _ends(f"Tối đa {b}") == ("range", None, high)
    assert _ends(f"Trên {a}") == ("range", low, None)
    assert _ends(f"Từ {a}") == ("range", low, None)


def _bare(text: str) -> bool:
    return all(ch.isdigit() or ch in ".,  " for ch in text)


def _ends(text: str) -> tuple[str, int | None, int | None]:
    money = parse_money(text)
    return money.status, money.amount_vnd, money.max_amount_vnd


@pytest.mark.parametrize(("text", "status", "low", "high"), [
    ("45.000.000đ", "exact", 45_000_000, None),
    ("3.500.000.000VND", "exact", 3_500_000_000, None),
    ("750.000đ/tháng", "exact", 750_000, None),
    ("Dưới 1 tỷ", "range", None, 1_000_000_000),
    ("Trên 500 triệu", "range", 500_000_000, None),
    ("Không quá 2 tỷ đồng", "range", None, 2_000_000_000),
    ("500.000 tỷ đồng", "exact", 500_000 * 10**9, None),  # ".000" is never decimals
    ("1 - 2 tỷ", "range", 10**9, 2 * 10**9),
    ("900.000 đ - 2 triệu", "range", 900_000, 2_000_000),
])
def test_issue_examples(text: str, status: str, low: int | None, high: int | None) -> None:
    assert _ends(text) == (status, low, high)


@pytest.mark.parametrize(("text", "why"), [
    ("1,234 tỷ", "ambiguous"),
    ("1.234 tỷ", "ambiguous"),
    ("2,345 triệu đồng", "ambiguous"),
    ("1,5 đ", "fraction of a đồng"),
    ("2 tỷ 3", "decreasing units"),
])
def test_ambiguous_forms_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(NormalizationError, match=why):
        parse_money(text)
