"""Dates and times as the portals write them, turned into UTC ISO-8601 with the source text kept.

Why: Techport writes ``05/03/2025 14:30`` in Vietnam time, Stinet's OAI-PMH datestamps are UTC
``2025-03-05T07:30:00Z``, H.OIP sends offsets, and descriptions say ``ngày 5 tháng 3 năm 2025``.
Rules:

* a value with a time is an *instant*: converted to UTC, written ``YYYY-MM-DDTHH:MM:SS[.mmm]Z``;
  a time without an offset is Vietnam time (UTC+7, no daylight saving since 1975);
* a value without a time is a *calendar date* in Vietnam, not an instant: written
  ``YYYY-MM-DD`` (or ``YYYY-MM`` / ``YYYY`` when only month or year is known) and never shifted
  across midnight by a time-zone conversion;
* day before month (``dd/mm/yyyy``), as Vietnamese usage is; ISO input is read as ISO;
* a bare number is never read as Unix time: no portal documents epoch values in its date
  fields, and guessing turns a mistyped ``2024010112`` into a silent wrong instant; it is
  refused with its reason (an optional field becomes null with an issue).

Every result keeps ``text`` (the cleaned source text) so nothing the portal said is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Literal

from ecohub.errors import NormalizationError
from ecohub.normalize.text import clean_bounded

__all__ = ["VN_TZ", "DateValue", "epoch_ms", "format_instant", "parse_date"]

VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
Precision = Literal["instant", "day", "month", "year"]
_MIN_YEAR, _MAX_YEAR = 1800, 2200

_ISO = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"\s*(?P<tz>Z|z|UTC|[+-]\d{2}:?\d{2})?)?$"
)
_TIME = r"(?P<H>\d{1,2})[:hg](?P<M>\d{2})(?::(?P<S>\d{2}))?"
_DMY = re.compile(
    rf"^(?P<d>\d{{1,2}})[/.\-](?P<m>\d{{1,2}})[/.\-](?P<y>\d{{4}})(?:,?\s+{_TIME})?$"
)
_TIME_DMY = re.compile(
    rf"^{_TIME}\s*,?\s*(?:ngày\s+)?(?P<d>\d{{1,2}})[/.\-](?P<m>\d{{1,2}})[/.\-](?P<y>\d{{4}})$"
)
_WORDS = re.compile(
    r"^(?:ngày\s+)?(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s*(?:,\s*)?năm\s+(?P<y>\d{4})$"
)
_MONTH = re.compile(
    r"^(?:tháng\s+)?(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})$|^(?P<y2>\d{4})-(?P<m2>\d{2})$"
)
_YEAR = re.compile(r"^(?:năm\s+)?(?P<y>\d{4})$")
_EPOCH_START = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH = re.compile(r"^\d{5,}$")


@dataclass(frozen=True)
class DateValue:
    """``value`` is canonical (see module doc); ``text`` is what the portal served."""

    value: str
    text: str
    precision: Precision

    def to_dict(self) -> dict[str, str]:
        return {"value": self.value, "text": self.text, "precision": self.precision}


def format_instant(moment: datetime) -> str:
    """UTC ``...Z`` with milliseconds only when they are not zero (deterministic either way)."""
    utc = moment.astimezone(UTC)
    if utc.microsecond // 1000:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _tz(token: str | None) -> timezone:
    if token is None:
        return VN_TZ
    if token in ("Z", "z", "UTC"):
        return UTC
    sign = -1 if token[0] == "-" else 1
    digits = token[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _check_year(year: int, text: str) -> None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise NormalizationError(
            f"year outside {_MIN_YEAR}-{_MAX_YEAR}", field="date", value=text
        )


def _build(groups: dict[str, str | None], text: str) -> DateValue:
    year, month, day = int(groups["y"] or 0), int(groups["m"] or 0), int(groups["d"] or 0)
    _check_year(year, text)
    try:
        if groups.get("H") is None:
            return DateValue(date(year, month, day).isoformat(), text, "day")
        frac = (groups.get("f") or "0")[:6].ljust(6, "0")
        moment = datetime(
            year, month, day, int(groups["H"] or 0), int(groups["M"] or 0),
            int(groups.get("S") or 0), int(frac), tzinfo=_tz(groups.get("tz")),
        )
    except ValueError as exc:
        raise NormalizationError(f"not a valid date: {exc}", field="date", value=text) from None
    return DateValue(format_instant(moment), text, "instant")


def _month_or_year(text: str) -> DateValue | None:
    match = _MONTH.match(text)
    if match:
        year = int(match.group("y") or match.group("y2"))
        month = int(match.group("m") or match.group("m2"))
        _check_year(year, text)
        if not 1 <= month <= 12:
            raise NormalizationError("month outside 1-12", field="date", value=text)
        return DateValue(f"{year:04d}-{month:02d}", text, "month")
    match = _YEAR.match(text)
    if match:
        _check_year(int(match.group("y")), text)
        return DateValue(match.group("y"), text, "year")
    return None


def parse_date(value: object) -> DateValue:
    """Parse any portal date or date-time; raise :class:`NormalizationError` saying why not.

    Idempotent: ``parse_date(parse_date(x).value).value == parse_date(x).value``.
    Remembered for texts (a pure function; :class:`DateValue` is immutable): calendar dates
    and the portals' minute-precision times repeat across records.
    """
    if type(value) is str and len(value) <= _CACHED_MAX_LEN:
        return _cached_parse_date(value)
    return _parse_date(value)


def _parse_date(value: object) -> DateValue:
    text = clean_bounded(value, "date")
    if not text:
        raise NormalizationError("date is empty", field="date", value=value)
    if _EPOCH.match(text):
        raise NormalizationError(
            "a bare number is not a date (Unix time is not guessed in date fields)",
            field="date", value=text,
        )
    lowered = text.lower()
    for pattern in (_ISO, _DMY, _TIME_DMY, _WORDS):
        match = pattern.match(lowered if pattern is _WORDS else text)
        if match:
            return _build(match.groupdict(), text)
    partial = _month_or_year(lowered)
    if partial is not None:
        return partial
    raise NormalizationError(
        "unrecognised date format (expected dd/mm/yyyy[ HH:MM], ISO-8601, month/yyyy or yyyy)",
        field="date",
        value=text,
    )


_CACHED_MAX_LEN = 100  # every date a portal writes (FIELD_LIMITS["date"])
_cached_parse_date = lru_cache(maxsize=1 << 15)(_parse_date)


def epoch_ms(value: DateValue) -> int:
    """Milliseconds since the epoch; a calendar date counts from its midnight in Vietnam."""
    if value.precision == "instant":
        moment = datetime.fromisoformat(value.value.replace("Z", "+00:00"))
    else:
        parts = [int(p) for p in value.value.split("-")] + [1, 1]
        moment = datetime(parts[0], parts[1], parts[2], tzinfo=VN_TZ)
    return (moment - _EPOCH_START) // timedelta(milliseconds=1)
