"""Real-scale acceptance of the simulators (run by ``make acceptance``).

``python -m simulators --portal all --scale real`` must serve the three portals within 60 s of
starting, under 2 GiB of memory; a full read of every resource returns exactly the ground
truth; a change step is visible through each portal's own incremental mechanism.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from simulators.harvest import Reader, truth, truth_summary

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.environ.get("ECOHUB_ACCEPTANCE") != "1", reason="real-scale run: make acceptance"
    ),
]


@pytest.fixture(scope="module")
def real() -> Iterator[dict]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators", "--portal", "all", "--scale", "real", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    urls = {}
    try:
        for line in proc.stdout:
            if " simulator listening at " in line:
                name, rest = line.split(" simulator listening at ")
                urls[name] = rest.split()[0]
            if line.strip() == "ready":
                break
        yield {"proc": proc, "urls": urls, "ready_seconds": time.monotonic() - started}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def peak_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def test_all_three_serve_within_60_seconds(real) -> None:
    assert set(real["urls"]) == {"stinet", "techport", "hoip"}
    assert real["ready_seconds"] < 60
    sizes = {p: truth_summary(u)["resources"] for p, u in real["urls"].items()}
    assert sizes["stinet"]["documents"]["live"] + sizes["stinet"]["documents"]["deleted"] == 150_000
    assert (
        sizes["techport"]["cong-nghe"]["live"] == 18_600
        and sizes["stinet"]["experts"]["live"] == 626
    )


@pytest.mark.parametrize("portal", ["stinet", "techport", "hoip"])
def test_full_read_of_every_resource_equals_truth(real, portal: str) -> None:
    url = real["urls"][portal]
    reader = Reader(url, portal)
    for resource in truth_summary(url)["resources"]:
        lines = truth(url, resource)
        expected = {
            t["key"]: t["updated"] for t in lines if resource == "documents" or not t["deleted"]
        }
        got = [(s.key, s.stamp) for s in reader.read(resource)]
        assert len(got) == len(expected) and dict(got) == expected, resource


def test_advance_is_visible_through_each_incremental_mechanism(real) -> None:
    urls = real["urls"]
    steps = {
        p: requests.post(f"{u}/_admin/advance", timeout=120).json()["steps"][0]["resources"]
        for p, u in urls.items()
    }
    since = {
        "stinet": "2026-03-02T01:30:00Z",
        "techport": "02/03/2026 08:30",
        "hoip": "2026-03-02T08:30:00+07:00",
    }
    for portal, resource in (
        ("stinet", "documents"),
        ("techport", "cong-nghe"),
        ("hoip", "startup-projects"),
    ):
        seen = {s.key for s in Reader(urls[portal], portal).read(resource, since[portal])}
        report = steps[portal][resource]
        assert set(report["created"] + report["updated"]) <= seen
    reader = Reader(urls["hoip"], "hoip")
    changes, _ = reader.changes(0)
    deleted = {c["id"] for c in changes if c["op"] == "delete"}
    assert set(steps["hoip"]["startup-projects"]["deleted"]) <= deleted


def test_memory_stays_under_2_gib(real) -> None:
    assert peak_rss_bytes(real["proc"].pid) < 2 * 1024**3
