"""The dashboards as an analyst sees them: `clickstream dashboards` serving a generated lake
(materialised through Dagster, so the check results are real), every page opened in headless
Chromium, the numbers on the page compared with SQL written here on the same tables, and a
screenshot of each page kept as an artifact (``CLICKSTREAM_TEST_ARTIFACTS``, by default
``.clickstream/test-artifacts/dashboards``)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from conftest import free_port, home_environment
from playwright.sync_api import Browser, Page, sync_playwright

from bench.dashboard_bench import open_page, serving
from clickstream_cli.launch import materialize_lake
from clickstream_orchestration.definitions import build_definitions
from lakehouse.query import query
from streaming.contracts.landing import landed_hours, landing_store
from streaming.contracts.settings import Settings
from streaming.generator import TrafficConfig
from streaming.generator.sinks.landing import write_landing
from streaming.realtime.store import RealtimeStore

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = (
    Path(os.environ.get("CLICKSTREAM_TEST_ARTIFACTS", ROOT / ".clickstream" / "test-artifacts"))
    / "dashboards"
)
START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = ("2026-11-01", "2026-11-03")
HUMAN_SESSIONS = "from mart.fact_funnel where not is_bot"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Three days of dirty traffic through Dagster, plus a minute of real-time events."""
    home = tmp_path_factory.mktemp("dashboards")
    with home_environment(home):
        settings = Settings(home=home)
        config = TrafficConfig(
            events=6000, seed=23, start=START, days=3, late_share=0.03, conversion_rate=0.06
        )
        write_landing(config, landing_store(settings), settings, workers=1)
        instance = dg.DagsterInstance.get()
        try:
            outcomes = materialize_lake(
                build_definitions(settings), instance, landed_hours(settings), days=DAYS
            )
            assert all(outcome.success for outcome in outcomes), [o.error for o in outcomes]
            store = RealtimeStore(settings)
            now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
            store.add([_live_event(number, now) for number in range(30)])
            store.publish()
            store.close()
            yield settings
        finally:
            instance.dispose()


def _live_event(number: int, now: datetime) -> dict[str, Any]:
    """Within the last 20 minutes of ``now``: the page and the SQL read it minutes later."""
    ts = now - timedelta(minutes=number % 20, seconds=number)
    return {
        "event_id": f"live-{number}",
        "event_type": "affiliate_click" if number % 5 == 0 else "page_view",
        "ts": ts,
        "ingest_ts": int(ts.replace(tzinfo=UTC).timestamp() * 1000),
        "arrive_ts": ts,
        "shard_id": "shardId-000000000000",
        "sequence_number": str(number),
        "session_id": f"live-session-{number % 7}",
        "user_id_hash": f"live-user-{number % 4}",
        "geo_country": ("US", "DE", "FR")[number % 3],
        "page_url": f"https://compare.example/compare/item-{number % 3}",
        "utm_source": None,
        "chart_action": None,
        "affiliate_link_id": None,
        "affiliate_target": None,
        "payout_cents": 125 if number % 5 == 0 else None,
        "is_bot": False,
    }


