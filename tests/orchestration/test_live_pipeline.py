"""Playing the user of `make dev`: from an empty home, traffic sent over HTTP reaches gold by
the sensor and the schedule alone (Dagster's daemon, as `clickstream dev` runs it); a bad day
blocks only its own gold, and is rebuilt by the automation once the bad data is fixed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import httpx
import pyarrow.compute as pc
import pytest
from conftest import free_port
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import EqualTo

from lakehouse.catalog import open_catalog
from lakehouse.rebuild_queue import queued_days
from streaming.contracts.settings import IngestSettings, LocalAwsSettings, Settings
from tests.landed_events import Landing, event

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
AUTOMATION_DEADLINE = 900.0
"""Generous: on a loaded 2-core machine each run starts a process and two dbt invocations."""
BAD_EVENT = "bad-payout-1"


@dataclass
class DevStack:
    settings: Settings
    environment: dict[str, str]
    process: subprocess.Popen[str]
    ui: int
    dashboards: int

    def catalog(self) -> Catalog:
        return open_catalog(self.settings)

    def rows_on(self, identifier: str, day: date) -> int:
        try:
            table = self.catalog().load_table(identifier)
        except NoSuchTableError:
            return 0
        return table.scan(row_filter=EqualTo("event_dt", day.isoformat())).count()

    def runs(self, job: str, partition: str, status: dg.DagsterRunStatus) -> int:
        with dg.DagsterInstance.from_config(str(self.settings.dagster_home)) as instance:
            return len(
                instance.get_run_records(
                    dg.RunsFilter(
                        job_name=job, statuses=[status], tags={"dagster/partition": partition}
                    )
                )
            )


def _wait_until(condition: Callable[[], bool], what: str, stack: DevStack) -> None:
    deadline = time.monotonic() + AUTOMATION_DEADLINE
    while time.monotonic() < deadline:
        if condition():
            return
        if stack.process.poll() is not None:
            break
        time.sleep(2.0)
    log = (stack.settings.log_dir / "stack.log").read_text(errors="replace")[-3000:]
    raise AssertionError(f"not reached by the automation: {what}\n{log}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """`clickstream dev` on free ports from an empty home, with the partitions derived from
    the data (no start date) and ticks every minute instead of every ten."""
    home = tmp_path_factory.mktemp("live") / "home"
    settings = Settings(
        home=home,
        local_aws=LocalAwsSettings(port=free_port(), kinesis_port=free_port()),
        ingest=IngestSettings(port=free_port()),
    )
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CLICKSTREAM_") and name != "DAGSTER_HOME"
    } | {
        "CLICKSTREAM_HOME": str(home),
        "CLICKSTREAM_LOCAL_AWS__PORT": str(settings.local_aws.port),
        "CLICKSTREAM_LOCAL_AWS__KINESIS_PORT": str(settings.local_aws.kinesis_port),
        "CLICKSTREAM_INGEST__PORT": str(settings.ingest.port),
        "CLICKSTREAM_ORCHESTRATION__LAKE_REFRESH_CRON": "* * * * *",
        "CLICKSTREAM_ORCHESTRATION__SENSOR_INTERVAL_SECONDS": "5",
        "CLICKSTREAM_DASHBOARDS_PORT": str(free_port()),
    }
    ui = free_port()
    log = (home.parent / "dev.log").open("w")
    process = subprocess.Popen(
        [BIN / "clickstream", "dev", "--port", str(ui)],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = DevStack(
        settings, environment, process, ui, int(environment["CLICKSTREAM_DASHBOARDS_PORT"])
    )
    try:
        deadline = time.monotonic() + 180
        while not (
            _answers(f"{settings.ingest_url}/healthz")
            and _answers(f"http://127.0.0.1:{ui}/server_info")
            and _answers(f"http://127.0.0.1:{stack.dashboards}/_stcore/health")
        ):
            assert process.poll() is None, (home.parent / "dev.log").read_text()
            assert time.monotonic() < deadline, "the dev stack did not come up"
            time.sleep(1.0)
        yield stack
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
        log.close()


def test_http_traffic_reaches_gold_by_automation_and_a_bad_day_blocks_only_itself(
    dev: DevStack,
) -> None:
    today = datetime.now(UTC).date()
    bad_day, good_day = today - timedelta(days=2), today - timedelta(days=1)
    sent = subprocess.run(
        [
            BIN / "clickstream",
            "generate",
            "--http",
            dev.settings.ingest_url,
            "--events",
            "1500",
            "--start",
            bad_day.isoformat(),
            "--days",
            "2",
        ],
        env=dev.environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    # one click landed as the delivery stream would land it, with a payout no producer may send
    click = event(
        BAD_EVENT,
        f"{bad_day.isoformat()}T12:00:00",
        session_id="bad-session",
        event_type="affiliate_click",
        arrival=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", ""),
        affiliate_target="shop",
    )
    click["affiliate"]["payout_cents"] = -500
    Landing(dev.settings).land([click])

    _wait_until(
        lambda: (
            dev.rows_on("mart.fact_funnel", good_day) > 0
            and dev.runs("lake_refresh", bad_day.isoformat(), dg.DagsterRunStatus.FAILURE) > 0
        ),
        f"gold for {good_day} and a failed rebuild of {bad_day}",
        dev,
    )
    sessions = dev.rows_on("lake.silver_sessions", good_day)
    assert dev.rows_on("mart.fact_funnel", good_day) == sessions > 0
    # the bad day's silver was withheld by its gate: nothing of it is visible downstream
    assert dev.rows_on("lake.silver_events", bad_day) == 0
    assert dev.rows_on("mart.fact_funnel", bad_day) == 0
    assert bad_day in queued_days(dev.settings), "the bad day waits to be rebuilt"

    # the fix: the bad row goes; the next ticks rebuild the day with nobody at the keyboard
    bronze = dev.catalog().load_table("lake.bronze_events")
    bronze.delete(EqualTo("event_id", BAD_EVENT))
    _wait_until(
        lambda: (
            dev.rows_on("mart.fact_funnel", bad_day) > 0
            and bad_day not in queued_days(dev.settings)
        ),
        f"gold for {bad_day} after the fix",
        dev,
    )
    funnel = dev.catalog().load_table("mart.fact_funnel").scan().to_arrow()
    assert pc.min(funnel["payout_cents"]).as_py() >= 0
    assert dev.rows_on("mart.fact_funnel", bad_day) == dev.rows_on("lake.silver_sessions", bad_day)
    assert dev.runs("lake_refresh", bad_day.isoformat(), dg.DagsterRunStatus.SUCCESS) >= 1
    _dashboards_show_the_lake(dev)


def _dashboards_show_the_lake(dev: DevStack) -> None:
    """The dashboards `make dev` serves show what the automation built: the overview's
    sessions are the human sessions of fact_funnel, and the data-health page lists the checks
    the daemon's runs recorded."""
    from playwright.sync_api import sync_playwright

    from bench.dashboard_bench import open_page
    from lakehouse.query import query

    chromium = shutil.which("chromium")
    assert chromium is not None, "the dashboards' check needs Debian's chromium"
    truth = query(
        dev.settings,
        "select count(*) as sessions from mart.fact_funnel where not is_bot",
    ).to_pylist()[0]
    checks = query(
        dev.settings, "select count(distinct check_name) as checks from lake.check_results"
    ).to_pylist()[0]
    url = f"http://127.0.0.1:{dev.dashboards}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            overview, _ = open_page(browser, url, "Overview")
            sessions = overview.locator('[data-testid="stMetric"]', has_text="Sessions").locator(
                '[data-testid="stMetricValue"]'
            )
            assert int(sessions.inner_text().replace(",", "")) == truth["sessions"] > 0
            health, _ = open_page(browser, f"{url}/data-health", "Data health")
            shown = health.locator('[data-testid="stMetric"]', has_text="Checks").locator(
                '[data-testid="stMetricValue"]'
            )
            assert int(shown.first.inner_text().replace(",", "")) >= checks["checks"] > 0
        finally:
            browser.close()
