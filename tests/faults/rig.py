"""The fault-injection rig: trials (isolated pipelines), killable children, the comparison
with the uninterrupted reference run. Fixtures are in ``conftest.py``."""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults import harness

__all__ = [
    "ACCEPTANCE",
    "LANES",
    "LOAD_PACE",
    "PORT_BASE",
    "SEED",
    "SYNC_PACE",
    "TRIALS",
    "Reference",
    "Trial",
    "Window",
    "after_sync",
    "assert_like_reference",
    "keyed_side_by_side",
    "new_run_id",
    "new_trial",
    "selected",
    "side_by_side",
]  # fmt: skip

ACCEPTANCE = os.environ.get("ECOHUB_ACCEPTANCE") == "1"
# The runs a kill or an outage hits are paced, and kill points are drawn mostly inside the
# window in which the reference did its work (:class:`Window`): unpaced and drawn over the whole
# run, 7 of 10 sync kills hit before the first event was published and 8 of 10 loader kills
# before the first batch, the others after the last (the 99 events load in one to three
# batches), so the middle -- pages half published, batches half loaded -- was hardly tried.
SYNC_PACE = "10"  # requests per second: ~22 requests, ~2 s of paging and publishing
LOAD_PACE = 20  # events per batch: ~5 batches, each one transaction
# trials of one scenario run side by side (each isolated): a killed loader's trial mostly waits
LANES = int(os.environ.get("ECOHUB_FAULT_LANES") or 3)
# trials per randomized scenario; ECOHUB_FAULT_TRIALS overrides (e.g. a longer soak)
TRIALS = int(os.environ.get("ECOHUB_FAULT_TRIALS") or (50 if ACCEPTANCE else 10))
# the private broker listens on PORT_BASE (clients) and PORT_BASE + 1 (controller); another
# engineer's fault run on the same machine sets its own base (e.g. 39092)
PORT_BASE = int(os.environ.get("ECOHUB_FAULT_PORT_BASE") or 19092)
SEED = int(os.environ.get("ECOHUB_FAULT_SEED") or random.SystemRandom().randrange(1, 10**9))


