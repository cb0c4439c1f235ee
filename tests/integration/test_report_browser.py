"""The auditors' report in a real browser: headless Debian Chromium, offline, on both backends.

Checks what an auditor sees: the DOM after Chromium rendered the page carries the same
figures as the warehouse (recomputed with plain SQL by tests/ecohub/report/oracle.py), the
page is complete with every host name unresolvable, and the page itself asked the network for
nothing. Chromium's own background traffic (update and account checks) is told apart from the
page's requests by the network isolation key in Chromium's NetLog; a control page with external
references proves the detector sees page requests. Needs /usr/bin/chromium: `infra/chromium.sh`.

Every check runs on a site written from SQLite and from PostgreSQL (the session's own database,
one schema for the module). The oracle reads SQLite; on PostgreSQL it reads a SQLite twin
filled with the same deterministic sample, so passing on both means the same figures on both.
Layout: at a 1280 px window no table may reach past the viewport (measured by Chromium itself
on a copy of the page with a probe script appended; the report ships no JavaScript).
"""

from __future__ import annotations

import html
import importlib.util
import json
import re
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from ecohub.report import write_report
from ecohub.report.data import KEY_ATTRIBUTES
from ecohub.settings import Settings
from ecohub.warehouse import init_db
from tests.fixtures.report_sample import populate_sample
from tests.fixtures.warehouse_sample import postgres_schema_engine, sqlite_engine

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
NOW = datetime(2025, 3, 7, 9, 0)
ORACLE_FILE = Path(__file__).resolve().parents[1] / "ecohub" / "report" / "oracle.py"
_METRIC = re.compile(
    r'<(?:td|span)[^>]*?data-metric="([^"]+)"[^>]*?data-value="([^"]*)"[^>]*>'
    r"(?:<span[^>]*>)?([^<]*)<"
)


def _oracle_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_oracle_browser", ORACLE_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Visit:
    dom: str
    page_requests: list[str]
    background_requests: list[str]


def _netlog_requests(path: Path) -> tuple[list[str], list[str]]:
    """(requests made for a file:// page, requests Chromium made on its own)."""
    text = path.read_text(encoding="utf-8").rstrip()
    if not text.endswith("}"):  # Chromium may stop before closing the event list
        text = text.rstrip(",") + "]}"
    log = json.loads(text)
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    page, background = [], []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] != start_job or "url" not in params:
            continue
        from_page = str(params.get("network_isolation_key", "")).startswith("file://")
        (page if from_page else background).append(params["url"])
    return page, background


def _chromium(tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed: run infra/chromium.sh (Debian's chromium package)")
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={tmp / 'profile'}", *extra, url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def visit(tmp: Path, page: Path) -> Visit:
    netlog = tmp / f"{page.stem}.netlog.json"
    done = _chromium(tmp, page.as_uri(), f"--log-net-log={netlog}", "--dump-dom")
    page_requests, background = _netlog_requests(netlog)
    return Visit(done.stdout, page_requests, background)


def _schema_url(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    assert schema and schema.startswith("t_"), schema  # never the shared public schema
    # added to the URL's query (it may already name a password file)
    url = engine.url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, object, Path]]:
    root = tmp_path_factory.mktemp(f"report-browser-{request.param}")
    db_path = root / "warehouse.db"
    engine = sqlite_engine(db_path)
    init_db(engine)
    populate_sample(engine, days=8, seed=84)
    engine.dispose()
    oracle = _oracle_module().Oracle(db_path, NOW, KEY_ATTRIBUTES)
    settings = Settings(var_dir=root / "var", warehouse_url=f"sqlite:///{db_path}")
    if request.param == "sqlite":
        yield write_report(settings, root / "site", now=NOW), oracle, root
        return
    with postgres_schema_engine(request.getfixturevalue("postgres_database")) as pg:
        init_db(pg)
        populate_sample(pg, days=8, seed=84)  # the same sample as the oracle's twin
        pg_settings = settings.model_copy(update={"warehouse_url": _schema_url(pg)})
        yield write_report(pg_settings, root / "site", now=NOW), oracle, root


@pytest.fixture(scope="module")
def visits(site) -> dict[str, Visit]:
    index, _, root = site
    return {name: visit(root, index.parent / name)
            for name in ("index.html", "runs.html", "expectations.html")}


def _visible_matches(text: str, expected: object) -> bool:
    """The number a person reads equals the warehouse's (ints exactly, shares to 0.1 %)."""
    if isinstance(expected, bool) or not isinstance(expected, int | float):
        return True
    if text.endswith(" %"):
        return abs(float(text[:-2]) / 100 - float(expected)) <= 0.0005 + 1e-12
    if text.endswith(" h"):
        return abs(float(text[:-2].replace(",", "")) - float(expected)) <= 0.05 + 1e-12
    if isinstance(expected, int):
        return text.replace(",", "") == str(expected)
    return abs(float(text) - expected) <= 0.0005 + 1e-12


@pytest.mark.parametrize("page", ["index.html", "runs.html", "expectations.html"])
def test_figures_in_the_rendered_page_equal_the_warehouse(site, visits, page):
    _, oracle, _ = site
    tools = _oracle_module()
    found = _METRIC.findall(visits[page].dom)
    assert len(found) > 100
    wrong = []
    for name, raw, text in found:
        expected = oracle.value(name)
        if not tools.matches(raw, expected) or not _visible_matches(text.strip(), expected):
            wrong.append((name, raw, text, expected))
    assert wrong == []


def test_the_headline_figures_reach_the_screen(site, visits):
    _, oracle, _ = site
    shown = {name: text for name, _, text in _METRIC.findall(visits["index.html"].dom)}
    for metric in ("runs.total", "runs.balanced", "runs.unbalanced", "runs.pending",
                   "records.fetched", "deadletter.total", "events.loaded",
                   "events.quarantined", "quarantine.total", "portal.techport.fetched",
                   "resolution.organization.multi_portal"):
        assert shown[metric].replace(",", "") == str(oracle.value(metric)), metric


def test_the_page_is_complete_offline_and_requests_nothing(visits):
    for name, seen in visits.items():
        assert seen.page_requests == [], name
        assert seen.dom.rstrip().endswith("</html>")
    dom = visits["index.html"].dom
    for section in ("summary", "portals", "entities", "runs", "quality", "resolution",
                    "over-time", "charts"):
        assert f'<section id="{section}">' in dom
    assert dom.count("<svg") == 4 and dom.count("</svg>") == 4


def test_the_request_detector_sees_a_page_that_uses_the_internet(tmp_path):
    """Control: the same check flags a page with a CDN stylesheet and a remote image."""
    page = tmp_path / "cdn.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" '
        'href="https://cdn.jsdelivr.net/npm/bootstrap@5/dist/css/bootstrap.min.css"></head>'
        '<body><img src="http://img.example.vn/logo.png"><p>Báo cáo</p></body></html>',
        encoding="utf-8",
    )
    seen = visit(tmp_path, page)
    assert sorted(seen.page_requests) == [
        "http://img.example.vn/logo.png",
        "https://cdn.jsdelivr.net/npm/bootstrap@5/dist/css/bootstrap.min.css",
    ]


