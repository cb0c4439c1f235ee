"""Simulated time and each portal's own way of writing it.

Why one module: the three portals disagree on formats (OAI UTC ``Z``, Stinet local
``YYYY-MM-DD HH:MM:SS``, Techport ``dd/mm/yyyy HH:MM``, H.OIP ISO-8601 ``+07:00``), and the
simulators must both write and parse each one exactly as their contracts say. Internally every
time is an integer of UTC epoch seconds.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

__all__ = [
    "EPOCH_NOW",
    "VN",
    "date_dmy",
    "date_iso",
    "fmt_iso",
    "fmt_local",
    "fmt_oai",
    "fmt_techport",
    "parse_iso",
    "parse_local",
    "parse_oai",
    "parse_techport",
    "to_dt",
]

VN = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
# Simulated "now" when a simulator starts: Monday 2 March 2026, 09:00 in Ho Chi Minh City.
EPOCH_NOW = int(datetime(2026, 3, 2, 9, 0, tzinfo=VN).timestamp())


def to_dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, VN)


def fmt_oai(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_local(ts: int) -> str:
    return to_dt(ts).strftime("%Y-%m-%d %H:%M:%S")


def fmt_techport(ts: int) -> str:
    return to_dt(ts).strftime("%d/%m/%Y %H:%M")


def fmt_iso(ts: int) -> str:
    return to_dt(ts).isoformat(timespec="seconds")


def date_dmy(ts: int) -> str:
    return to_dt(ts).strftime("%d/%m/%Y")


def date_iso(ts: int) -> str:
    return to_dt(ts).strftime("%Y-%m-%d")


def parse_oai(text: str) -> tuple[int, bool]:
    """An OAI ``from``/``until`` value -> (epoch seconds, day granularity). ValueError if bad."""
    if len(text) == 10:
        day = date.fromisoformat(text)
        return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()), True
    if len(text) != 20 or not text.endswith("Z") or text[10] != "T":
        raise ValueError(text)
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()), False


def parse_local(text: str) -> int:
    """Stinet ``modified_since``: local date, local date-time, or ISO with an offset."""
    text = text.strip()
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return int(datetime.strptime(text, pattern).replace(tzinfo=VN).timestamp())
        except ValueError:
            continue
    return parse_iso(text)


def parse_techport(text: str) -> int:
    return int(datetime.strptime(text.strip(), "%d/%m/%Y %H:%M").replace(tzinfo=VN).timestamp())


def parse_iso(text: str) -> int:
    """ISO-8601 date-time with an explicit offset (``Z`` accepted); naive values are refused."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None or "T" not in text:
        raise ValueError(f"{text!r} has no offset")
    return int(value.timestamp())
