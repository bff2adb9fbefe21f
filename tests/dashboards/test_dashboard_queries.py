"""Every dashboard query on a lake written by hand, against the figures worked out by hand;
and every query parses as Trino (Athena) as well as DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest
import sqlglot

from clickstream_dashboards import queries
from clickstream_dashboards.filters import Filters
from lakehouse.catalog import open_catalog
from lakehouse.warehouse import LocalWarehouse, Source
from streaming.contracts.settings import Settings
from streaming.realtime.store import RealtimeStore

D0, D1, D2 = date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)
PERIOD = Filters(D1, D2)

FUNNEL_COLUMNS = [
    "session_id",
    "user_id_hash",
    "saw_comparison",
    "interacted_chart",
    "clicked_affiliate",
    "converted",
    "conversions",
    "revenue_cents",
    "payout_cents",
    "ab_variant",
    "geo_country",
    "channel_group",
    "device_class",
    "is_bot",
    "event_dt",
]
FUNNEL_ROWS = [
    ("s1", "u1", True, True, True, True, 1, 5000, 300, "A", "US", "Direct", "desktop", False, D1),
    ("s2", "u1", True, False, False, False, 0, 0, 0, "A", "US", "Direct", "desktop", False, D2),
    ("s3", "u2", True, True, True, False, 0, 0, 150, "B", "DE", "Email", "mobile", False, D1),
    ("s4", "u3", False, True, True, True, 1, 2500, 100, "B", "US", "Email", "mobile", False, D2),
    ("s5", "u4", True, True, True, True, 1, 9999, 999, "A", "US", "Direct", "bot", True, D2),
    ("s6", "u5", True, False, False, False, 0, 0, 0, "B", "FR", "Direct", "tablet", False, D0),
]
ATTRIBUTION = [
    (D1, "last_click", "Direct", "spring", 1, 5000, 1.0),
    (D2, "last_click", "Email", None, 1, 2500, 1.0),
    (D1, "linear", "Direct", "spring", 1, 2500, 0.5),
    (D1, "linear", "Email", "spring", 1, 2500, 0.5),
    (D2, "linear", "Email", None, 1, 2500, 1.0),
]
ENGAGEMENT = [
    (D1, "US", "A", "Direct", "desktop", 10, 6, 0.4, 1000, 30),
    (D1, "DE", "B", "Email", "mobile", 30, 10, 0.2, 2000, 60),
    (D1, "US", "A", "Direct", "bot", 5, 0, 1.0, 5, 5),
]
PAGES = [
    ("/compare/x", 10, 5, 2, D1),
    ("/compare/x", 5, 1, 1, D2),
    ("/home", 8, 8, 4, D1),
    ("/old", 100, 100, 100, D0 - timedelta(days=5)),
]


def _create(
    settings: Settings,
    name: str,
    columns: list[str],
    rows: list[tuple[object, ...]],
    types: dict[str, pa.DataType] | None = None,
) -> None:
    arrays = list(zip(*rows, strict=True))
    fields = [
        pa.field(column, (types or {}).get(column) or pa.array(values).type)
        for column, values in zip(columns, arrays, strict=True)
    ]
    table = pa.table(
        [pa.array(values, type=field.type) for values, field in zip(arrays, fields, strict=True)],
        schema=pa.schema(fields),
    )
    open_catalog(settings).create_table(name, table.schema).append(table)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(home=tmp_path_factory.mktemp("dashboards"))
    _create(settings, queries.FUNNEL, FUNNEL_COLUMNS, FUNNEL_ROWS)
    _create(
        settings,
        queries.ATTRIBUTION,
        [
            "event_dt",
            "attribution_model",
            "channel",
            "campaign",
            "conversions",
            "revenue_credited_cents",
            "credited_conversions",
        ],
        ATTRIBUTION,
        {"campaign": pa.string()},
    )
    _create(
        settings,
        queries.ENGAGEMENT,
        [
            "event_dt",
            "geo_country",
            "ab_variant",
            "channel_group",
            "device_class",
            "sessions",
            "engaged_sessions",
            "bounce_rate",
            "session_seconds",
            "pageviews",
        ],
        ENGAGEMENT,
    )
    _create(
        settings, queries.PAGES, ["page_path", "pageviews", "entrances", "exits", "event_dt"], PAGES
    )
    _create(
        settings,
        queries.RETENTION,
        ["cohort_week", "weeks_since", "cohort_users", "active_users", "retention_rate"],
        [
            (date(2026, 10, 26), 0, 4, 4, 1.0),
            (date(2026, 10, 26), 1, 4, 1, 0.25),
            (date(2026, 10, 19), 0, 9, 9, 1.0),
        ],
    )
    _create(
        settings,
        queries.QUARANTINE,
        ["stage", "kind", "ingest_dt"],
        [
            ("ingest", "schema", D1),
            ("ingest", "schema", D1),
            ("bronze_load", "duplicate", D2),
            ("ingest", "schema", D0),
        ],
    )
    _create(
        settings,
        queries.CHECK_RESULTS,
        ["asset_key", "check_name", "passed", "severity", "evaluated_at", "detail"],
        [
            (
                "gold/fact_funnel",
                "expectations",
                False,
                "ERROR",
                datetime(2026, 11, 2, 1),
                "2 failed",
            ),
            ("gold/fact_funnel", "expectations", True, "ERROR", datetime(2026, 11, 2, 2), None),
            (
                "silver/silver_events",
                "not_null_event_id",
                False,
                "WARN",
                datetime(2026, 11, 2, 3),
                "1 row",
            ),
        ],
        {"detail": pa.string()},
    )
    start = datetime(2026, 11, 1, 10)
    _create(
        settings,
        queries.SILVER_EVENTS,
        ["event_dt", "ts", "ingest_ts", "geo_country", "ab_variant", "is_bot"],
        [
            (D1, start, _epoch_ms(start + timedelta(seconds=2)), "US", "A", False),
            (D1, start, _epoch_ms(start + timedelta(hours=2)), "US", "A", False),
            (D1, start, _epoch_ms(start + timedelta(minutes=59)), "DE", "B", False),
            (D1, start, _epoch_ms(start + timedelta(hours=5)), "DE", "B", True),
            (D2, start + timedelta(days=1), _epoch_ms(start + timedelta(days=1)), "US", "B", False),
        ],
    )
    return settings


def _epoch_ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def _rt_event(event_id: str, ts: datetime, user: str) -> dict[str, object]:
    return {
        "event_id": event_id,
        "event_type": "page_view" if event_id != "e7" else "affiliate_click",
        "ts": ts,
        "ingest_ts": _epoch_ms(ts),
        "arrive_ts": ts,
        "shard_id": "shard-0",
        "sequence_number": event_id,
        "session_id": f"s-{user}",
        "user_id_hash": user,
        "geo_country": "US",
        "page_url": "https://example.com/compare",
        "utm_source": None,
        "chart_action": None,
        "affiliate_link_id": None,
        "affiliate_target": None,
        "payout_cents": 250 if event_id == "e7" else None,
        "is_bot": False,
    }


class Recording(LocalWarehouse):
    """The local warehouse, keeping every statement it ran."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, refresh_seconds=0)
        self.statements: list[str] = []

    def query(self, sql: str, source: Source = "lake") -> pa.Table:
        self.statements.append(sql)
        return super().query(sql, source)


