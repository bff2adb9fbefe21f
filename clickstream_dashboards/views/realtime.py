"""Real time: the last 60 minutes per minute from the rt.* marts, refreshing by itself."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import streamlit as st

from clickstream_dashboards import charts, queries
from clickstream_dashboards.context import count, dollars, warehouse
from lakehouse.warehouse import WarehouseError

REFRESH_SECONDS = 5


def _path(url: str) -> str:
    """The page's path: the site is the same on every row, and a full URL crowds the table."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "") or "/"


@st.fragment(run_every=REFRESH_SECONDS)
def _live() -> None:
    source = warehouse()
    try:
        minutes = queries.realtime_minutes(source).to_pandas()
        active = {row["window_minutes"]: row for row in queries.realtime_active(source).to_pylist()}
        pages = queries.realtime_top_pages(source).to_pandas()
        countries = queries.realtime_countries(source).to_pandas()
    except WarehouseError as error:
        st.warning(f"The real-time marts are not available: {error}")
        return
    st.caption(f"Updated {datetime.now(UTC):%H:%M:%S} UTC; refreshes every {REFRESH_SECONDS} s.")
    last_hour = active.get(60, {})
    cells = st.columns(5)
    cells[0].metric("Active users, last 5 min", count(active.get(5, {}).get("active_users")))
    cells[1].metric("Active users, last 60 min", count(last_hour.get("active_users")))
    cells[2].metric("Events, last 60 min", count(last_hour.get("events")))
    cells[3].metric("Affiliate clicks, last 60 min", count(minutes["affiliate_clicks"].sum()))
    cells[4].metric("Payout, last 60 min (USD)", dollars(minutes["payout"].sum()))
    if minutes.empty:
        st.info("No events in the last 60 minutes.")
        return
    st.altair_chart(
        charts.line(
            charts.measures(
                minutes,
                "minute_ts",
                {
                    "events": "All events",
                    "page_views": "Pageviews",
                    "affiliate_clicks": "Affiliate clicks",
                },
                "count",
            ),
            "minute_ts:T",
            "count:Q",
            "Events per minute, last 60 minutes",
            x_title="Minute (UTC)",
            y_title="Events",
            color="measure",
        ),
        width="stretch",
    )
    left, right = st.columns(2)
    left.subheader("Top pages, last 60 minutes")
    pages["page_url"] = pages["page_url"].map(_path)
    left.table(
        pages.rename(
            columns={
                "page_rank": "Rank",
                "page_url": "Page",
                "page_views": "Pageviews",
                "users": "Users",
            }
        ),
        hide_index=True,
    )
    right.subheader("Countries, last 60 minutes")
    right.table(
        countries.rename(
            columns={
                "country": "Country",
                "events": "Events",
                "sessions": "Sessions",
                "users": "Users",
            }
        ),
        hide_index=True,
    )


def render() -> None:
    st.title("Real time")
    st.caption("The minute marts the stream keeps within seconds (rt.*); no filters apply.")
    _live()
