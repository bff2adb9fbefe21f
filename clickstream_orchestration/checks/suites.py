"""The expectation suites of the gated tables, as data: which column must hold what.

Each suite names the columns it reads, so a check scans only those from Iceberg.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EVENT_TYPES = ["page_view", "chart_interaction", "affiliate_click", "purchase"]
ATTRIBUTION_MODELS = ["first_click", "last_click", "linear", "position_based", "time_decay"]
ATTRIBUTION_LOOKBACK_DAYS = 30
"""dbt_project.yml's ``attribution_lookback_days``: fact_attribution's ``rewrite_widen_days``."""
EPOCH_MS_2020 = 1_577_836_800_000


@dataclass(frozen=True)
class Expect:
    """One expectation: a Great Expectations class name and its arguments."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    name: str
    table: str
    columns: list[str]
    expectations: list[Expect]
    partition_column: str
    rewrite_widen_days: int = 0
    """A run rewrites its days widened by this many on each side (the dbt model's
    ``rewrite_widen_days``): the suite validates all of them."""


BRONZE_SUITE = Suite(
    name="bronze_events",
    table="bronze_events",
    columns=["event_id", "event_type", "events_type", "ts", "ingest_ts", "ingest_dt", "hour"],
    partition_column="ingest_dt",
    expectations=[
        Expect("ExpectColumnValuesToNotBeNull", {"column": "event_id"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "ts"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "ingest_ts"}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "event_type", "value_set": EVENT_TYPES}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "events_type", "value_set": EVENT_TYPES}),
        Expect(
            "ExpectColumnValuesToBeBetween", {"column": "ingest_ts", "min_value": EPOCH_MS_2020}
        ),
        Expect("ExpectColumnValueLengthsToEqual", {"column": "hour", "value": 2}),
    ],
)

SILVER_EVENTS_SUITE = Suite(
    name="silver_events",
    table="silver_events",
    columns=["event_id", "event_type", "ts", "ingest_ts", "event_dt", "payout_cents"],
    partition_column="event_dt",
    expectations=[
        Expect("ExpectColumnValuesToNotBeNull", {"column": "event_id"}),
        Expect("ExpectColumnValuesToBeUnique", {"column": "event_id"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "ts"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "event_dt"}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "event_type", "value_set": EVENT_TYPES}),
        Expect(
            "ExpectColumnValuesToBeBetween",
            {"column": "payout_cents", "min_value": 0, "mostly": 1.0},
        ),
    ],
)

FACT_FUNNEL_SUITE = Suite(
    name="fact_funnel",
    table="fact_funnel",
    columns=[
        "session_id",
        "saw_comparison",
        "interacted_chart",
        "clicked_affiliate",
        "payout_cents",
        "event_dt",
    ],
    partition_column="event_dt",
    expectations=[
        Expect("ExpectColumnValuesToNotBeNull", {"column": "session_id"}),
        Expect("ExpectColumnValuesToBeUnique", {"column": "session_id"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "saw_comparison"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "interacted_chart"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "clicked_affiliate"}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "payout_cents", "min_value": 0}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "event_dt"}),
    ],
    rewrite_widen_days=1,
)

FACT_ATTRIBUTION_SUITE = Suite(
    name="fact_attribution",
    table="fact_attribution",
    columns=[
        "conversion_id",
        "attribution_model",
        "touch_session_id",
        "channel",
        "credit_share",
        "revenue_cents",
        "revenue_credited_cents",
        "event_dt",
    ],
    partition_column="event_dt",
    expectations=[
        Expect("ExpectColumnValuesToNotBeNull", {"column": "conversion_id"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "touch_session_id"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "channel"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "credit_share"}),
        Expect(
            "ExpectColumnValuesToBeInSet",
            {"column": "attribution_model", "value_set": ATTRIBUTION_MODELS},
        ),
        Expect(
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["conversion_id", "attribution_model", "touch_session_id"]},
        ),
        Expect("ExpectColumnValuesToBeBetween", {"column": "revenue_cents", "min_value": 0}),
        Expect(
            "ExpectColumnValuesToBeBetween", {"column": "revenue_credited_cents", "min_value": 0}
        ),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "event_dt"}),
    ],
    rewrite_widen_days=ATTRIBUTION_LOOKBACK_DAYS,
)
