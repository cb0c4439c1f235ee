"""Vietnamese money text to integer VND, keeping the text.

Why: Techport prices and Stinet budgets are free text: ``"2 tỷ đồng"``, ``"1,5 tỷ"``,
``"400 triệu VNĐ"``, ``"2.000.000.000 đ"``, ``"2 tỷ 500 triệu"``, ``"Từ 500 triệu đến 1 tỷ"``,
``"Thỏa thuận"``. Vietnamese writes ``.`` for thousands and ``,`` for decimals, but English
habits leak in; the rules below read both without guessing wrong on the common cases:

* a separator followed by exactly three digits groups thousands (``2.000``, ``2,000``);
* one separator followed by one or two digits is a decimal mark (``1,5 tỷ``, ``1.25 triệu``);
* with both marks, the last one is the decimal mark (``1.234,5 triệu``);
* units ``tỷ``/``tỉ`` (10⁹), ``triệu``/``tr`` (10⁶), ``nghìn``/``ngàn``/``k`` (10³) multiply;
  decreasing units add up (``2 tỷ 500 triệu``); a bare number after a unit is ambiguous and
  refused; a range takes its unit from the right when the left has none (``1 - 2 tỷ``);
* the currency may stick to the digits (``45.000.000đ``, ``3.500.000.000VND``, ``500k``) and a
  per-period or per-unit suffix may follow (``750.000đ/tháng``: 750,000 VND, the text is kept);
* **ambiguous forms are refused, never guessed**: one separator followed by three digits before
  a unit (``1,234 tỷ``, ``1.234 tỷ``) reads 1.234 billion in English and 1,234 billion in
  Vietnamese habits, so it raises (the field becomes null with an issue) - except ``.000``
  (``500.000 tỷ``), which no one writes as decimals; a fraction of a đồng (``1,5 đ``) is refused;
* **bounds stay bounds**: ``Dưới 1 tỷ``/``Tối đa``/``Không quá`` give ``max_amount_vnd`` with
  ``amount_vnd`` null, ``Trên 500 triệu``/``Từ``/``Tối thiểu`` give ``amount_vnd`` with
  ``max_amount_vnd`` null; both are ``status="range"`` (half-open), never ``exact``;
* ``Thỏa thuận``/``Liên hệ`` (negotiable) has no amount; USD/EUR amounts are kept in their
  currency with ``amount_vnd`` empty (no exchange rate is invented).

Amounts round to the nearest đồng (VND has no minor unit) only after a unit multiplied them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from ecohub.errors import NormalizationError
from ecohub.normalize.text import clean_bounded, fold

__all__ = ["Money", "canonical_money_text", "parse_money"]

Status = Literal["exact", "range", "negotiable", "foreign_currency"]

_UNITS: dict[str, int] = {
    "ty": 10**9, "ti": 10**9, "tỷ": 10**9, "tỉ": 10**9,
    "trieu": 10**6, "triệu": 10**6, "tr": 10**6,
    "nghin": 10**3, "nghìn": 10**3, "ngan": 10**3, "ngàn": 10**3, "k": 10**3,
}
_NEGOTIABLE = ("thoa thuan", "thuong luong", "lien he", "negotiable", "contact", "negotiate")
_FOREIGN = {"usd": "USD", "us$": "USD", "$": "USD", "eur": "EUR", "€": "EUR", "euro": "EUR"}
_AMOUNT = re.compile(
    r"(?P<num>\d[\d.,]*(?:\s\d{3}(?![\d]))*)\s*"
    r"(?P<unit>tỷ|tỉ|ty|ti|triệu|trieu|tr|nghìn|nghin|ngàn|ngan|k)?"
    r"(?P<cur>\s*(?:đồng|dong|vnđ|vnd|đ)\b|(?<=\d)(?:đồng|vnđ|vnd|đ))?(?![\w])",
    re.IGNORECASE,
)
_AT_MOST = re.compile(
    r"^\s*(?:dưới|tối đa|không quá|lên (?:đến|tới)|up to|under|below|max(?:imum)?|<=?|≤)"
    r"\s*:?\s*(?=\d)", re.IGNORECASE)
_AT_LEAST = re.compile(
    r"^\s*(?:trên|từ|tối thiểu|ít nhất|hơn|over|above|from|at least|min(?:imum)?|>=?|≥)"
    r"\s*:?\s*(?=\d)", re.IGNORECASE)
_RANGE = re.compile(r"\s(?:-|–|—|~|đến|tới|to)\s|(?<=\d)\s*[-–~]\s*(?=\d)", re.IGNORECASE)
_FROM = re.compile(r"^\s*(?:từ|from)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Money:
    """``amount_vnd`` is the amount (the low end of a range); ``text`` is what was served."""

    text: str
    status: Status
    amount_vnd: int | None = None
    max_amount_vnd: int | None = None
    currency: str = "VND"
    amount: str | None = None  # decimal text in ``currency`` when it is not VND

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "status": self.status,
            "amount_vnd": self.amount_vnd,
            "max_amount_vnd": self.max_amount_vnd,
            "currency": self.currency,
            "amount": self.amount,
        }


def _fail(why: str, text: str) -> NormalizationError:
    return NormalizationError(f"money: {why}", field="money", value=text)


def _number(raw: str, text: str, multiplier: int | None = None) -> Decimal:
    """Read '2.000.000', '1,5', '1.234,5' or '2 000 000' following the module's rules."""
    digits = raw.replace(" ", ".").rstrip(".,")
    marks = [ch for ch in digits if ch in ".,"]
    decimal_mark: str | None = None
    if marks:
        last = marks[-1]
        tail = digits.rsplit(last, 1)[1]
        if len(tail) != 3 and marks.count(last) == 1:
            decimal_mark = last
        elif len(marks) == 1 and multiplier and tail != "000":
            raise _fail(f"{raw!r} before a unit is ambiguous (thousands or decimals?)", text)
    integer, _, fraction = digits.rpartition(decimal_mark) if decimal_mark else (digits, "", "")
    groups = re.split(r"[.,]", integer)
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        raise _fail(f"digit grouping of {raw!r} is neither thousands nor decimal", text)
    try:
        return Decimal("".join(groups) + ("." + fraction if fraction else ""))
    except InvalidOperation:
        raise _fail(f"{raw!r} is not a number", text) from None