@pytest.fixture(scope="module")
def dashboards(lake: Settings) -> Iterator[str]:
    """``clickstream dashboards`` on a free port, as a user starts it; yields its URL."""
    with serving(lake, free_port()) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("the browser test needs Debian's chromium: apt-get install chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True)
        yield launched
        launched.close()


def _open(browser: Browser, url: str, title: str) -> Page:
    page, _ = open_page(browser, url, title)
    errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()
    return page


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _metrics(page: Page) -> dict[str, str]:
    shown = {}
    for metric in page.locator('[data-testid="stMetric"]').all():
        label = metric.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        shown[label] = metric.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return shown


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


def _tables(page: Page) -> list[list[list[str]]]:
    tables = []
    for table in page.locator('[data-testid="stTable"] table').all():
        rows = []
        for row in table.locator("tr").all():
            rows.append([cell.inner_text().strip() for cell in row.locator("th, td").all()])
        tables.append(rows)
    return tables


def _one(settings: Settings, sql: str) -> dict[str, Any]:
    rows = query(settings, sql).to_pylist()
    assert len(rows) == 1
    return rows[0]


def test_overview_shows_the_period_totals(
    lake: Settings, dashboards: str, browser: Browser
) -> None:
    page = _open(browser, dashboards, "Overview")
    _shot(page, "overview")
    truth = _one(
        lake,
        "select count(distinct user_id_hash) as users, count(*) as sessions, "
        "sum(conversions) as conversions, sum(revenue_cents) as revenue_cents, "
        f"sum(payout_cents) as payout_cents {HUMAN_SESSIONS}",
    )
    assert truth["sessions"] > 100 and truth["conversions"] > 0
    shown = _metrics(page)
    assert _number(shown["Users"]) == truth["users"]
    assert _number(shown["Sessions"]) == truth["sessions"]
    assert _number(shown["Conversions"]) == truth["conversions"]
    assert _number(shown["Revenue (USD)"]) == round(truth["revenue_cents"] / 100)
    assert _number(shown["Affiliate payout (USD)"]) == round(truth["payout_cents"] / 100)
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 3
    page.close()


def test_funnel_shows_each_step_and_the_ab_readout(
    lake: Settings, dashboards: str, browser: Browser
) -> None:
    page = _open(browser, f"{dashboards}/funnel", "Funnel")
    _shot(page, "funnel")
    truth = _one(
        lake,
        "select count(*) as s, count(case when saw_comparison then 1 end) as c, "
        "count(case when saw_comparison and interacted_chart then 1 end) as i, "
        "count(case when saw_comparison and interacted_chart and clicked_affiliate then 1 end) "
        "as a, count(case when saw_comparison and interacted_chart and clicked_affiliate "
        f"and conversions > 0 then 1 end) as p {HUMAN_SESSIONS}",
    )
    steps = _tables(page)[0]
    assert steps[0][:2] == ["Step", "Sessions"]
    assert [_number(row[1]) for row in steps[1:]] == [
        truth["s"],
        truth["c"],
        truth["i"],
        truth["a"],
        truth["p"],
    ]
    variants = query(
        lake, f"select distinct ab_variant {HUMAN_SESSIONS} and ab_variant is not null"
    ).num_rows
    readout = page.get_by_text(re.compile(r"z = -?\d+\.\d+, p = \d\.\d{3}"))
    assert readout.count() == variants - 1
    assert len(_tables(page)) == 5  # the steps, then one table per breakdown
    page.close()


def test_attribution_shows_credit_per_channel_and_model(
    lake: Settings, dashboards: str, browser: Browser
) -> None:
    page = _open(browser, f"{dashboards}/attribution", "Attribution")
    _shot(page, "attribution")
    by_channel = _tables(page)[0]
    header = by_channel[0]
    models = header[1:]
    assert set(models) == {"first_click", "last_click", "linear", "position_based", "time_decay"}
    truth = {
        (row["channel"], row["attribution_model"]): float(row["credited"])
        for row in query(
            lake,
            "select channel, attribution_model, sum(credited_conversions) as credited "
            "from mart.agg_attribution_daily group by 1, 2",
        ).to_pylist()
    }
    for row in by_channel[1:]:
        for model, cell in zip(models, row[1:], strict=True):
            assert _number(cell) == pytest.approx(truth.get((row[0], model), 0), abs=0.005)
    page.close()


def test_engagement_shows_pages_and_the_cohort_heatmap(
    lake: Settings, dashboards: str, browser: Browser
) -> None:
    page = _open(browser, f"{dashboards}/engagement", "Engagement")
    _shot(page, "engagement")
    top = _one(
        lake,
        "select page_path, sum(pageviews) as views from mart.agg_pages_daily "
        "group by page_path order by views desc, page_path limit 1",
    )
    pages = _tables(page)[0]
    assert pages[1][0] == top["page_path"]
    assert _number(pages[1][1]) == top["views"]
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 4
    page.close()


def test_realtime_shows_the_last_hour_and_refreshes(
    lake: Settings, dashboards: str, browser: Browser
) -> None:
    page = _open(browser, f"{dashboards}/realtime", "Real time")
    _shot(page, "realtime")
    truth = _one(lake, "select events, active_users from rt.active_users where window_minutes = 60")
    shown = _metrics(page)
    assert _number(shown["Events, last 60 min"]) == truth["events"] == 30
    assert _number(shown["Active users, last 60 min"]) == truth["active_users"]
    assert _number(shown["Affiliate clicks, last 60 min"]) == 6
    assert _number(shown["Payout, last 60 min (USD)"]) == round(6 * 1.25)
    stamp = page.get_by_text(re.compile(r"^Updated \d\d:\d\d:\d\d UTC"))
    first = stamp.inner_text()
    page.wait_for_function(
        "first => ![...document.querySelectorAll('p')].some(p => p.innerText.startsWith(first))",
        arg=first[:16],
        timeout=30_000,
    )
    page.close()


def test_data_health_shows_checks_quarantine_and_freshness(
    lake: Settings, dashboards: str, browser: Browser
) -> None:
    page = _open(browser, f"{dashboards}/data-health", "Data health")
    _shot(page, "data-health")
    checks = _one(
        lake,
        "select count(*) as checks, count(case when not passed then 1 end) as failing from ("
        "select passed, row_number() over (partition by asset_key, check_name "
        "order by evaluated_at desc) as recency from lake.check_results) as ranked "
        "where recency = 1",
    )
    assert checks["checks"] >= 5
    quarantined = _one(lake, "select count(*) as events from lake.quarantine_events")
    shown = _metrics(page)
    assert _number(shown["Checks"]) == checks["checks"]
    assert _number(shown["Failing now"]) == checks["failing"]
    if quarantined["events"]:
        assert _number(shown["Quarantined events"]) == quarantined["events"]
    (fresh,) = [table for table in _tables(page) if table[0][0] == "Table"]
    assert fresh[0] == ["Table", "Committed (UTC)", "Age"]
    assert {row[0] for row in fresh[1:]} >= {"mart.fact_funnel", "lake.silver_events"}
    page.close()
