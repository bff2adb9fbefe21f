"""Overview: users, sessions, conversions, revenue and payout, against the previous period."""

from __future__ import annotations

import streamlit as st

from clickstream_dashboards import charts
from clickstream_dashboards.context import cached, change, count, dollars, filters

METRICS = (
    ("users", "Users", count),
    ("sessions", "Sessions", count),
    ("conversions", "Conversions", count),
    ("revenue", "Revenue (USD)", dollars),
    ("payout", "Affiliate payout (USD)", dollars),
)


def render() -> None:
    active = filters()
    st.title("Overview")
    st.caption(
        f"Human traffic, {active.start:%d %b %Y} to {active.end:%d %b %Y} (UTC event dates), "
        f"compared with the {active.days} day{'s' if active.days != 1 else ''} before. "
        "Source: mart.fact_funnel."
    )
    current = cached("kpis", active)
    previous = cached("kpis", active.previous())
    for column, (name, label, shown) in zip(st.columns(len(METRICS)), METRICS, strict=True):
        column.metric(label, shown(current[name]), change(current[name], previous[name]))

    trend = cached("daily_trend", active).to_pandas()
    if trend.empty:
        st.info("No sessions in this period.")
        return
    left, right = st.columns(2)
    left.altair_chart(
        charts.line(
            charts.measures(trend, "day", {"users": "Users", "sessions": "Sessions"}, "count"),
            "day:T",
            "count:Q",
            "Users and sessions per day",
            x_title="Event date (UTC)",
            y_title="Count",
            color="measure",
        ),
        width="stretch",
    )
    right.altair_chart(
        charts.line(
            charts.measures(
                trend, "day", {"revenue": "Revenue", "payout": "Affiliate payout"}, "usd"
            ),
            "day:T",
            "usd:Q",
            "Revenue and affiliate payout per day",
            x_title="Event date (UTC)",
            y_title="USD",
            color="measure",
            y_format="$,.0f",
        ),
        width="stretch",
    )
    st.altair_chart(
        charts.line(
            trend,
            "day:T",
            "conversions:Q",
            "Conversions per day",
            x_title="Event date (UTC)",
            y_title="Conversions",
        ),
        width="stretch",
    )
