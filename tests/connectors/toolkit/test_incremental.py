from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.toolkit.incremental import CursorTracker, from_utc_text, parse_time, to_utc_text

HOUR = timedelta(hours=1)


def utc(text: str) -> str:
    return to_utc_text(datetime.fromisoformat(text))


def tracker(state=None, lookback=HOUR, sorted_by_cursor=True) -> CursorTracker:
    return CursorTracker(state, lookback=lookback, sorted_by_cursor=sorted_by_cursor)


def test_cursor_text_is_fixed_width_utc_and_round_trips():
    moment = datetime.fromisoformat("2026-03-01T09:40:00+07:00")
    assert to_utc_text(moment) == "2026-03-01T02:40:00.000000Z"
    assert from_utc_text(to_utc_text(moment)) == moment
    with pytest.raises(ValueError, match="timezone-aware"):
        to_utc_text(datetime(2026, 3, 1, 9, 40))


def test_a_first_run_starts_from_nothing():
    t = tracker(None)
    assert t.start is None and t.since is None and not t.resumed


def test_an_incremental_run_starts_lookback_before_the_cursor():
    t = tracker({"cursor": utc("2026-03-01T10:00:00+07:00"), "window": {}})
    assert t.start == datetime.fromisoformat("2026-03-01T09:00:00+07:00")


@pytest.mark.parametrize(
    ("versions", "admitted"),
    [
        (
            [("104211", "2026-03-01T02:40:00.000000Z", False)] * 2,
            [True, False],
        ),  # same version twice
        (
            [
                ("104211", "2026-03-01T02:40:00.000000Z", False),
                ("104211", "2026-03-01T02:41:00.000000Z", False),
            ],
            [True, True],
        ),
        (
            [
                ("doc/871", "2026-03-01T04:00:00.000000Z", False),
                ("doc/871", "2026-03-01T04:00:00.000000Z", True),
            ],
            [True, True],
        ),  # a delete at the same datestamp is a new version
        ([("doc/871", "2026-03-01T04:00:00.000000Z", True)] * 2, [True, False]),
    ],
)
def test_a_version_is_admitted_once(versions, admitted):
    t = tracker(None)
    assert [t.admit(key, cursor, deleted) for key, cursor, deleted in versions] == admitted


def test_records_re_read_in_the_lookback_window_are_not_emitted_again():
    first = tracker(None)
    rows = [
        ("prj_0001877", "2026-03-02T02:30:00.000000Z"),
        ("prj_0001878", "2026-03-02T02:59:00.000000Z"),
        ("prj_0001879", "2026-03-02T03:00:00.000000Z"),
        ("prj_0000004", "2026-01-01T00:00:00.000000Z"),
    ]
    assert all(first.admit(k, c, False) for k, c in rows)
    state = first.checkpoint(finished=True, pages=1)
    assert state["cursor"] == "2026-03-02T03:00:00.000000Z"
    assert state["progress"] is None
    assert set(state["window"]) == {"prj_0001877", "prj_0001878", "prj_0001879"}  # old one pruned

    second = tracker(state)
    assert second.start == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    re_read = [second.admit(k, c, False) for k, c in rows[:3]]
    late = second.admit("prj_0001880", "2026-03-02T02:45:00.000000Z", False)  # late arrival
    changed = second.admit("prj_0001878", "2026-03-02T03:10:00.000000Z", False)
    assert re_read == [False, False, False]
    assert late and changed
    assert second.checkpoint(finished=True, pages=1)["cursor"] == "2026-03-02T03:10:00.000000Z"


def test_a_run_under_way_checkpoints_its_progress_and_resumes_from_it():
    state = {"cursor": "2026-03-01T00:00:00.000000Z", "window": {}}
    t = tracker(state)
    t.admit("1", "2026-03-01T05:00:00.000000Z", False)
    t.page_done("2026-03-01T05:00:00.000000Z")
    t.since_total = 5321
    mid = t.checkpoint(finished=False, pages=1)
    assert mid["progress"]["total"] == 5321
    assert mid["cursor"] == "2026-03-01T00:00:00.000000Z"  # not committed before the end
    assert mid["progress"]["restart_from"] == "2026-03-01T05:00:00.000000Z"
    assert mid["progress"]["since"] == "2026-02-28T23:00:00.000000Z"

    resumed = tracker(mid)
    assert resumed.resumed and resumed.since_total == 5321
    assert resumed.start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # the run's own start
    assert resumed.resume_point == datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
    assert resumed.can_jump
    assert not resumed.admit("1", "2026-03-01T05:00:00.000000Z", False)  # kept in the window
    resumed.admit("2", "2026-03-01T06:00:00.000000Z", False)
    done = resumed.checkpoint(finished=True, pages=2)
    assert done["cursor"] == "2026-03-01T06:00:00.000000Z" and done["progress"] is None


