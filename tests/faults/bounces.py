"""Broker bounces side by side: *lanes*, each a private broker of its own (ports
``PORT_BASE + 2 * lane`` and the next, files in a temporary folder, quick to restart:
``Stack(kafka_quick_restart=True)``) with an uninterrupted sync of its own for the trials
whose fault is in the load. A trial mostly waits while its broker is down, so lanes cost
little more than one, and since no other scenario uses their brokers the bounces run
alongside the rest of the suite (:func:`start`, from ``conftest.py``)."""

from __future__ import annotations

import dataclasses
import os
import queue
import random
import shutil
import statistics
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Any

from tests.faults import harness
from tests.faults.rig import (
    ACCEPTANCE,
    LOAD_PACE,
    PORT_BASE,
    Reference,
    Trial,
    after_sync,
    assert_like_reference,
    keyed_side_by_side,
    new_run_id,
    new_trial,
)

__all__ = ["BOUNCES", "BOUNCE_LANES", "Lane", "bounce_ids", "start"]

SHORT_S, LONG_S = 10, 65  # outage seconds: the short (10 s) and long (> 60 s)
# bounces per phase (a sync, a load) and outage; the long outage only in acceptance
BOUNCE_TRIALS = int(os.environ.get("ECOHUB_FAULT_BOUNCES") or (50 if ACCEPTANCE else 1))
BOUNCE_LANES = int(os.environ.get("ECOHUB_FAULT_BOUNCE_LANES") or (6 if ACCEPTANCE else 2))
# (phase, outage seconds, n), long and short in turn: a long trial mostly waits while a short
# one works, so the lanes' CPU use stays even
BOUNCES = [(phase, outage, n) for n in range(BOUNCE_TRIALS)
           for outage in ((LONG_S, SHORT_S) if ACCEPTANCE else (SHORT_S,))
           for phase in ("sync", "load")]  # fmt: skip


@dataclasses.dataclass
class Lane:
    """A private broker of its own, and an uninterrupted sync on it (``source``: its topics
    and its warehouse as the sync left it) for the trials whose fault is in the load."""

    number: int
    stack: Any
    source: Reference | None = None
    bounces: list[tuple[float, float]] = dataclasses.field(default_factory=list)


def _bounce(lane: Lane, seconds: float, during: Any, trial: Trial) -> None:
    """Stop the lane's broker, keep it down ``seconds``, start it again; assert the child
    ``during`` was still running when the broker began to stop (else nothing was tested;
    it may end during the stop: failing on the outage is an outcome under test)."""
    from infra.stack import down, up

    overlapped = during.is_alive()
    started = time.monotonic()
    down(["kafka"], lane.stack)
    stopped = time.monotonic()
    after = "running" if during.is_alive() else "ended"
    time.sleep(seconds)
    restart = time.monotonic()
    up(["kafka"], lane.stack)
    stop_s, ready_s = stopped - started, time.monotonic() - restart
    lane.bounces.append((stop_s, ready_s))
    note = (f"lane {lane.number}: broker stopped in {stop_s:.1f}s, the child "
            f"{'running' if overlapped else 'already ended'} at the stop and {after} after "
            f"it, down {seconds}s, started and ready in {ready_s:.1f}s")  # fmt: skip
    trial.log.append(note)
    print(f"\n{note}")
    assert overlapped, trial.log


def _outcome(trial: Trial, child: Any, what: str) -> None:
    back = time.monotonic()
    child.join(400)
    note = f"{what} during the bounce: exit {child.exitcode}, {time.monotonic() - back:.1f}s " \
           "after the broker was back"  # fmt: skip
    trial.log.append(note)
    print(note)


def _drop_topics(trial: Trial) -> None:
    """Delete a finished trial's topics: a lane's broker restarts slower with every log it
    loads (measured: 36 logs, 1.1 s)."""
    from ecohub import kafka

    prefix = trial.env["ECOHUB_KAFKA__TOPIC_PREFIX"] + "."
    admin = kafka.admin(trial.settings)
    try:
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(prefix)])
    finally:
        admin.close()


def bounce_during_a_sync(lane: Lane, trial: Trial, reference: Reference, rng: random.Random,
                         outage_s: float) -> None:  # fmt: skip
    run = new_run_id()
    # ~11 requests (the reference pages for ~1 s at SYNC_PACE, 10 a second) at one every 2 s:
    # a ~22 s sync after its start-up, stopped at a random point in its first 12 s. Paced at
    # 2 and then 1 a second, 6 and 10 of 100 acceptance syncs (seeds 763897613, 581567665)
    # had ended before the stop began: no fault injected, the trial failed its precondition.
    slow = {**trial.env, "ECOHUB_TECHPORT__RATE_LIMIT": "0.5"}
    sync = trial.start(harness.sync_child, run, False, env=slow)
    time.sleep(rng.uniform(0.5, 12.0))
    _bounce(lane, outage_s, sync, trial)
    _outcome(trial, sync, "sync")
    assert trial.sync(run, retries=2) == 0  # the retried task republishes what was unacked
    assert trial.consume() == 0
    assert_like_reference(trial, reference)


