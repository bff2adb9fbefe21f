"""Attribution on hand-built journeys, credits computed by hand (half-life 7 days, lookback
30 days, first click within 60 minutes).

User a converts (order of 100.00) in a session starting at the purchase itself, after a paid
search session 14 days before and an organic social one 7 days before (plus a session 50 days
before, outside the lookback). The social session arrives late, a day after the purchase: the
first run credits two touches, the arrival-driven run that loads the late touch re-credits the
purchase, and the result equals a full refresh. An anonymous postback (50.00) credits the
affiliate click of a session one hour before it; user c's postback (7.00) has no touch at all;
user d's postback (25.00) comes a day after a paid search session, beyond first click's hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from clickstream_cli.demo_run import attribution_table
from lakehouse.bronze_load import load_hour
from lakehouse.build import build_arrivals, build_lake
from lakehouse.query import query
from streaming.contracts.settings import Settings
from tests.landed_events import Landing, event

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

MODELS = ("first_click", "last_click", "linear", "position_based", "time_decay")
GOOGLE_ADS = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring"}

ON_TIME = [
    event("a0-view", "2026-10-01T12:00:00", session_id="a0", user="user-a", **GOOGLE_ADS),
    event("a1-view", "2026-11-06T12:00:00", session_id="a1", user="user-a", **GOOGLE_ADS),
    event(
        "a3-view",
        "2026-11-20T12:00:00",
        session_id="a3",
        user="user-a",
        utm_source="newsletter",
        utm_medium="email",
        utm_campaign="nov",
    ),
    event(
        "a3-buy",
        "2026-11-20T12:00:00",
        session_id="a3",
        user="user-a",
        event_type="purchase",
        revenue_cents=10_000,
    ),
    event(
        "b1-view",
        "2026-11-20T14:00:00",
        session_id="b1",
        user=None,
        utm_source="partner",
        utm_medium="affiliate",
        utm_campaign="deal",
    ),
    event(
        "b1-click",
        "2026-11-20T14:00:00",
        session_id="b1",
        user=None,
        event_type="affiliate_click",
    ),
    event(
        "b-postback",
        "2026-11-20T15:00:00",
        session_id=None,
        user=None,
        event_type="purchase",
        revenue_cents=5_000,
        affiliate_click_id="b1-click",
    ),
    event(
        "c-postback",
        "2026-11-20T18:00:00",
        session_id=None,
        user="user-c",
        event_type="purchase",
        revenue_cents=700,
    ),
    event(
        "d1-view",
        "2026-11-19T10:00:00",
        session_id="d1",
        user="user-d",
        utm_source="bing",
        utm_medium="cpc",
        utm_campaign="brand",
    ),
    event(
        "d-postback",
        "2026-11-20T10:00:00",
        session_id=None,
        user="user-d",
        event_type="purchase",
        revenue_cents=2_500,
    ),
]
LATE_TOUCH = event(
    "a2-view",
    "2026-11-13T12:00:00",
    session_id="a2",
    user="user-a",
    referrer="https://www.facebook.com/",
    arrival="2026-11-21T08:00:00",
)

Row = tuple[str, str, str, str, Decimal, int]
"""(conversion, model, touch session, channel, credit share, revenue credited in cents)"""


def _all_models(conversion: str, session: str, channel: str, cents: int) -> list[Row]:
    return [(conversion, model, session, channel, Decimal(1), cents) for model in MODELS]


D = Decimal
A_BEFORE_LATE_TOUCH: list[Row] = [
    ("a3-buy", "first_click", "a3", "Email", D(1), 10_000),
    ("a3-buy", "last_click", "a3", "Email", D(1), 10_000),
    # two touches, a1 (14 days old) and a3 (0 days)
    ("a3-buy", "linear", "a1", "Paid Search", D("0.5"), 5_000),
    ("a3-buy", "linear", "a3", "Email", D("0.5"), 5_000),
    ("a3-buy", "position_based", "a1", "Paid Search", D("0.5"), 5_000),
    ("a3-buy", "position_based", "a3", "Email", D("0.5"), 5_000),
    # weights 0.25 and 1: 1/5 and 4/5
    ("a3-buy", "time_decay", "a1", "Paid Search", D("0.2"), 2_000),
    ("a3-buy", "time_decay", "a3", "Email", D("0.8"), 8_000),
]
A_AFTER_LATE_TOUCH: list[Row] = [
    ("a3-buy", "first_click", "a3", "Email", D(1), 10_000),
    ("a3-buy", "last_click", "a3", "Email", D(1), 10_000),
    # thirds: running totals 0.333333333333, 0.666666666667, 1 and 3333, 6667, 10000 cents
    ("a3-buy", "linear", "a1", "Paid Search", D("0.333333333333"), 3_333),
    ("a3-buy", "linear", "a2", "Organic Social", D("0.333333333334"), 3_334),
    ("a3-buy", "linear", "a3", "Email", D("0.333333333333"), 3_333),
    ("a3-buy", "position_based", "a1", "Paid Search", D("0.4"), 4_000),
    ("a3-buy", "position_based", "a2", "Organic Social", D("0.2"), 2_000),
    ("a3-buy", "position_based", "a3", "Email", D("0.4"), 4_000),
    # weights 0.25, 0.5, 1 (ages 2, 1, 0 half-lives): 1/7, 2/7, 4/7; running totals
    # 0.142857142857, 0.428571428571, 1 and 1429, 4286, 10000 cents
    ("a3-buy", "time_decay", "a1", "Paid Search", D("0.142857142857"), 1_429),
    ("a3-buy", "time_decay", "a2", "Organic Social", D("0.285714285714"), 2_857),
    ("a3-buy", "time_decay", "a3", "Email", D("0.571428571429"), 5_714),
]
OTHERS: list[Row] = [
    # the credited click's session, exactly one hour old: inside first click's window
    *_all_models("b-postback", "b1", "Affiliates", 5_000),
    *_all_models("c-postback", "(direct)", "Direct", 700),
    ("d-postback", "first_click", "(direct)", "Direct", D(1), 2_500),
    *[("d-postback", model, "d1", "Paid Search", D(1), 2_500) for model in MODELS[1:]],
]


@dataclass(frozen=True)
class Runs:
    settings: Settings
    before_late_touch: list[Row]
    after_late_touch: list[dict[str, Any]]
    daily_after_late_touch: list[dict[str, Any]]


def _fact(settings: Settings) -> list[dict[str, Any]]:
    return query(
        settings,
        "select * exclude (touch_ts, conversion_ts), cast(touch_ts as varchar) as touch_ts "
        "from mart.fact_attribution order by all",
    ).to_pylist()


def _daily(settings: Settings) -> list[dict[str, Any]]:
    return query(settings, "select * from mart.agg_attribution_daily order by all").to_pylist()


def _rows(facts: list[dict[str, Any]]) -> list[Row]:
    return sorted(
        (
            row["conversion_id"],
            row["attribution_model"],
            row["touch_session_id"],
            row["channel"],
            row["credit_share"].normalize(),
            row["revenue_credited_cents"],
        )
        for row in facts
    )


def _expected(rows: list[Row]) -> list[Row]:
    return sorted((*row[:4], row[4].normalize(), row[5]) for row in rows)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    settings = Settings(home=tmp_path_factory.mktemp("attribution"))
    landing = Landing(settings)
    by_arrival: dict[str, list[dict[str, Any]]] = {}
    for record in ON_TIME:
        by_arrival.setdefault(record["ts"][:13], []).append(record)
    for records in by_arrival.values():
        load_hour(settings, landing.land(records))
    build_arrivals(settings, run_tests=False, in_process=True)
    before = _rows(_fact(settings))
    load_hour(settings, landing.land([LATE_TOUCH]))
    # with the data tests: a failing one (conservation, every conversion once per model)
    # withholds the run's tables and fails it
    build_arrivals(settings, run_tests=True, in_process=True)
    yield Runs(settings, before, _fact(settings), _daily(settings))


def test_credits_before_the_late_touch(runs: Runs) -> None:
    assert runs.before_late_touch == _expected(A_BEFORE_LATE_TOUCH + OTHERS)


def test_a_late_touch_re_credits_the_conversion_it_precedes(runs: Runs) -> None:
    assert _rows(runs.after_late_touch) == _expected(A_AFTER_LATE_TOUCH + OTHERS)


def test_touch_details(runs: Runs) -> None:
    linear = {
        row["touch_session_id"]: row
        for row in runs.after_late_touch
        if row["conversion_id"] == "a3-buy" and row["attribution_model"] == "linear"
    }
    assert [linear[s]["touch_position"] for s in ("a1", "a2", "a3")] == [1, 2, 3]
    assert (linear["a1"]["source"], linear["a1"]["medium"], linear["a1"]["campaign"]) == (
        "google",
        "cpc",
        "spring",
    )
    assert (linear["a2"]["source"], linear["a2"]["medium"]) == ("Facebook", "social")
    assert linear["a1"]["touch_ts"].startswith("2026-11-06 12:00:00")
    assert {row["order_id"] for row in runs.after_late_touch} >= {"order-a3-buy"}
    direct = [row for row in runs.after_late_touch if row["touch_session_id"] == "(direct)"]
    assert all(row["touch_ts"] is None and row["source"] == "(direct)" for row in direct)


def test_the_daily_roll_up_adds_up(runs: Runs) -> None:
    by_model: dict[str, tuple[Decimal, int]] = {}
    for row in runs.daily_after_late_touch:
        conversions, cents = by_model.get(row["attribution_model"], (Decimal(0), 0))
        by_model[row["attribution_model"]] = (
            conversions + row["conversions"],
            cents + row["revenue_credited_cents"],
        )
    assert by_model == dict.fromkeys(MODELS, (Decimal(4), 18_200))
    email = [
        row
        for row in runs.daily_after_late_touch
        if row["attribution_model"] == "linear" and row["channel"] == "Email"
    ]
    assert [(row["campaign"], row["conversions"].normalize()) for row in email] == [
        ("nov", Decimal("0.333333333333"))
    ]


def test_the_demo_summary_shows_each_model(runs: Runs) -> None:
    console = Console(record=True, width=160)
    console.print(attribution_table(runs.settings))
    text = console.export_text()
    for model in ("first click", "last click", "linear", "position based", "time decay"):
        assert model in text
    # 4 conversions and $182.00 under every model; first click: Email, Affiliates, Direct
    assert text.count("$182.00") == 5
    first_click = next(line for line in text.splitlines() if "first click" in line)
    assert "Email $100.00 (1.0), Affiliates $50.00 (1.0), Direct $32.00 (2.0)" in first_click


def test_incremental_runs_equal_a_full_refresh(runs: Runs, tmp_path: Path) -> None:
    build_lake(runs.settings, full_refresh=True, run_tests=False, in_process=True)
    assert _fact(runs.settings) == runs.after_late_touch
    assert _daily(runs.settings) == runs.daily_after_late_touch
