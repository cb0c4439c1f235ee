"""The fault-injection rig: trials (isolated pipelines), killable children, the comparison
with the uninterrupted reference run. Fixtures are in ``conftest.py``."""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults import harness

__all__ = ["ACCEPTANCE", "SEED", "TRIALS", "Reference", "Trial", "assert_like_reference",
           "new_run_id", "new_trial"]  # fmt: skip

ACCEPTANCE = os.environ.get("ECOHUB_ACCEPTANCE") == "1"
# trials per randomized scenario; ECOHUB_FAULT_TRIALS overrides (e.g. a longer soak)
TRIALS = int(os.environ.get("ECOHUB_FAULT_TRIALS") or (50 if ACCEPTANCE else 10))
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

    def start(self, target: Any, *args: Any) -> Any:
        process = self.ctx.Process(target=target, args=(self.env, *args), daemon=True)
        process.start()
        return process

    def run(self, target: Any, *args: Any, kill_after: float | None = None,
            timeout: float = 600) -> int | None:  # fmt: skip
        """Run a child to its end (exit code) or SIGKILL it after ``kill_after`` seconds."""
        process = self.start(target, *args)
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
             retries: int = 0) -> int | None:  # fmt: skip
        """One sync; ``retries`` reruns a failed one (same run id) as Airflow's task retries
        do, e.g. when a restarted broker is still electing leaders."""
        code = self.run(harness.sync_child, run_id, full_refresh, kill_after=kill_after)
        while code not in (0, None) and retries > 0:
            retries -= 1
            time.sleep(2)
            code = self.run(harness.sync_child, run_id, full_refresh)
        return code

    def consume(self, kill_after: float | None = None, **options: Any) -> int | None:
        options = {"idle_timeout_s": 2.0, "drain_timeout_s": 90.0, **options}
        return self.run(harness.consume_child, options, kill_after=kill_after)

    def lag(self) -> int:
        from ecohub.loader import lag

        return sum(lag(self.settings).values())

    def verdicts(self) -> list[dict[str, Any]]:
        from ecohub.ops import reconcile_pending, unbalanced_runs

        verdicts = reconcile_pending(self.settings)  # raises when a complete run is unbalanced
        assert unbalanced_runs(self.settings) == []
        return verdicts

    def fingerprint(self) -> dict[str, Any]:
        return harness.fingerprint(self.url)


def new_trial(ctx: Any, stack: Any, simulator: Any, tmp: Path, url: str | None = None) -> Trial:
    name = f"f{uuid.uuid4().hex[:10]}"
    folder = tmp / name
    folder.mkdir(parents=True)
    url = url or f"sqlite:///{folder}/warehouse.db"
    env = {
        "ECOHUB_WAREHOUSE_URL": url,
        "ECOHUB_KAFKA__BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        "ECOHUB_KAFKA__TOPIC_PREFIX": name,
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
class Reference:
    """An uninterrupted sync + load of the same data, and how long each phase took."""

    fingerprint: Mapping[str, Any]
    sync_s: float
    consume_s: float


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
