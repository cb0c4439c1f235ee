"""prefetched(): pages read ahead in a thread keep their order, errors and bounded look-ahead."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ecohub.pipeline import prefetched


class Pages:
    """A page source that records what was read and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.read: list[int] = []
        self.closed = threading.Event()
        self.threads: set[str] = set()

    def __iter__(self) -> Iterator[int]:
        try:
            for page in range(self.count):
                self.threads.add(threading.current_thread().name)
                if page == self.fail_at:
                    raise ValueError(f"page {page} is broken")
                self.read.append(page)
                yield page
        finally:
            self.closed.set()


def test_every_page_in_order_read_by_another_thread() -> None:
    pages = Pages(50)
    assert list(prefetched(iter(pages), depth=3)) == list(range(50))
    assert pages.threads == {"ecohub-prefetch"}
    assert pages.closed.is_set()


def test_an_error_is_raised_after_the_pages_before_it() -> None:
    got = []
    with pytest.raises(ValueError, match="page 4 is broken"):
        for page in prefetched(iter(Pages(10, fail_at=4))):
            got.append(page)
    assert got == [0, 1, 2, 3]


def test_look_ahead_is_bounded_and_closing_stops_the_reader() -> None:
    pages = Pages(1000)
    stream = prefetched(iter(pages), depth=2)
    assert next(stream) == 0
    stream.close()
    assert pages.closed.wait(5)
    # page 0 consumed, at most depth in the queue, one being put, one read before the stop
    assert len(pages.read) <= 1 + 2 + 2
    assert not any(t.name == "ecohub-prefetch" and t.is_alive() for t in threading.enumerate())
