"""Compact per-record state of one resource: timestamps, versions, deletions, listing order.

Why arrays: at ``real`` (150k documents) and ``xl`` (1.5M) scale a dict per record would not fit
the memory budget; the content of a record is rebuilt on demand from (seed, index, version), so
the only state kept is a few machine integers per record. ``order`` holds record indices sorted
by (updated, index) — the (updated time, id) order every incremental listing promises, because
ids grow with the index — so filtered listings are a bisect away.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_left, bisect_right

__all__ = ["ResourceState"]


class ResourceState:
    """Timestamps (UTC epoch seconds), versions and deletion flags of one resource.

    ``include_deleted``: deleted records stay in ``order`` (OAI-PMH ``status="deleted"``);
    otherwise they leave the listing. ``granularity`` is the portal's time precision in seconds.
    """

    def __init__(
        self,
        n: int,
        *,
        start_ts: int,
        end_ts: int,
        granularity: int,
        include_deleted: bool,
        salt: int,
        deleted_share: float = 0.0,
    ) -> None:
        self.granularity = granularity
        self.include_deleted = include_deleted
        self.updated = array("q")
        self.created = array("q")
        self.version = array("I")
        self.deleted = bytearray()
        self.order = array("q")
        self.epoch = 0
        self.n_deleted = 0
        self._populate(n, start_ts, end_ts, random.Random(salt), deleted_share)

    def _populate(
        self, n: int, start: int, end: int, r: random.Random, deleted_share: float
    ) -> None:
        g, span, prev, batch = self.granularity, max(end - start, 1), start, 0
        max_batch = max(2, min(150, n // 8))
        step = span / max(n, 1)
        rand, randint = r.random, r.randint
        updated, created, version, deleted = self.updated, self.created, self.version, self.deleted
        for i in range(n):
            if batch > 0:
                t, batch = prev, batch - 1
            else:
                t = start + int(span * i / n + rand() * step)
                t -= t % g
                if t < prev or rand() < 0.15:
                    t = prev
                if rand() < 0.012:
                    batch = randint(2, max_batch)
            prev = t
            v = 1 if rand() < 0.55 else randint(2, 6)
            updated.append(t)
            version.append(v)
            created.append(
                t if v == 1 else max(start - 86400 * 30, t - randint(86400, 86400 * 900))
            )
            deleted.append(1 if rand() < deleted_share else 0)
        self.n_deleted = sum(deleted)
        live = range(n) if self.include_deleted else (i for i in range(n) if not deleted[i])
        self.order.extend(live)

    # -- reading -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.updated)

    @property
    def live_count(self) -> int:
        return len(self.updated) - self.n_deleted

    def is_live(self, i: int) -> bool:
        return 0 <= i < len(self.updated) and not self.deleted[i]

    def _key(self, k: int) -> tuple[int, int]:
        return (self.updated[k], k)

    def position(self, ts: int | None, *, exclusive: bool = False) -> int:
        """First position in ``order`` whose time is >= ``ts`` (> with ``exclusive``)."""
        if ts is None:
            return 0
        upd = self.updated
        if exclusive:
            return bisect_right(self.order, ts, key=lambda k: upd[k])
        return bisect_left(self.order, ts, key=lambda k: upd[k])

    def position_after(self, ts: int, index: int) -> int:
        """First position strictly after the keyset point (``ts``, ``index``)."""
        return bisect_right(self.order, (ts, index), key=self._key)

    # -- writing -------------------------------------------------------------------------------
    def _unlist(self, i: int) -> None:
        pos = bisect_left(self.order, self._key(i), key=self._key)
        if pos < len(self.order) and self.order[pos] == i:
            del self.order[pos]

    def _list(self, i: int) -> None:
        self.order.insert(bisect_right(self.order, self._key(i), key=self._key), i)

    def create(self, ts: int) -> int:
        i = len(self.updated)
        self.updated.append(ts)
        self.created.append(ts)
        self.version.append(1)
        self.deleted.append(0)
        self._list(i)
        self.epoch += 1
        return i

    def touch(self, i: int, ts: int) -> None:
        """A new version of live record ``i`` stamped ``ts``."""
        self._unlist(i)
        self.updated[i] = ts
        self.version[i] += 1
        self._list(i)
        self.epoch += 1

    def delete(self, i: int, ts: int) -> None:
        self._unlist(i)
        self.updated[i] = ts
        self.version[i] += 1
        self.deleted[i] = 1
        self.n_deleted += 1
        if self.include_deleted:
            self._list(i)
        self.epoch += 1