@dataclass
class Trial:
    """One isolated pipeline: its own topics, group, landing folder and warehouse."""

    ctx: Any
    env: dict[str, str]
    url: str
    log: list[str] = field(default_factory=list)

    @property
    def settings(self) -> Any:
        from ecohub.settings import load_settings

        return load_settings(self.env)

    def start(self, target: Any, *args: Any, env: Mapping[str, str] | None = None) -> Any:
        process = self.ctx.Process(target=target, args=(env or self.env, *args), daemon=True)
        process.start()
        return process

    def run(self, target: Any, *args: Any, kill_after: float | None = None,
            timeout: float = 600, env: Mapping[str, str] | None = None) -> int | None:  # fmt: skip
        """Run a child to its end (exit code) or SIGKILL it after ``kill_after`` seconds."""
        process = self.start(target, *args, env=env)
        process.join(kill_after if kill_after is not None else timeout)
        if process.is_alive():
            if kill_after is None:
                process.kill()
                process.join()
                raise AssertionError(f"{target.__name__} still running after {timeout}s")
            os.kill(process.pid, signal.SIGKILL)
            process.join()
            self.log.append(f"{target.__name__} killed after {kill_after:.2f}s")
            return None
        self.log.append(f"{target.__name__} exit {process.exitcode}")
        return process.exitcode

    def sync(self, run_id: str, *, full_refresh: bool = False, kill_after: float | None = None,
             retries: int = 0, paced: bool = False) -> int | None:  # fmt: skip
        """One sync; ``retries`` reruns a failed one (same run id) as Airflow's task retries
        do, e.g. when a restarted broker is still electing leaders. ``paced``: at
        :data:`SYNC_PACE` requests per second."""
        env = {**self.env, "ECOHUB_TECHPORT__RATE_LIMIT": SYNC_PACE} if paced else None
        code = self.run(harness.sync_child, run_id, full_refresh, kill_after=kill_after, env=env)
        while code not in (0, None) and retries > 0:
            retries -= 1
            time.sleep(2)
            code = self.run(harness.sync_child, run_id, full_refresh)
        return code

    def consume(self, kill_after: float | None = None, paced: bool = False,
                **options: Any) -> int | None:  # fmt: skip
        """One loader; ``paced``: in batches of :data:`LOAD_PACE` events."""
        options = {"idle_timeout_s": 2.0, "drain_timeout_s": 90.0,
                   **({"batch_size": LOAD_PACE} if paced else {}), **options}  # fmt: skip
        return self.run(harness.consume_child, options, kill_after=kill_after)

    def lag(self) -> int:
        from ecohub.loader import lag

        return sum(lag(self.settings).values())

    def published(self) -> int:
        """Events on the trial's entity topics (acknowledged by the broker)."""
        from ecohub import kafka

        client = kafka.consumer(self.settings, group_id=None)
        try:
            return sum(kafka.end_offsets(client, kafka.entity_topics(self.settings)).values())
        finally:
            client.close()

    def loaded(self) -> int:
        """Events the trial's warehouse has applied (its stored offsets)."""
        from sqlalchemy import inspect

        from ecohub.db import get_engine
        from ecohub.warehouse.offsets import stored_offsets

        engine = get_engine(self.url)
        if not inspect(engine).has_table("consumer_offsets"):
            return 0
        return sum(stored_offsets(engine, self.settings.kafka.consumer_group).values())

    def watch(self, target: Any, *args: Any, probe: Any, env: Mapping[str, str] | None = None
              ) -> Window:  # fmt: skip
        """Run a child to its end, probing the work it does: when the first unit of work
        became visible, and when the last did (see :class:`Window`)."""
        process = self.start(target, *args, env=env)
        started, first, last, seen = time.monotonic(), None, None, 0
        while True:
            alive = process.is_alive()
            found = probe()
            now = time.monotonic() - started
            if found > seen:
                first, last, seen = first if first is not None else now, now, found
            if not alive:
                break
            time.sleep(0.1)
        process.join()
        assert process.exitcode == 0, (target.__name__, process.exitcode, self.log)
        return Window(total=time.monotonic() - started, first=first or 0.0, last=last or 0.0)

    def position(self) -> str:
        """Where a kill left the pipeline: events on the topics, and how many are loaded."""
        published, loaded = self.published(), self.loaded()
        note = f"at the kill: {published} events published, {loaded} loaded"
        self.log.append(note)
        print(f"\n{note}")
        return note

    def verdicts(self) -> list[dict[str, Any]]:
        from ecohub.ops import reconcile_pending, unbalanced_runs

        verdicts = reconcile_pending(self.settings)  # raises when a complete run is unbalanced
        assert unbalanced_runs(self.settings) == []
        return verdicts

    def fingerprint(self) -> dict[str, Any]:
        return harness.fingerprint(self.url)


def new_trial(ctx: Any, stack: Any, simulator: Any, tmp: Path, url: str | None = None,
              topic_prefix: str | None = None) -> Trial:  # fmt: skip
    name = f"f{uuid.uuid4().hex[:10]}"
    folder = tmp / name
    folder.mkdir(parents=True)
    url = url or f"sqlite:///{folder}/warehouse.db"
    env = {
        "ECOHUB_WAREHOUSE_URL": url,
        "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        "ECOHUB_KAFKA__TOPIC_PREFIX": topic_prefix or name,
        "ECOHUB_KAFKA__CONSUMER_GROUP": f"{name}-loader",
        "ECOHUB_KAFKA__PARTITIONS": "3",
        "ECOHUB_LANDING__URL": f"file://{folder}/landing",
        "ECOHUB_TECHPORT__BASE_URL": simulator.url,
        "ECOHUB_TECHPORT__PAGE_SIZE": "10",
        "ECOHUB_TECHPORT__RATE_LIMIT": "1000",
        "ECOHUB_VAR_DIR": str(folder),
    }
    return Trial(ctx=ctx, env=env, url=url, log=[f"seed {SEED} (ECOHUB_FAULT_SEED={SEED})"])


