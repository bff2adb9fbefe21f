"""The arrival plan without dbt: what counts as arrived, what the index says, how the plan
travels in a run tag, and the partition range a scheduled run covers."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from clickstream_orchestration.lakehouse.arrivals import (
    ArrivalPlan,
    decode_days,
    encode_days,
    plan_arrivals,
    record_consumed,
)
from clickstream_orchestration.lakehouse.bronze_load import load_hour
from clickstream_orchestration.partitions import EVENT_DAYS
from clickstream_orchestration.resources import LakehouseResource
from clickstream_orchestration.schedules import gold_refresh, partition_range
from streaming.landing import bronze_key, landing_store
from streaming.settings import Settings
from tests.landed_events import Landing, event


def test_days_travel_as_ranges() -> None:
    days = (date(2026, 10, 11), date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21))
    assert encode_days(days) == "2026-10-11,2026-11-19..2026-11-21"
    assert decode_days(encode_days(days)) == days
    assert decode_days("") == ()


def test_a_plan_survives_its_run_tag() -> None:
    plan = ArrivalPlan(
        42,
        {(date(2026, 11, 20), "13"): datetime(2026, 11, 20, 13, 5)},
        event_days=(date(2026, 10, 11), date(2026, 11, 20)),
        ingest_days=(date(2026, 10, 11), date(2026, 10, 12), date(2026, 11, 20)),
    )
    decoded = ArrivalPlan.decode(plan.encode())
    assert (decoded.ledger_snapshot, decoded.event_days, decoded.ingest_days) == (
        42,
        plan.event_days,
        plan.ingest_days,
    )
    assert decoded.rebuild().as_vars() == {
        "event_days": ["2026-10-11", "2026-11-20"],
        "ingest_days": ["2026-10-11", "2026-10-12", "2026-11-20"],
    }


def test_the_partition_range_spans_the_sessions_and_stays_within_the_partitions() -> None:
    plan = ArrivalPlan(1, event_days=(date(2026, 11, 10), date(2026, 11, 20)))
    now = datetime(2026, 11, 20, 14, 15, tzinfo=UTC)
    assert partition_range(plan, now) == ("2026-11-09", "2026-11-20")
    before_the_start = EVENT_DAYS.start.date().replace(year=2019)
    old = ArrivalPlan(1, event_days=(before_the_start,))
    first = EVENT_DAYS.start.strftime("%Y-%m-%d")
    assert partition_range(old, now) == (first, first)


def test_arrivals_are_hours_whose_load_was_not_consumed(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert plan_arrivals(settings).empty
    landing = Landing(settings)
    on_time = landing.land([event("a", "2026-11-20T10:00:00", session_id="s")])
    load_hour(settings, on_time)
    plan = plan_arrivals(settings)
    assert list(plan.loads) == [(date(2026, 11, 20), "10")]
    assert (plan.event_days, plan.ingest_days) == ((date(2026, 11, 20),), (date(2026, 11, 20),))
    record_consumed(settings, plan.loads, ledger_sequence=plan.ledger_sequence)
    assert plan_arrivals(settings).empty

    # a late object in the consumed hour reloads it: the hour arrives again, with both days
    late = [event("b", "2026-11-02T10:00:00", session_id="t", arrival="2026-11-20T10:30:00")]
    assert landing.land(late) == on_time
    load_hour(settings, on_time)
    plan = plan_arrivals(settings)
    assert list(plan.loads) == [(date(2026, 11, 20), "10")]
    assert plan.event_days == (date(2026, 11, 2), date(2026, 11, 20))
    # a plan as of that ledger snapshot is unchanged by a load that came later
    load_hour(settings, landing.land([event("c", "2026-11-20T11:00:00", session_id="u")]))
    assert len(plan_arrivals(settings).loads) == 2
    assert plan_arrivals(settings, ledger_snapshot=plan.ledger_snapshot).loads == plan.loads


def test_a_load_without_events_is_consumed_without_a_run(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    arrival = datetime(2026, 11, 20, 9, 10, tzinfo=UTC)
    key = bronze_key(settings, "page_view", arrival, "not-events")
    landing_store(settings).put(key, gzip.compress(b"not json\n{]\n"))
    bronze, _ = load_hour(settings, arrival)
    assert (bronze.loaded_rows, bronze.quarantined_rows) == (0, 2)

    def tick() -> dg.RunRequest | dg.SkipReason:
        context = dg.build_schedule_context(
            scheduled_execution_time=datetime(2026, 11, 20, 10, 15, tzinfo=UTC),
            resources={"lakehouse": LakehouseResource(home=str(settings.home))},
        )
        return gold_refresh(context)

    first = tick()
    assert isinstance(first, dg.SkipReason)
    assert "hold no event" in (first.skip_message or "")
    second = tick()
    assert isinstance(second, dg.SkipReason)
    assert "nothing arrived" in (second.skip_message or "")


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKSTREAM_HOME", str(tmp_path))
