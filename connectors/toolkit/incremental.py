"""Incremental cursor bookkeeping: where to start, which records are new, what state to save.

Why this shape. Portals publish records late (Stinet: up to 30 minutes in the past), so every
incremental run starts ``lookback_seconds`` before the last cursor it saw. The records of that
window were mostly emitted already; the state therefore keeps the *version* (cursor, deleted)
of every key seen inside the window, and a re-read record is emitted only if its version
differs. Within a run, a record served twice (a repeated page, records shifting while we page,
a restarted listing) is emitted once.

The saved state is small JSON (the ``window`` holds only the keys of the lookback window)::

    {"v": 1, "cursor": "2026-03-01T03:12:40.000000Z",      # max cursor of the last complete run
     "window": {"oai:...:doc/00012345": "2026-03-01T03:12:40.000000Z", ...},
     "progress": {"since": "...", "restart_from": "...", "total": 5321, ...} | null}

``progress`` is set while a run is under way: a run killed half-way resumes from
``restart_from`` (the largest cursor fully read, for portals sorted by cursor) instead of from
the beginning, once the listing's ``total`` shows nothing was inserted behind it meanwhile.
Cursors are kept as UTC ISO-8601 strings of fixed width, so they sort as text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

__all__ = ["STATE_VERSION", "CursorTracker", "from_utc_text", "parse_time", "to_utc_text"]

STATE_VERSION = 1
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_utc_text(moment: datetime) -> str:
    """A fixed-width, sortable UTC text for an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("cursor datetimes must be timezone-aware")
    return moment.astimezone(UTC).strftime(_FORMAT)


def from_utc_text(text: str) -> datetime:
    return parse_time(text, _FORMAT).replace(tzinfo=UTC)


_FIELDS = {"Y": r"(?P<year>\d{4})", "m": r"(?P<month>\d\d)", "d": r"(?P<day>\d\d)",
           "H": r"(?P<hour>\d\d)", "M": r"(?P<minute>\d\d)", "S": r"(?P<second>\d\d)",
           "f": r"(?P<microsecond>\d{6})"}


def parse_time(value: str, fmt: str) -> datetime:
    """``datetime.strptime(value, fmt)``, read without ``strptime`` when ``value`` has the
    format's zero-padded shape (``strptime`` costs ~50 us a call, and every record's cursor
    is read: ~10 % of a Stinet harvest's connector time). Any other value goes to
    ``strptime`` itself, so what is accepted and what raises ``ValueError`` do not change."""
    shape = _shape(fmt)
    matched = shape.fullmatch(value) if shape is not None else None
    if matched is None:
        return datetime.strptime(value, fmt)
    got = {name: int(text) for name, text in matched.groupdict().items()}
    return datetime(got["year"], got["month"], got["day"], got.get("hour", 0),
                    got.get("minute", 0), got.get("second", 0), got.get("microsecond", 0))


@cache
def _shape(fmt: str) -> re.Pattern[str] | None:
    """The regular expression of ``fmt``'s zero-padded values; ``None`` when ``fmt`` uses a
    directive other than %Y %m %d %H %M %S %f (or one twice)."""
    parts, used = [], set()
    for literal, directive in re.findall(r"([^%]*)(?:%(.))?", fmt):
        parts.append(re.escape(literal))
        if directive:
            if directive not in _FIELDS or directive in used:
                return None
            used.add(directive)
            parts.append(_FIELDS[directive])
    return re.compile("".join(parts), re.ASCII) if {"Y", "m", "d"} <= used else None


def _version(cursor: str | None, deleted: bool) -> str:
    return f"{cursor or ''}|d" if deleted else (cursor or "")


class CursorTracker:
    """Follows one run of one stream: the start point, de-duplication, and checkpoints."""

    KEYS = frozenset({"v", "cursor", "window", "progress"})

    def __init__(
        self, state: dict[str, Any] | None, *, lookback: timedelta, sorted_by_cursor: bool
    ) -> None:
        state = state or {}
        self.lookback = lookback
        self._floor_of: tuple[str | None, str | None] = (None, None)
        self.sorted_by_cursor = sorted_by_cursor
        self.committed: str | None = state.get("cursor")
        self.window: dict[str, str] = dict(state.get("window") or {})
        progress = state.get("progress") or None
        self.resumed = progress is not None
        if progress:
            self.since: str | None = progress.get("since")
            self.restart_from: str | None = progress.get("restart_from") or self.since
            self.run_max: str | None = progress.get("run_max")
            self.since_total: int | None = progress.get("total")
        else:
            self.since_total = None
            self.since = self._minus_lookback(self.committed)
            self.restart_from = self.since
            self.run_max = None
        self._seen: dict[str, str] = {}

    def _minus_lookback(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        if cursor != self._floor_of[0]:  # asked for every admitted record: remember the last
            self._floor_of = (cursor, to_utc_text(from_utc_text(cursor) - self.lookback))
        return self._floor_of[1]

    @property
    def start(self) -> datetime | None:
        """The run's start: the lookback before the committed cursor (``None``: everything)."""
        return from_utc_text(self.since) if self.since else None

    @property
    def resume_point(self) -> datetime | None:
        """The largest cursor fully read: where a verified resume may jump to."""
        return from_utc_text(self.restart_from) if self.restart_from else None

    @property
    def can_jump(self) -> bool:
        """True when resuming from :attr:`resume_point` would skip something."""
        return self.restart_from is not None and self.restart_from != self.since

    @property
    def high_water(self) -> str | None:
        """The largest cursor known, committed or seen in this run."""
        candidates = [c for c in (self.committed, self.run_max) if c]
        return max(candidates) if candidates else None

    def knows(self, key: str, cursor: str | None, deleted: bool = False) -> bool:
        """True when exactly this version of ``key`` was emitted already."""
        return self._seen.get(key, self.window.get(key)) == _version(cursor, deleted)

    def admit(self, key: str, cursor: str | None, deleted: bool, *, advance: bool = True) -> bool:
        """True when this version of ``key`` has not been emitted yet (and remember it).

        ``advance=False``: the record does not move the cursor (it came from outside the
        cursor-ordered listing, e.g. a change feed).
        """
        if self.knows(key, cursor, deleted):
            return False
        self._seen[key] = _version(cursor, deleted)
        if cursor is not None:
            if advance:
                self.run_max = max(self.run_max or cursor, cursor)
            floor = self._minus_lookback(self.high_water)
            if floor is None or cursor >= floor:
                self.window[key] = self._seen[key]
        return True

    def page_done(self, page_max: str | None) -> None:
        """Everything up to ``page_max`` has been read (a safe restart point if sorted)."""
        if self.sorted_by_cursor and page_max is not None:
            self.restart_from = max(self.restart_from or page_max, page_max)

    def rewind(self) -> None:
        """The listing starts over from the run's start (records were inserted before us)."""
        self.restart_from = self.since

    def checkpoint(self, *, finished: bool, pages: int) -> dict[str, Any]:
        """The state to save once this page's records are safely published."""
        self._prune()
        if finished:
            return {"v": STATE_VERSION, "cursor": self.high_water, "window": dict(self.window),
                    "progress": None}
        progress = {"since": self.since, "restart_from": self.restart_from,
                    "run_max": self.run_max, "total": self.since_total, "pages": pages}
        return {"v": STATE_VERSION, "cursor": self.committed, "window": dict(self.window),
                "progress": progress}

    def _prune(self) -> None:
        floor = self._minus_lookback(self.high_water)
        if floor is None:
            return
        stale = [k for k, v in self.window.items() if v.split("|", 1)[0] < floor]
        for key in stale:
            del self.window[key]
