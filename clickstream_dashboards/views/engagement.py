"""Engagement: daily trends, the most viewed pages and weekly retention cohorts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clickstream_dashboards import charts
from clickstream_dashboards.context import cached, count, filters, note_ignored, percent


def render() -> None:
    active = filters()
    st.title("Engagement")
    st.caption("Sources: mart.agg_engagement_daily, mart.agg_pages_daily, mart.retention_weekly.")
    daily = cached("engagement_daily", active).to_pandas()
    if daily.empty:
        st.info("No sessions in this period.")
        return
    left, right = st.columns(2)
    left.altair_chart(
        charts.line(
            charts.measures(
                daily,
                "day",
                {"sessions": "Sessions", "engaged_sessions": "Engaged sessions"},
                "count",
            ),
            "day:T",
            "count:Q",
            "Sessions and engaged sessions per day",
            x_title="Event date (UTC)",
            y_title="Sessions",
            color="measure",
        ),
        width="stretch",
    )
    right.altair_chart(
        charts.line(
            daily,
            "day:T",
            "avg_session_seconds:Q",
            "Average session length per day",
            x_title="Event date (UTC)",
            y_title="Seconds",
            y_format=",.0f",
        ),
        width="stretch",
    )
    st.altair_chart(
        charts.line(
            daily,
            "day:T",
            "bounce_rate:Q",
            "Bounce rate per day",
            x_title="Event date (UTC)",
            y_title="Share of sessions not engaged",
            y_format=".0%",
        ),
        width="stretch",
    )
    st.subheader("Most viewed pages")
    note_ignored(active, country=False, variant=False, channel=False)
    pages = cached("top_pages", active).to_pandas()
    st.table(
        pd.DataFrame(
            {
                "Page": pages["page_path"],
                "Pageviews": pages["pageviews"].map(count),
                "Entrances": pages["entrances"].map(count),
                "Exit rate": pages["exit_rate"].map(percent),
            }
        ),
        hide_index=True,
    )
    cohorts = cached("retention", active).to_pandas()
    if cohorts.empty:
        st.info("No cohort started in this period.")
        return
    cohorts["cohort_week"] = pd.to_datetime(cohorts["cohort_week"]).dt.strftime("%Y-%m-%d")
    st.altair_chart(
        charts.heatmap(
            cohorts,
            "weeks_since",
            "cohort_week",
            "retention_rate",
            title="Weekly retention: share of each cohort active N weeks after its first week",
            x_title="Weeks since first visit",
            y_title="Cohort (week of first visit)",
            value_title="Retained users",
        ),
        width="stretch",
    )
