"""Attribution: conversions and revenue credited to channels and campaigns, per model."""

from __future__ import annotations

import streamlit as st

from clickstream_dashboards import charts
from clickstream_dashboards.context import cached, count, filters, money, note_ignored


def render() -> None:
    active = filters()
    st.title("Attribution")
    st.caption(
        "Each conversion's credit shared among the sessions that led to it, by five "
        "models side by side. Source: mart.agg_attribution_daily."
    )
    note_ignored(active, country=False, variant=False, channel=True)
    by_channel = cached("attribution_by_channel", active).to_pandas()
    if by_channel.empty:
        st.info("No conversions in this period.")
        return
    st.altair_chart(
        charts.bars(
            by_channel,
            "revenue_credited:Q",
            "channel:N",
            "Revenue credited to each channel, by attribution model",
            x_title="Revenue (USD)",
            y_title="Channel",
            color="attribution_model",
            x_format="$,.0f",
        ),
        width="stretch",
    )
    pivot = by_channel.pivot_table(
        index="channel",
        columns="attribution_model",
        values="credited_conversions",
        aggfunc="sum",
        fill_value=0,
    )
    st.subheader("Credited conversions by channel and model")
    st.table(pivot.map(lambda value: f"{value:,.2f}"))
    campaigns = cached("attribution_by_campaign", active).to_pandas()
    revenue = campaigns.pivot_table(
        index="campaign",
        columns="attribution_model",
        values="revenue_credited",
        aggfunc="sum",
        fill_value=0,
    )
    st.subheader("Revenue credited by campaign and model (USD)")
    st.table(revenue.map(money))
    st.caption(f"{count(len(revenue))} campaigns.")
