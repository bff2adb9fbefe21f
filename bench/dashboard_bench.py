"""Dashboard page render times on a generated month, in headless Chromium (goal ≤ 2 s a page).

The month (``DASHBOARD_EVENTS`` events over 30 days, conversions on) is loaded and built once
and kept under ``.clickstream/bench/``; a change to the dbt models builds it anew. Each run
starts ``clickstream dashboards`` afresh, so no query result is cached, opens one page to pay
the start-up (reported apart), then every page in turn in a new browser tab, whose empty cache
loads Streamlit's whole front end again: the time is from navigation until the page's script
has finished and nothing is left to draw. Then, in an app started afresh again, one tab moves
from page to page by the links of the app's sidebar, as an analyst does: the time is from the
click until the page is drawn. The median of ``RUNS`` runs is reported per page.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bench.lake_bench import START, _bench_root, _fresh_lake, _load_hours
from bench.report import Report, Row
from lakehouse.build import build_lake
from streaming.contracts.landing import landed_hours, landing_store
from streaming.contracts.settings import Settings
from streaming.generator import TrafficConfig
from streaming.generator.runner import default_workers
from streaming.generator.sinks.landing import write_landing

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DASHBOARD_EVENTS = int(os.environ.get("BENCH_DASHBOARD_EVENTS", "300000"))
DAYS = 30
CONVERSION_RATE = 0.05
RUNS = 3
GOAL_SECONDS = 2.0
PAGE_TIMEOUT_SECONDS = 60
PAGES = (
    ("", "Overview"),
    ("funnel", "Funnel"),
    ("attribution", "Attribution"),
    ("engagement", "Engagement"),
    ("realtime", "Real time"),
    ("data-health", "Data health"),
)
STARTUP = "startup"
NAVIGATION_START = "Real time"
"""The page the navigation run opens its tab on."""
MODELS = Path(__file__).resolve().parents[1] / "dbt_project" / "models"
DRAWN = (
    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
    " && document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0"
    " && Array.from(document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]'))"
    ".every((chart) => chart.querySelector('svg.marks, canvas'))"
)
"""Nothing of an earlier run is left to replace and every chart has drawn its marks. Alone it
can hold in the middle of a run (between the title and the next element), so it is awaited
only once the run has finished (:class:`ScriptRuns`)."""


class ScriptRuns:
    """The app's script runs in one tab, read from the messages Streamlit's server sends it as
    they arrive. The end of a run is the one sure sign that the page has nothing more to come.
    Runs are numbered as they start; a run of a fragment alone (the real-time page refreshing
    itself) also starts as a run but never counts as finished."""

    def __init__(self) -> None:
        self.started = 0
        self.last_finished = 0
        """The number of the latest run that finished whole."""

    def watch(self, page: Page) -> None:
        page.on("websocket", lambda socket: socket.on("framereceived", self._received))

    def _received(self, payload: str | bytes) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, str):
            return
        message = ForwardMsg()
        message.ParseFromString(payload)
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.started += 1
        elif (
            kind == "script_finished"
            and message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY
        ):
            self.last_finished = self.started

    def wait_drawn(self, page: Page, *, started_after: int) -> None:
        """Until a run started after the first ``started_after`` has finished whole and the
        browser has drawn the page."""
        deadline = time.monotonic() + PAGE_TIMEOUT_SECONDS
        while self.last_finished <= started_after:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no run of the app finished in {PAGE_TIMEOUT_SECONDS} s")
            page.wait_for_timeout(5)
        page.wait_for_function(DRAWN)


def _models_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(MODELS.rglob("*.sql")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _month_landing(events: int) -> Path:
    """The month's landing store (generated once): dirty traffic with purchases."""
    home = _bench_root() / f"landing-{events}-{DAYS}d-conversions"
    home.parent.mkdir(parents=True, exist_ok=True)
    with (home.parent / f"{home.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / ".complete").exists():
            shutil.rmtree(home, ignore_errors=True)
            config = TrafficConfig(
                events=events, seed=7, start=START, days=DAYS, conversion_rate=CONVERSION_RATE
            )
            print(f"generating {events:,} events over {DAYS} days for the dashboards ...")
            write_landing(
                config,
                landing_store(Settings(home=home)),
                Settings(home=home),
                workers=default_workers(),
            )
            (home / ".complete").touch()
    return home


def month_lake(events: int = DASHBOARD_EVENTS) -> Settings:
    """The generated month, loaded and built with the current models (cached)."""
    landing_home = _month_landing(events)
    name = f"dashboards-{landing_home.name}-{_models_digest()}"
    with (_bench_root() / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        settings = Settings(home=_bench_root() / name)
        if not (settings.home / ".complete").exists():
            settings = _fresh_lake(landing_home, name)
            print(f"loading and building a month of {events:,} events for the dashboards ...")
            _load_hours(settings, landed_hours(settings))
            build_lake(settings, run_tests=False, capture=True)
            (settings.home / ".complete").touch()
    return settings


@contextmanager
def serving(settings: Settings, port: int) -> Iterator[str]:
    """``clickstream dashboards`` on ``port`` for the lake; yields its URL once healthy."""
    log = (settings.home / "dashboards.log").open("ab")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("clickstream")), "dashboards", "--port", str(port)],
        env=os.environ | {"CLICKSTREAM_HOME": str(settings.home)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + PAGE_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the dashboards exited; see {settings.home}/dashboards.log")
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the dashboards did not come up")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def open_page(
    browser: Browser, url: str, title: str, runs: ScriptRuns | None = None
) -> tuple[Page, float]:
    """A new page at ``url`` once its script has run to the end and the browser has drawn it;
    with the seconds it took. ``runs`` keeps counting the tab's runs for :func:`navigate`."""
    runs = runs or ScriptRuns()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(PAGE_TIMEOUT_SECONDS * 1000)
    runs.watch(page)
    started = time.perf_counter()
    page.goto(url)
    page.get_by_role("heading", name=title, exact=True).wait_for()
    runs.wait_drawn(page, started_after=0)
    seconds = time.perf_counter() - started
    _settle(page)
    return page, seconds


