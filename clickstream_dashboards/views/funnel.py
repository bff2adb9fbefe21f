"""Funnel: comparison → chart → affiliate click → purchase, split by variant, country, channel,
device, with the A/B readout."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clickstream_dashboards import charts, queries
from clickstream_dashboards.context import cached, count, filters, percent
from clickstream_dashboards.stats import Proportion, two_proportion_test

STEP_NAMES = dict(queries.FUNNEL_STEPS)


def _rates(frame: pd.DataFrame) -> pd.DataFrame:
    shown = pd.DataFrame({"Segment": frame["segment"], "Sessions": frame["sessions"]})
    for step, label in queries.FUNNEL_STEPS[1:]:
        shown[label] = [
            percent(part / whole if whole else None)
            for part, whole in zip(frame[step], frame["sessions"], strict=True)
        ]
    return shown


def _ab_readout(by_variant: pd.DataFrame) -> None:
    st.subheader("A/B test: affiliate-click rate by variant")
    arms = [
        Proportion(str(row.segment), int(row.clicked_affiliate), int(row.sessions))
        for row in by_variant.itertuples()
        if row.segment != "(unknown)"
    ]
    arms.sort(key=lambda arm: arm.label)
    if len(arms) < 2:
        st.info("The period has fewer than two variants: nothing to compare.")
        return
    control = arms[0]
    for treatment in arms[1:]:
        test = two_proportion_test(control, treatment)
        if test is None:
            st.info(f"{treatment.label} vs {control.label}: not enough sessions to test.")
            continue
        verdict = "significant" if test.significant() else "not significant"
        st.markdown(
            f"**{treatment.label} vs {control.label}**: {percent(treatment.rate, 2)} vs "
            f"{percent(control.rate, 2)} of sessions clicked an affiliate link through the "
            f"whole funnel ({test.lift_points:+.2f} points), z = {test.z:.2f}, "
            f"p = {test.p_value:.3f}: **{verdict}** at the 5% level "
            f"(two-sided two-proportion z-test)."
        )


def render() -> None:
    active = filters()
    st.title("Funnel")
    st.caption(
        "Human sessions that reached each step having reached every step before it. "
        "Source: mart.fact_funnel."
    )
    steps = cached("funnel_steps", active)
    table = pd.DataFrame(
        {
            "Step": [STEP_NAMES[step] for step in steps],
            "Sessions": [count(value) for value in steps.values()],
            "Of previous step": [""]
            + [
                percent(after / before if before else None)
                for before, after in zip(
                    list(steps.values()), list(steps.values())[1:], strict=False
                )
            ],
            "Of all sessions": [
                percent(value / steps["sessions"] if steps["sessions"] else None)
                for value in steps.values()
            ],
        }
    )
    left, right = st.columns([2, 3])
    left.table(table, hide_index=True)
    right.altair_chart(
        charts.bars(
            pd.DataFrame({"step": table["Step"], "sessions": list(steps.values())}),
            "sessions:Q",
            "step:N",
            "Sessions reaching each step",
            x_title="Sessions",
            y_title="Step",
            sort=None,
        ),
        width="stretch",
    )
    for dimension, label in queries.BREAKDOWNS.items():
        frame = cached("funnel_by", active, dimension).to_pandas()
        if dimension == "ab_variant":
            _ab_readout(frame)
        st.subheader(f"Step rates by {label} (share of the segment's sessions)")
        st.table(_rates(frame.head(12)), hide_index=True)
