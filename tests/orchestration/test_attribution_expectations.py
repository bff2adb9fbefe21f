"""The Great Expectations suite of fact_attribution, on frames shaped like its scan."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from clickstream_orchestration.checks.expectations import validate
from clickstream_orchestration.checks.suites import (
    ATTRIBUTION_MODELS,
    EVENT_TYPES,
    FACT_ATTRIBUTION_SUITE,
)

DAY = date(2026, 11, 20)


def _credits() -> pd.DataFrame:
    rows = [
        ("c1", model, session, "Email", Decimal(share), 1000, cents, DAY)
        for model in ATTRIBUTION_MODELS
        for session, share, cents in (("s1", "0.5", 500), ("s2", "0.5", 500))
    ] + [
        ("c2", model, "(direct)", "Direct", Decimal(1), 700, 700, DAY)
        for model in ATTRIBUTION_MODELS
    ]
    return pd.DataFrame(rows, columns=FACT_ATTRIBUTION_SUITE.columns)


@pytest.fixture(scope="module")
def good() -> pd.DataFrame:
    return _credits()


def test_credits_as_the_model_writes_them_pass(good: pd.DataFrame) -> None:
    outcome = validate(FACT_ATTRIBUTION_SUITE, good)
    assert outcome.success, outcome.markdown()
    assert outcome.rows == len(good) == 15


def test_a_touch_credited_twice_and_an_unknown_model_fail(good: pd.DataFrame) -> None:
    bad = pd.concat([good, good.iloc[[0]]], ignore_index=True)
    bad.loc[1, "attribution_model"] = "data_driven"
    bad.loc[2, "revenue_credited_cents"] = -1
    failed = {
        (item.expectation, item.column) for item in validate(FACT_ATTRIBUTION_SUITE, bad).failed
    }
    assert failed == {
        ("expect_compound_columns_to_be_unique", None),
        ("expect_column_values_to_be_in_set", "attribution_model"),
        ("expect_column_values_to_be_between", "revenue_credited_cents"),
    }


def test_purchases_are_a_contract_event_type() -> None:
    assert "purchase" in EVENT_TYPES
    assert FACT_ATTRIBUTION_SUITE.rewrite_widen_days == 30
