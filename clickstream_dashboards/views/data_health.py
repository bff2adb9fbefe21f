"""Data health: the latest check results, quarantine by reason, freshness, late events."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from clickstream_dashboards import charts
from clickstream_dashboards.context import cached, count, filters, note_ignored, percent
from lakehouse.warehouse import WarehouseError

CHECK_COLUMNS = {
    "asset_key": "Asset",
    "check_name": "Check",
    "result": "Result",
    "severity": "Severity",
    "evaluated_at": "Evaluated (UTC)",
    "detail": "Detail",
}


def _age(committed: datetime | None, now: datetime) -> str:
    if committed is None or pd.isna(committed):
        return "never"
    minutes = int((now - committed).total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def render() -> None:
    active = filters()
    st.title("Data health")
    st.caption(
        "Sources: lake.check_results, lake.quarantine_events, lake.silver_events and "
        "the tables' commit history."
    )
    st.subheader("Latest check results")
    try:
        checks = cached("latest_checks").to_pandas()
    except WarehouseError:
        checks = pd.DataFrame()
    if checks.empty:
        st.info("No check has run yet: checks are recorded after each Dagster run.")
    else:
        failing = checks[~checks["passed"]]
        cells = st.columns(2)
        cells[0].metric("Checks", count(len(checks)))
        cells[1].metric("Failing now", count(len(failing)))
        if not failing.empty:
            st.warning(f"{len(failing)} check(s) failing at their latest evaluation.")
            st.table(
                failing[["asset_key", "check_name", "severity", "evaluated_at", "detail"]].rename(
                    columns=CHECK_COLUMNS
                ),
                hide_index=True,
            )
        per_asset = (
            checks.assign(failed=~checks["passed"])
            .groupby("asset_key", as_index=False)
            .agg(
                checks=("check_name", "count"),
                failed=("failed", "sum"),
                latest=("evaluated_at", "max"),
            )
        )
        st.table(
            per_asset.rename(
                columns={
                    "asset_key": "Asset",
                    "checks": "Checks",
                    "failed": "Failing",
                    "latest": "Latest run (UTC)",
                }
            ),
            hide_index=True,
        )
        with st.expander("Every check's latest result"):
            shown = checks.assign(result=checks["passed"].map({True: "passed", False: "FAILED"}))
            st.dataframe(
                shown[["asset_key", "check_name", "result", "severity", "evaluated_at"]].rename(
                    columns=CHECK_COLUMNS
                ),
                hide_index=True,
            )

    st.subheader("Freshness: latest commit per table")
    now = datetime.now(UTC).replace(tzinfo=None)
    fresh = cached("freshness").to_pandas()
    fresh["age"] = [_age(value, now) for value in fresh["committed_at"]]
    st.table(
        fresh.rename(
            columns={"table_name": "Table", "committed_at": "Committed (UTC)", "age": "Age"}
        ),
        hide_index=True,
    )

    st.subheader("Quarantine by stage and reason")
    note_ignored(active, country=False, variant=False, channel=False)
    quarantine = cached("quarantine_by_reason", active).to_pandas()
    if quarantine.empty:
        st.info("Nothing was quarantined in this period.")
    else:
        st.metric("Quarantined events", count(quarantine["events"].sum()))
        st.table(
            quarantine.rename(columns={"stage": "Stage", "kind": "Reason", "events": "Events"}),
            hide_index=True,
        )

    late = cached("late_share", active).to_pandas()
    if not late.empty:
        total = late["events"].sum()
        st.metric(
            "Late events (over an hour after they happened)",
            percent(late["late_events"].sum() / total if total else None, 2),
        )
        st.altair_chart(
            charts.line(
                late,
                "day:T",
                "late_share:Q",
                "Share of late events per event day",
                x_title="Event date (UTC)",
                y_title="Share of events",
                y_format=".1%",
            ),
            width="stretch",
        )