@pytest.fixture(scope="module")
def warehouse(lake: Settings) -> Iterator[Recording]:
    recording = Recording(lake)
    yield recording
    recording.close()


def test_choices_span_every_day_and_every_human_value(warehouse: Recording) -> None:
    found = queries.choices(warehouse)
    assert (found.first_day, found.last_day) == (D0, D2)
    assert found.countries == ["DE", "FR", "US"]
    assert found.variants == ["A", "B"]
    assert found.channels == ["Direct", "Email"]


def test_overview_kpis_and_the_previous_period(warehouse: Recording) -> None:
    assert queries.kpis(warehouse, PERIOD) == {
        "users": 3,
        "sessions": 4,
        "conversions": 2,
        "revenue": 75.0,
        "payout": 5.5,
    }
    assert PERIOD.previous() == Filters(date(2026, 10, 30), D0)
    assert queries.kpis(warehouse, PERIOD.previous()) == {
        "users": 1,
        "sessions": 1,
        "conversions": 0,
        "revenue": 0.0,
        "payout": 0.0,
    }
    us = Filters(D1, D2, countries=("US",))
    assert queries.kpis(warehouse, us)["users"] == 2
    hostile = Filters(D1, D2, countries=("x' or '1'='1",))
    assert queries.kpis(warehouse, hostile)["sessions"] == 0
    trend = queries.daily_trend(warehouse, PERIOD).to_pylist()
    assert [(row["day"], row["sessions"], row["revenue"]) for row in trend] == [
        (D1, 2, 50.0),
        (D2, 2, 25.0),
    ]


def test_the_funnel_is_closed_and_splits_by_variant(warehouse: Recording) -> None:
    assert queries.funnel_steps(warehouse, PERIOD) == {
        "sessions": 4,
        "saw_comparison": 3,
        "interacted_chart": 2,
        "clicked_affiliate": 2,
        "converted": 1,
    }
    by_variant = {
        row["segment"]: row
        for row in queries.funnel_by(warehouse, PERIOD, "ab_variant").to_pylist()
    }
    assert {
        name: (row["sessions"], row["saw_comparison"], row["clicked_affiliate"], row["converted"])
        for name, row in by_variant.items()
    } == {
        "A": (2, 2, 1, 1),
        "B": (2, 1, 1, 0),
    }
    by_device = queries.funnel_by(warehouse, Filters(D1, D2, channels=("Email",)), "device_class")
    assert by_device.to_pylist()[0]["segment"] == "mobile"
    assert by_device.to_pylist()[0]["sessions"] == 2