def navigate(page: Page, runs: ScriptRuns, title: str) -> float:
    """Seconds from a click on the page's link in the app's sidebar until its script has run
    to the end and the browser has drawn it, in the tab already open."""
    runs_before = runs.started
    started = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title, exact=True).wait_for()
    runs.wait_drawn(page, started_after=runs_before)
    seconds = time.perf_counter() - started
    _settle(page)
    return seconds


def _settle(page: Page) -> None:
    """A rerun may begin just after the first one ends (the sidebar's widgets registering)."""
    page.wait_for_timeout(300)
    page.wait_for_function(DRAWN)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _publish_live_minutes(settings: Settings) -> None:
    """A last hour of real-time events, so the real-time page draws its charts."""
    from streaming.realtime.store import RealtimeStore

    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    store = RealtimeStore(settings)
    store.add(
        [
            {
                "event_id": f"bench-live-{number}",
                "event_type": "affiliate_click" if number % 9 == 0 else "page_view",
                "ts": now - timedelta(seconds=number),
                "ingest_ts": int((now - timedelta(seconds=number)).timestamp() * 1000),
                "arrive_ts": now,
                "shard_id": "shardId-000000000000",
                "sequence_number": str(number),
                "session_id": f"bench-session-{number % 300}",
                "user_id_hash": f"bench-user-{number % 200}",
                "geo_country": ("US", "DE", "FR", "GB")[number % 4],
                "page_url": f"https://compare.example/compare/item-{number % 40}",
                "utm_source": None,
                "chart_action": None,
                "affiliate_link_id": None,
                "affiliate_target": None,
                "payout_cents": 100 if number % 9 == 0 else None,
                "is_bot": False,
            }
            for number in range(3600)
        ]
    )
    store.publish()
    store.close()


def page_seconds(
    settings: Settings, runs: int = RUNS
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per page, its render time in each run, opened in a new browser tab (an empty cache, the
    whole front end loaded) and then from the app's navigation in one tab (as an analyst moves
    between pages). The app starts afresh for each, so no query result is cached either way.
    ``STARTUP`` holds the first page after the app started (imports, the catalog), which each
    run opens before the measured pages."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("the dashboard benchmark needs Debian's chromium (apt-get install)")
    times: dict[str, list[float]] = {STARTUP: [], **{title: [] for _, title in PAGES}}
    navigated: dict[str, list[float]] = {title: [] for _, title in PAGES}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            for _ in range(runs):
                _publish_live_minutes(settings)
                with serving(settings, _free_port()) as url:
                    page, seconds = open_page(browser, f"{url}/realtime", "Real time")
                    page.close()
                    times[STARTUP].append(seconds)
                    for path, title in PAGES:
                        page, seconds = open_page(browser, f"{url}/{path}", title)
                        page.close()
                        times[title].append(seconds)
                with serving(settings, _free_port()) as url:
                    tab = ScriptRuns()
                    page, _ = open_page(browser, f"{url}/realtime", NAVIGATION_START, tab)
                    for _, title in PAGES:
                        navigated[title].append(navigate(page, tab, title))
                    page.close()
        finally:
            browser.close()
    return times, navigated


def run(report: Report) -> None:
    settings = month_lake()
    times, navigated = page_seconds(settings)
    month = f"generated month ({DASHBOARD_EVENTS:,} events)"
    startup = times.pop(STARTUP)
    report.add(
        Row(
            f"dashboards: first page after the app starts, {month}",
            statistics.median(startup),
            "s",
            runs=len(startup),
            lower_is_better=True,
            note="once per start: imports, the catalog and DuckDB's extensions",
        )
    )
    new_tab = "headless Chromium, a new tab (empty cache), from navigation to the last chart drawn"
    for title, seconds in times.items():
        report.add(_page_row(f"dashboard page '{title}', {month}", seconds, new_tab))
    clicked = (
        "one tab, from a click on the page's link in the sidebar to the last chart drawn; first "
        "visit since the app started"
    )
    for title, seconds in navigated.items():
        name = f"dashboard page '{title}' from the app's navigation, {month}"
        if title == NAVIGATION_START:
            how = clicked.replace("first visit", "second visit (the tab opened on it)")
            report.add(_page_row(name, seconds, how + "; it never caches its queries"))
        else:
            report.add(_page_row(name, seconds, clicked))


def _page_row(name: str, seconds: list[float], how: str) -> Row:
    median = statistics.median(seconds)
    return Row(
        name,
        median,
        "s",
        goal=f"<= {GOAL_SECONDS:.0f} s",
        met=median <= GOAL_SECONDS,
        runs=len(seconds),
        lower_is_better=True,
        note=f"{how}; queries uncached",
    )