@dataclass(frozen=True)
class Window:
    """When the work of an uninterrupted child happened, in seconds from its start: it ran
    ``total``; its first unit of work (an acknowledged event, a loaded batch) became visible at
    ``first``, its last at ``last``. Before ``first`` it starts up (migrations, topics, group
    join), after ``last`` it winds down."""

    total: float
    first: float
    last: float

    def __str__(self) -> str:
        return f"{self.total:.1f}s (work from {self.first:.1f}s to {self.last:.1f}s)"

    def kill_point(self, rng: random.Random) -> float:
        """Four kills in five inside the work (a kill drawn over the whole run lands mostly
        in the start-up: measured, 7 of 10 sync kills before the first event); the fifth
        anywhere from the start to just past the end."""
        if rng.random() < 0.8 and self.last > self.first:
            return rng.uniform(self.first, self.last)
        return rng.uniform(0.0, self.total * 1.1)


@dataclass(frozen=True)
class Reference:
    """An uninterrupted sync + load of the same data, and when each did its work.

    ``topic_prefix`` names its topics and ``synced_warehouse`` is a copy of its warehouse as
    the sync left it (runs, extracts, cursors; nothing loaded): :func:`after_sync` starts a
    loader trial from there without running the same sync again."""

    fingerprint: Mapping[str, Any]
    sync: Window
    load: Window
    topic_prefix: str
    synced_warehouse: Path


def after_sync(ctx: Any, stack: Any, simulator: Any, tmp: Path, reference: Reference) -> Trial:
    """A trial right after an uninterrupted sync: the reference's topics (a loader only reads
    them; its position lives in its own warehouse), a copy of the warehouse as that sync left
    it, and a consumer group of its own, so the loader under test starts from scratch."""
    trial = new_trial(ctx, stack, simulator, tmp, topic_prefix=reference.topic_prefix)
    shutil.copyfile(reference.synced_warehouse, trial.url.removeprefix("sqlite:///"))
    trial.log.append(f"after the reference sync (topics {reference.topic_prefix})")
    return trial


def new_run_id() -> str:
    return f"techport-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"


def assert_like_reference(trial: Trial, reference: Reference) -> None:
    """The warehouse equals the uninterrupted run: same checksums, 0 lost or duplicated keys,
    every run balanced, lag 0."""
    assert trial.lag() == 0, trial.log
    trial.verdicts()
    found = trial.fingerprint()
    expected = reference.fingerprint
    lost = sorted(set(expected["keys"]) - set(found["keys"]))
    assert (lost, found["duplicated_keys"]) == ([], []), trial.log
    for part in ("current", "history", "staging", "quarantine"):
        assert found[part] == expected[part], (part, found["counts"], expected["counts"], trial.log)


def side_by_side(trial: Callable[[int], Any], count: int, lanes: int = LANES) -> list[Future[Any]]:
    """Run ``trial(n)`` for ``n`` in ``range(count)``, ``lanes`` at a time, each in a thread of
    its own; the futures in order of ``n`` (``.result()`` re-raises a trial's exception).

    Why: a trial of a killed loader spends most of its time waiting for the dead member's
    session to time out, so trials side by side (own topics or own consumer group, own
    warehouse) cost little more than one. Kill points still come from each trial's own
    seeded generator."""
    pool = ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="fault-trial")
    futures = [pool.submit(trial, n) for n in range(count)]
    pool.shutdown(wait=False)
    return futures


def selected(request: Any, fixture: str, param: str) -> list[int]:
    """The values of ``param`` of the session's tests that use ``fixture``: the trials a
    side-by-side fixture has to run (``-k`` may have picked a few)."""
    items = [item for item in request.session.items if hasattr(item, "callspec")]
    return sorted({item.callspec.params[param] for item in items
                   if fixture in getattr(item, "fixturenames", ())})  # fmt: skip


def keyed_side_by_side(trial: Callable[[int], Any], wanted: list[int],
                       lanes: int) -> dict[int, Future[Any]]:  # fmt: skip
    """:func:`side_by_side` over the trials ``wanted``, their futures by trial number."""
    futures = side_by_side(lambda i: trial(wanted[i]), len(wanted), lanes=lanes)
    return dict(zip(wanted, futures, strict=True))