def test_attribution_by_channel_and_campaign_per_model(warehouse: Recording) -> None:
    email = Filters(D1, D2, channels=("Email",))
    rows = queries.attribution_by_channel(warehouse, email).to_pylist()
    assert [
        (
            row["attribution_model"],
            row["channel"],
            row["credited_conversions"],
            row["revenue_credited"],
        )
        for row in rows
    ] == [("last_click", "Email", 1.0, 25.0), ("linear", "Email", 1.5, 50.0)]
    campaigns = queries.attribution_by_campaign(warehouse, PERIOD).to_pylist()
    assert ("(none)", "linear", 25.0) in [
        (row["campaign"], row["attribution_model"], row["revenue_credited"]) for row in campaigns
    ]
    assert PERIOD.ignored(country=False, variant=False, channel=True) == []
    assert Filters(D1, D2, countries=("US",)).ignored(False, False, True) == ["country"]


def test_engagement_pages_and_retention(warehouse: Recording) -> None:
    daily = queries.engagement_daily(warehouse, PERIOD).to_pylist()
    assert len(daily) == 1
    assert daily[0]["sessions"] == 40 and daily[0]["engaged_sessions"] == 16
    assert daily[0]["bounce_rate"] == pytest.approx(0.25)
    assert daily[0]["avg_session_seconds"] == pytest.approx(75.0)
    pages = queries.top_pages(warehouse, PERIOD).to_pylist()
    assert [(row["page_path"], row["pageviews"], row["exit_rate"]) for row in pages] == [
        ("/compare/x", 15, pytest.approx(0.2)),
        ("/home", 8, pytest.approx(0.5)),
    ]
    cohorts = queries.retention(warehouse, PERIOD).to_pylist()
    assert {(row["cohort_week"], row["weeks_since"]) for row in cohorts} == {
        (date(2026, 10, 26), 0),
        (date(2026, 10, 26), 1),
    }


def test_data_health(warehouse: Recording) -> None:
    checks = queries.latest_checks(warehouse).to_pylist()
    assert [(row["asset_key"], row["passed"]) for row in checks] == [
        ("silver/silver_events", False),
        ("gold/fact_funnel", True),
    ]
    quarantine = queries.quarantine_by_reason(warehouse, PERIOD).to_pylist()
    assert [(row["stage"], row["kind"], row["events"]) for row in quarantine] == [
        ("ingest", "schema", 2),
        ("bronze_load", "duplicate", 1),
    ]
    late = queries.late_share(warehouse, PERIOD).to_pylist()
    assert [(row["day"], row["events"], row["late_events"]) for row in late] == [
        (D1, 3, 1),
        (D2, 1, 0),
    ]
    fresh = queries.freshness(warehouse).to_pylist()
    assert {row["table_name"] for row in fresh} >= {"mart.fact_funnel", "lake.check_results"}


def _publish_live_events(settings: Settings) -> None:
    """Five events in the last minute and three half an hour ago, stamped now: the real-time
    marts count back from the time they are read."""
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    moments = [now - timedelta(seconds=10 * n) for n in range(5)]
    moments += [now - timedelta(minutes=30 + n) for n in range(3)]
    store = RealtimeStore(settings)
    store.add([_rt_event(f"e{n}", moment, f"u{n % 3}") for n, moment in enumerate(moments)])
    store.publish()
    store.close()


def test_realtime_marts(lake: Settings, warehouse: Recording) -> None:
    _publish_live_events(lake)
    active = {row["window_minutes"]: row for row in queries.realtime_active(warehouse).to_pylist()}
    assert active[5]["events"] == 5 and active[60]["events"] == 8
    assert active[60]["active_users"] == 3
    minutes = queries.realtime_minutes(warehouse).to_pylist()
    assert sum(row["events"] for row in minutes) == 8
    assert sum(row["payout"] for row in minutes) == pytest.approx(2.5)
    assert queries.realtime_top_pages(warehouse).to_pylist()[0]["page_views"] == 7
    assert queries.realtime_countries(warehouse).to_pylist()[0]["country"] == "US"


def test_every_query_parses_as_trino_and_duckdb(lake: Settings) -> None:
    _publish_live_events(lake)
    recording = Recording(lake)
    try:
        queries.choices(recording)
        for run in (
            queries.kpis,
            queries.daily_trend,
            queries.funnel_steps,
            queries.attribution_by_channel,
            queries.attribution_by_campaign,
            queries.engagement_daily,
            queries.top_pages,
            queries.retention,
            queries.quarantine_by_reason,
            queries.late_share,
        ):
            run(recording, Filters(D1, D2, ("US",), ("A",), ("Direct",)))
        for dimension in queries.BREAKDOWNS:
            queries.funnel_by(recording, PERIOD, dimension)  # type: ignore[arg-type]
        for live in (
            queries.latest_checks,
            queries.realtime_minutes,
            queries.realtime_active,
            queries.realtime_top_pages,
            queries.realtime_countries,
        ):
            live(recording)
    finally:
        recording.close()
    assert len(recording.statements) == 23
    for sql in recording.statements:
        for dialect in ("trino", "duckdb"):
            sqlglot.parse_one(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
