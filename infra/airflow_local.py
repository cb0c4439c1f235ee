"""A local Airflow 3 for development and the end-to-end test: api-server, scheduler and
dag-processor on loopback, metadata in SQLite under ``<home>``, DAGs from this repository.

Why not ``airflow standalone``: it creates users and picks ports itself; here every setting is
explicit and every process is started in its own session and stopped by its recorded pid.
Note: Airflow 3 task workers call the api-server's Execution API, so the api-server must run
for any task to execute; its port must not be the scheduler's log-server port (8793).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ecohub.errors import FatalError, ServiceUnavailable

__all__ = ["LocalAirflow"]

ROOT = Path(__file__).resolve().parents[1]
COMPONENTS = ("api-server", "scheduler", "dag-processor")


class LocalAirflow:
    """Start, drive and stop a local Airflow whose state lives in ``home``."""

    def __init__(
        self,
        home: Path,
        *,
        api_port: int = 8788,
        extra_env: dict[str, str] | None = None,
        only_dags: Sequence[str] | None = None,
    ):
        """``only_dags``: the DAGs this Airflow runs; every other DAG stays paused (created
        paused, never unpaused), so a test's scheduler does not also run the hourly and daily
        DAGs of every portal against portals that are not there."""
        self.home = Path(home).resolve()
        self.api_port = api_port
        self.extra_env = dict(extra_env or {})
        self.only_dags = list(only_dags) if only_dags is not None else None
        self._airflow = str(Path(sys.executable).with_name("airflow"))

    @property
    def airflow_bin(self) -> str:
        return self._airflow

    def ensure_db(self) -> None:
        """Create the metadata database once and store the current DAGs in it, so that
        ``airflow dags list`` shows them even when no dag-processor is running."""
        self.home.mkdir(parents=True, exist_ok=True)
        if not (self.home / "airflow.db").exists():
            self.cli("db", "migrate")
        self.cli("dags", "reserialize")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(self.only_dags is not None),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": "ecohub-local-airflow",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            }
        )
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, check: bool = True, timeout: float = 300) -> str:
        out = subprocess.run(
            [self._airflow, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and out.returncode != 0:
            raise FatalError(
                f"airflow {' '.join(args)} failed", code=out.returncode, stderr=out.stderr[-2000:]
            )
        return out.stdout

    def _pid_file(self, component: str) -> Path:
        return self.home / f"{component}.pid"

    def start(self) -> None:
        """Migrate the metadata database, then start the three components (idempotent)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.cli("db", "migrate")
        for component in COMPONENTS:
            if self._alive(component):
                continue
            log = open(self.home / f"{component}.log", "ab")
            proc = subprocess.Popen(
                [self._airflow, component],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._pid_file(component).write_text(str(proc.pid))

    def _alive(self, component: str) -> bool:
        pid_file = self._pid_file(component)
        if not pid_file.exists():
            return False
        try:
            os.kill(int(pid_file.read_text()), 0)
        except (OSError, ValueError):
            return False
        return True

    def stop(self) -> None:
        """Stop each component's whole process group (workers included), by recorded pid:
        the scheduler and the dag-processor first (the scheduler's running tasks report their
        end to the api-server), then the api-server; SIGTERM, then SIGKILL after 20 s."""
        for components in (("scheduler", "dag-processor"), ("api-server",)):
            pid_files = [self._pid_file(c) for c in components if self._pid_file(c).exists()]
            _stop_groups([int(f.read_text()) for f in pid_files])
            for pid_file in pid_files:
                pid_file.unlink(missing_ok=True)

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listed = {
                d["dag_id"] for d in _json(self.cli("dags", "list", "-o", "json", check=False))
            }
            if set(dag_ids) | set(self.only_dags or []) <= listed:
                self._unpause_only_dags()
                return
            time.sleep(3)
        raise ServiceUnavailable("DAGs not parsed in time", dags=dag_ids, home=str(self.home))

    def _unpause_only_dags(self) -> None:
        if self.only_dags:
            pattern = "^(" + "|".join(re.escape(d) for d in self.only_dags) + ")$"
            self.cli("dags", "unpause", "--treat-dag-id-as-regex", "-y", pattern)

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        args = ["dags", "trigger", dag_id, "-o", "json"]
        if conf:
            args += ["--conf", json.dumps(conf)]
        runs = _json(self.cli(*args))
        return str(runs[0].get("dag_run_id") or runs[0].get("run_id", "")) if runs else ""

    def runs(self, dag_id: str) -> list[dict]:
        return _json(self.cli("dags", "list-runs", dag_id, "-o", "json", check=False))

    def wait_for_run(self, dag_id: str, run_id: str | None = None, timeout: float = 600) -> dict:
        """Wait until the run (or the newest run) of ``dag_id`` ends; return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for run in self.runs(dag_id):
                if run_id in (None, run["run_id"]) and run["state"] in ("success", "failed"):
                    return run
            time.sleep(3)
        raise ServiceUnavailable("DAG run did not finish in time", dag=dag_id, run=run_id)


def _stop_groups(pgids: list[int]) -> None:
    """SIGTERM every group, wait for all of them together, then SIGKILL what is left."""
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        alive = [pgid for pgid in pgids if _group_alive(pgid)]
        for pgid in alive:
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_group_alive(pgid) for pgid in alive):
            time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group is running. The leader, when this process started
    it, is reaped first: an exited child stays a zombie, which still counts as a member, so
    every stop used to wait out its full SIGTERM and SIGKILL grace periods."""
    try:
        os.waitpid(pgid, os.WNOHANG)
    except ChildProcessError:  # not our child (another process started it), or reaped
        pass
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _json(text: str) -> list[dict]:
    """Airflow CLI JSON output, ignoring warning lines printed around it."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            return value if isinstance(value, list) else [value]
    return []
