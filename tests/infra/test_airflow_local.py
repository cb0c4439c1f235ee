"""LocalAirflow's process handling: a stopped component is seen as stopped at once."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from infra.airflow_local import COMPONENTS, LocalAirflow, _group_alive


def _spawn(*cmd: str) -> int:
    return subprocess.Popen(list(cmd), start_new_session=True).pid


def test_an_exited_child_is_not_alive(tmp_path: Path) -> None:
    """An exited child stays a zombie (still a group member) until reaped: without reaping,
    every stop waited out its whole SIGTERM and SIGKILL grace periods."""
    pid = _spawn("true")
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.05)
    assert _group_alive(pid) is False
    assert not os.path.exists(f"/proc/{pid}")  # reaped


def test_stop_ends_every_component_group_and_forgets_its_pid(tmp_path: Path) -> None:
    af = LocalAirflow(tmp_path)
    pids = {}
    for component in COMPONENTS:
        pids[component] = _spawn("sleep", "60")
        (tmp_path / f"{component}.pid").write_text(str(pids[component]))
    assert all(_group_alive(pid) for pid in pids.values())
    af.stop()
    assert not any(_group_alive(pid) for pid in pids.values())
    assert not list(tmp_path.glob("*.pid"))