def test_a_screenshot_of_the_summary_is_a_full_page(site, tmp_path):
    index, _, _ = site
    png = tmp_path / "report.png"
    _chromium(tmp_path, index.as_uri(), f"--screenshot={png}", "--window-size=1280,2400")
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert (width, height) == (1280, 2400)
    assert png.stat().st_size > 100_000  # text, tables and colour, not a blank page


# --------------------------------------------------------------------------- layout at 1280 px
_PROBE = """<script>
(() => {
  const width = document.documentElement.clientWidth;
  const tables = [...document.querySelectorAll("table")].map((t, i) => {
    const box = t.getBoundingClientRect();
    const head = t.querySelector("th");
    return {i, left: box.left, right: box.right, head: head ? head.textContent : ""};
  });
  document.body.setAttribute("data-layout", JSON.stringify({
    window: window.innerWidth, width, scroll: document.documentElement.scrollWidth, tables,
    overflowing: tables.filter(t => t.right > width + 0.5 || t.left < -0.5)}));
})();
</script>"""
_LAYOUT = re.compile(r'data-layout="([^"]*)"')


def layout(tmp: Path, page_html: str, name: str, width: int = 1280) -> dict[str, object]:
    """Chromium's own measurement of a page at ``width`` px: viewport, scroll width, tables."""
    probe = tmp / f"layout-{name}"
    probe.write_text(page_html.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    done = _chromium(tmp, probe.as_uri(), "--dump-dom", f"--window-size={width},900")
    found = _LAYOUT.search(done.stdout)
    assert found is not None, done.stdout[-500:]
    measured: dict[str, object] = json.loads(html.unescape(found.group(1)))
    return measured


@pytest.mark.parametrize("page", ["index.html", "runs.html", "expectations.html"])
def test_no_table_overflows_the_page_at_1280_px(site, tmp_path, page):
    index, _, _ = site
    seen = layout(tmp_path, (index.parent / page).read_text(encoding="utf-8"), page)
    assert seen["window"] == 1280  # the window really was 1280 px wide (less a scrollbar)
    assert len(seen["tables"]) >= 1
    assert seen["overflowing"] == [], seen["overflowing"]
    assert seen["scroll"] <= seen["width"]


def test_the_layout_probe_sees_a_table_wider_than_the_page(tmp_path):
    """Control: the same measurement flags a table that does not fit."""
    cells = "".join(f"<td>{'x' * 40}-{i}</td>" for i in range(40))
    page = (f"<!DOCTYPE html><html><head><style>td{{white-space:nowrap}}</style></head>"
            f"<body><table><tr>{cells}</tr></table></body></html>")
    seen = layout(tmp_path, page, "wide.html")
    assert seen["window"] == 1280
    assert len(seen["overflowing"]) == 1
    assert seen["scroll"] > seen["width"]
