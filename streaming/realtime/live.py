"""``clickstream rt top``: the last hour per minute and the top pages, redrawn every second.

By default the hour ends now (the ``rt.last_hour_per_minute`` and ``rt.top_pages_last_hour``
marts as they are). ``anchor="latest"`` ends it at the newest event time instead, which is what
a replay of historical traffic (generated days) needs to show anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import duckdb
import orjson
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from streaming.contracts.settings import Settings
from streaming.realtime.store import open_realtime

Anchor = Literal["now", "latest"]
BARS = " ▁▂▃▄▅▆▇█"
SERIES_COLUMNS = (
    "minute_ts, events, page_views, chart_interactions, affiliate_clicks, payout_cents, "
    "sessions, users"
)

_SERIES_AT = """
    SELECT date_trunc('minute', ts) AS minute_ts, count(*) AS events,
           count(*) FILTER (WHERE event_type = 'page_view') AS page_views,
           count(*) FILTER (WHERE event_type = 'chart_interaction') AS chart_interactions,
           count(*) FILTER (WHERE event_type = 'affiliate_click') AS affiliate_clicks,
           coalesce(sum(payout_cents) FILTER (WHERE event_type = 'affiliate_click'), 0)
               AS payout_cents,
           count(DISTINCT session_id) AS sessions, count(DISTINCT user_id_hash) AS users
    FROM rt.events WHERE ts > $anchor - INTERVAL 60 MINUTE AND ts <= $anchor
    GROUP BY 1"""
_PAGES_AT = """
    SELECT rank() OVER (ORDER BY page_views DESC, page_url) AS page_rank, page_url, page_views,
           users
    FROM (SELECT page_url, count(*) AS page_views, count(DISTINCT user_id_hash) AS users
          FROM rt.events
          WHERE event_type = 'page_view' AND page_url IS NOT NULL
            AND ts > $anchor - INTERVAL 60 MINUTE AND ts <= $anchor
          GROUP BY page_url)"""


@dataclass(frozen=True)
class Frame:
    anchor: datetime | None
    series: list[dict[str, Any]]
    pages: list[dict[str, Any]]
    active: list[dict[str, Any]]
    total_events: int
    published_at: str | None
    consumer: dict[str, Any] | None


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, parameters: Any = None) -> list[dict]:
    result = conn.execute(sql, parameters or {})
    names = [column[0] for column in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def read_frame(settings: Settings, *, anchor: Anchor = "now", pages: int = 10) -> Frame:
    """One consistent reading of the published snapshot."""
    with open_realtime(settings) as conn:
        meta = dict(conn.execute("SELECT key, value FROM rt._meta").fetchall())
        total = conn.execute("SELECT count(*) FROM rt.events").fetchone()
        if anchor == "latest":
            latest = conn.execute("SELECT max(ts) FROM rt.events").fetchone()
            at = latest[0] if latest else None
            parameters = {"anchor": at}
            series = _rows(conn, f"{_SERIES_AT} ORDER BY 1", parameters) if at else []
            top = _rows(conn, f"{_PAGES_AT} ORDER BY 1 LIMIT {pages}", parameters) if at else []
        else:
            now = conn.execute("SELECT timezone('UTC', now())").fetchone()
            assert now is not None  # a SELECT without FROM returns one row
            at = now[0]
            series = _rows(
                conn, f"SELECT {SERIES_COLUMNS} FROM rt.last_hour_per_minute ORDER BY minute_ts"
            )
            top = _rows(
                conn,
                "SELECT page_rank, page_url, page_views, users FROM rt.top_pages_last_hour "
                f"ORDER BY page_rank, page_url LIMIT {pages}",
            )
        active = _rows(conn, "SELECT * FROM rt.active_users ORDER BY window_minutes")
    status_path = settings.realtime_dir / "consumer.json"
    consumer = orjson.loads(status_path.read_bytes()) if status_path.exists() else None
    return Frame(
        at,
        series,
        top,
        active,
        int(total[0]) if total else 0,
        meta.get("published_at"),
        consumer,
    )


def sparkline(values: list[int]) -> str:
    top = max(values, default=0)
    if top == 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, round(v / top * (len(BARS) - 1)))] for v in values)


def minute_counts(frame: Frame, minutes: int = 60) -> list[int]:
    """Events per minute for each of the hour's minutes, oldest first (0 without traffic)."""
    if frame.anchor is None:
        return []
    end = frame.anchor.replace(second=0, microsecond=0)
    by_minute = {row["minute_ts"]: int(row["events"]) for row in frame.series}
    return [by_minute.get(end - timedelta(minutes=back), 0) for back in range(minutes - 1, -1, -1)]


def render(frame: Frame) -> Group:
    """The frame as rich renderables: header, minute series, top pages."""
    header = Text()
    header.append("real-time marts  ", style="bold")
    header.append(f"hour ending {frame.anchor:%Y-%m-%d %H:%M:%S} UTC  " if frame.anchor else "")
    header.append(f"{frame.total_events:,} events retained  ")
    if frame.published_at:
        header.append(f"published {frame.published_at}")
    if frame.consumer:
        state = frame.consumer.get("state")
        header.append(
            f"\nconsumer {state} (pid {frame.consumer.get('pid')}): "
            f"{frame.consumer.get('records_read', 0):,} records read, "
            f"{frame.consumer.get('duplicates_dropped', 0):,} duplicates dropped"
        )
    for row in frame.active:
        header.append(
            f"\nlast {row['window_minutes']:>2} min (now): {row['events']:,} events, "
            f"{row['active_sessions']:,} sessions, {row['active_users']:,} users"
        )
    counts = minute_counts(frame)
    series = Table(title="last hour per minute", expand=False)
    for column in ("minute", "events", "page views", "charts", "affiliate", "payout", "users"):
        series.add_column(column, justify="right" if column != "minute" else "left")
    for row in frame.series[-15:]:
        series.add_row(
            f"{row['minute_ts']:%H:%M}",
            f"{row['events']:,}",
            f"{row['page_views']:,}",
            f"{row['chart_interactions']:,}",
            f"{row['affiliate_clicks']:,}",
            f"{row['payout_cents'] / 100:,.2f}",
            f"{row['users']:,}",
        )
    pages = Table(title="top pages, last hour")
    for column in ("#", "page", "views", "users"):
        pages.add_column(column, justify="left" if column == "page" else "right")
    for row in frame.pages:
        pages.add_row(
            str(row["page_rank"]), str(row["page_url"]), f"{row['page_views']:,}", str(row["users"])
        )
    spark = Panel(
        Text(sparkline(counts) if any(counts) else "(no events in this hour)"),
        title=f"events per minute, last 60 minutes (peak {max(counts, default=0):,})",
    )
    return Group(header, spark, series, pages)