def test_unsorted_portals_restart_from_the_original_start():
    t = tracker({"cursor": "2026-03-01T10:00:00.000000Z", "window": {}}, sorted_by_cursor=False)
    t.admit("1", "2026-03-01T12:00:00.000000Z", False)
    t.page_done("2026-03-01T12:00:00.000000Z")
    assert t.resume_point == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert not t.can_jump


def test_records_outside_the_listing_do_not_move_the_cursor():
    t = tracker({"cursor": "2026-03-01T10:00:00.000000Z", "window": {}})
    assert t.admit("prj_0000001", "2026-03-05T00:00:00.000000Z", True, advance=False)
    assert t.checkpoint(finished=True, pages=1)["cursor"] == "2026-03-01T10:00:00.000000Z"
    assert t.knows("prj_0000001", "2026-03-05T00:00:00.000000Z", True)


def test_without_cursor_every_run_is_full_but_deduplicated():
    t = tracker(None)
    assert t.admit("a", None, False) and not t.admit("a", None, False)
    assert t.checkpoint(finished=True, pages=1)["cursor"] is None


PORTAL_FORMATS = ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d/%m/%Y %H:%M",
                  "%Y-%m-%dT%H:%M:%S.%fZ"]


def _strptime_or_error(value: str, fmt: str) -> datetime | str:
    try:
        return datetime.strptime(value, fmt)
    except ValueError:
        return "ValueError"


def _parse_time_or_error(value: str, fmt: str) -> datetime | str:
    try:
        return parse_time(value, fmt)
    except ValueError:
        return "ValueError"


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ("2026-03-01T03:12:40Z", "%Y-%m-%dT%H:%M:%SZ"),
        ("2026-3-01T03:12:40Z", "%Y-%m-%dT%H:%M:%SZ"),  # not zero-padded: strptime's call
        ("2026-02-30T03:12:40Z", "%Y-%m-%dT%H:%M:%SZ"),  # no such day
        ("2026-03-01T24:00:00Z", "%Y-%m-%dT%H:%M:%SZ"),
        ("2026-03-01T23:59:60Z", "%Y-%m-%dT%H:%M:%SZ"),
        ("2026-03-01T03:12:40Z\n", "%Y-%m-%dT%H:%M:%SZ"),
        ("2026-03-01T03:12:40", "%Y-%m-%dT%H:%M:%SZ"),
        ("٢٠٢٦-03-01", "%Y-%m-%d"),  # other digits than ASCII: strptime's call
        ("2026-03-01 10:00:00", "%Y-%m-%d %H:%M:%S"),
        ("01/03/2026 09:40", "%d/%m/%Y %H:%M"),
        ("31/04/2026 09:40", "%d/%m/%Y %H:%M"),
        ("2026-03-01T02:40:00.000123Z", "%Y-%m-%dT%H:%M:%S.%fZ"),
        ("Mar 01 2026", "%b %d %Y"),  # a format without a fast shape
    ],
)
def test_parse_time_reads_exactly_what_strptime_reads(value, fmt):
    assert _parse_time_or_error(value, fmt) == _strptime_or_error(value, fmt)


@given(st.datetimes(min_value=datetime(1000, 1, 1)), st.sampled_from(PORTAL_FORMATS),
       st.text(alphabet="0123456789-/: TZ.", max_size=3))
def test_parse_time_agrees_with_strptime_on_portal_shapes(moment, fmt, noise):
    text = moment.strftime(fmt)
    for value in (text, text + noise, noise + text, text[: len(text) // 2] + noise):
        assert _parse_time_or_error(value, fmt) == _strptime_or_error(value, fmt), value