def bounce_during_a_load(lane: Lane, trial: Trial, reference: Reference, rng: random.Random,
                         outage_s: float) -> None:  # fmt: skip
    patience = 120.0 if outage_s < 60 else 30.0
    options = {"idle_timeout_s": 2.0, "drain_timeout_s": 90.0, "outage_timeout_s": patience,
               "batch_size": LOAD_PACE}  # fmt: skip
    load = trial.start(harness.consume_child, options)
    time.sleep(rng.uniform(0.0, 0.8 * reference.load.last))  # before the last batch landed
    _bounce(lane, outage_s, load, trial)
    _outcome(trial, load, "load")
    if outage_s < 60:
        assert load.exitcode == 0, trial.log  # retried with backoff through a short outage
    else:
        assert trial.consume() == 0  # past its patience it stopped (exit 3); a rerun finishes
    assert_like_reference(trial, reference)


def _lane_stack(number: int, tmp: Path) -> Any:
    from infra.stack import Stack

    port = PORT_BASE + 2 * number
    return Stack(root=tmp, kafka_port=port, kafka_controller_port=port + 1,
                 kafka_quick_restart=True)  # fmt: skip


def _open_lane(lane: Lane, children: Any, simulator: Any, reference: Reference) -> None:
    """Start the lane's broker and run its uninterrupted sync (:attr:`Lane.source`). The
    broker is stopped once first: that clean stop writes its class-data archive (7-14 s,
    measured), which would otherwise stretch the first trial's stop past its drawn point."""
    from infra.stack import down, up

    up(["kafka"], lane.stack)
    down(["kafka"], lane.stack)
    up(["kafka"], lane.stack)
    trial = new_trial(children, lane.stack, simulator, lane.stack.root)
    assert trial.sync(new_run_id(), retries=2) == 0, trial.log
    synced = lane.stack.root / "synced.db"
    shutil.copyfile(trial.url.removeprefix("sqlite:///"), synced)
    prefix = trial.env["ECOHUB_KAFKA__TOPIC_PREFIX"]
    lane.source = dataclasses.replace(reference, synced_warehouse=synced, topic_prefix=prefix)


Started = tuple[dict[int, Future[Any]], Callable[[], None]]


def start(wanted: list[int], children: Any, simulator: Any, reference: Reference, seed: int,
          mktemp: Callable[[str], Path]) -> Started:  # fmt: skip
    """Start the bounces ``wanted`` (indices into :data:`BOUNCES`) side by side; the futures
    (each a :class:`Trial`, or the exception of what it asserted) and a function that waits
    for them all and stops the lanes. A trial takes a free lane (opening it on its first
    use), bounces that lane's broker, judges its warehouse while it still holds the lane,
    and leaves the broker up for the next trial."""
    from infra.stack import down, up

    free: queue.Queue[int] = queue.Queue()
    for number in range(1, BOUNCE_LANES + 1):
        free.put(number)
    lanes: dict[int, Lane] = {}

    def one(index: int) -> Trial:
        phase, outage_s, n = BOUNCES[index]
        number = free.get()
        try:
            lane = lanes.get(number)
            if lane is None:
                stack = _lane_stack(number, mktemp(f"lane-{number}"))
                lane = lanes[number] = Lane(number, stack)
            if lane.source is None:  # first use, or its opening failed
                _open_lane(lane, children, simulator, reference)
            rng = random.Random(f"{seed}:bounce:{phase}:{outage_s}:{n}")
            tmp = mktemp(f"bounce-{phase}-{outage_s}s-{n}")
            if phase == "sync":
                trial = new_trial(children, lane.stack, simulator, tmp)
                try:
                    bounce_during_a_sync(lane, trial, reference, rng, outage_s)
                finally:
                    up(["kafka"], lane.stack)  # back up when the trial failed mid-bounce
                    _drop_topics(trial)
            else:
                assert lane.source is not None
                trial = after_sync(children, lane.stack, simulator, tmp, lane.source)
                try:
                    bounce_during_a_load(lane, trial, reference, rng, outage_s)
                finally:
                    up(["kafka"], lane.stack)
            return trial
        finally:
            free.put(number)

    futures = keyed_side_by_side(one, wanted, BOUNCE_LANES)

    def close() -> None:
        for future in futures.values():  # a session cut short (Ctrl-C, -x): the rest is moot
            future.cancel()
        wait(futures.values())
        for lane in lanes.values():
            down(["kafka"], lane.stack)
        _report(lanes)

    return futures, close


def _report(lanes: dict[int, Lane]) -> None:
    times = [t for lane in lanes.values() for t in lane.bounces]
    if times:
        stops, readies = [t[0] for t in times], [t[1] for t in times]
        print(f"\n{len(times)} bounces on {len(lanes)} lanes: stop {min(stops):.1f}/"
              f"{statistics.median(stops):.1f}/{max(stops):.1f}s, start -> ready "
              f"{min(readies):.1f}/{statistics.median(readies):.1f}/{max(readies):.1f}s "
              "(min/median/max)")  # fmt: skip


def bounce_ids(phase: str) -> tuple[list[int], list[str]]:
    """The indices into :data:`BOUNCES` of one phase, and their test ids."""
    picked = [i for i, (p, _, _) in enumerate(BOUNCES) if p == phase]
    names = [f"{'short' if BOUNCES[i][1] < 60 else 'long'}-{BOUNCES[i][1]}s-{BOUNCES[i][2]}"
             for i in picked]  # fmt: skip
    return picked, names