def _amounts(part: str, text: str) -> tuple[Decimal, int | None, bool]:
    """Sum 'number unit' pairs of one side; returns (value, smallest unit used or None,
    whether a unit or currency was written - a bare number takes the other side's unit)."""
    matches = list(_AMOUNT.finditer(part))
    pairs = [(m.group("num"), m.group("unit")) for m in matches]
    if not pairs:
        raise _fail("no amount found", text)
    total, previous, last_unit = Decimal(0), None, None
    for raw, unit in pairs:
        multiplier = _UNITS[unit.lower()] if unit else None
        if len(pairs) > 1 and (multiplier is None or (previous and multiplier >= previous)):
            raise _fail("amounts must be in decreasing units (e.g. '2 tỷ 500 triệu')", text)
        number = _number(raw, text, multiplier)
        if multiplier is None and number != number.to_integral_value():
            raise _fail(f"{raw!r} is a fraction of a đồng", text)
        total += number * (multiplier or 1)
        previous, last_unit = multiplier, multiplier
    explicit = any(m.group("unit") or m.group("cur") for m in matches)
    return total, last_unit, explicit


def _to_vnd(value: Decimal) -> int:
    try:
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:  # beyond the decimal context's precision: not a real amount
        raise _fail("amount out of range", str(value)) from None


def _currency(folded: str, text: str) -> str:
    lowered = text.lower()
    for token, code in _FOREIGN.items():
        if token in lowered.split() or (not token.isalpha() and token in lowered):
            return code
        if token.isalpha() and re.search(rf"\b{re.escape(token)}\b", folded):
            return code
    return "VND"


def _split_range(body: str) -> tuple[str, str | None]:
    stripped = _FROM.sub("", body)
    parts = _RANGE.split(stripped, maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (body, None)


def _bound(text: str, currency: str) -> Money | None:
    """``Dưới 1 tỷ`` / ``Trên 500 triệu``: a half-open range, or None when not a bound."""
    for pattern, upper in ((_AT_MOST, True), (_AT_LEAST, False)):
        match = pattern.match(text)
        if match is None:
            continue
        amount, _, _ = _amounts(text[match.end():], text)
        if currency != "VND":
            return Money(text=text, status="foreign_currency", currency=currency,
                         amount=str(amount))
        vnd = _to_vnd(amount)
        return Money(text=text, status="range", amount_vnd=None if upper else vnd,
                     max_amount_vnd=vnd if upper else None)
    return None


def parse_money(value: object) -> Money:
    """Parse money text; raise :class:`NormalizationError` (with the reason) when unreadable.

    Remembered for texts (a pure function; :class:`Money` is immutable): prices and budgets
    are written from a few round amounts."""
    if type(value) is str and len(value) <= _CACHED_MAX_LEN:
        return _cached_parse_money(value)
    return _parse_money(value)


def _parse_money(value: object) -> Money:
    text = clean_bounded(value, "money")
    if not text:
        raise _fail("empty", text)
    folded = fold(text)
    if any(word in folded for word in _NEGOTIABLE) and not re.search(r"\d", text):
        return Money(text=text, status="negotiable")
    currency = _currency(folded, text)
    low_text, high_text = _split_range(text)
    if high_text is None:
        bound = _bound(text, currency)
        if bound is not None:
            return bound
        amount, _, _ = _amounts(low_text, text)
        high = None
    else:
        high, high_unit, _ = _amounts(high_text, text)
        amount, _, low_explicit = _amounts(low_text, text)
        if not low_explicit and high_unit is not None:
            amount *= high_unit
        if amount > high:
            raise _fail("range starts above its end", text)
    if amount < 0:
        raise _fail("negative amount", text)
    if currency != "VND":
        return Money(text=text, status="foreign_currency", currency=currency, amount=str(amount))
    if high is None:
        return Money(text=text, status="exact", amount_vnd=_to_vnd(amount))
    return Money(text=text, status="range", amount_vnd=_to_vnd(amount),
                 max_amount_vnd=_to_vnd(high))


_CACHED_MAX_LEN = 200  # every money text a mapper reads (FIELD_LIMITS["money"])
_cached_parse_money = lru_cache(maxsize=1 << 15)(_parse_money)


def canonical_money_text(money: Money) -> str:
    """A text that parses back to the same amounts (used to check idempotence)."""
    if money.status == "negotiable":
        return "Thỏa thuận"
    if money.status == "foreign_currency":
        return f"{money.amount} {money.currency}"
    if money.status == "range" and money.amount_vnd is None:
        return f"Dưới {money.max_amount_vnd} đồng"
    if money.status == "range" and money.max_amount_vnd is None:
        return f"Trên {money.amount_vnd} đồng"
    if money.status == "range":
        return f"{money.amount_vnd} - {money.max_amount_vnd} đồng"
    return f"{money.amount_vnd} đồng"
