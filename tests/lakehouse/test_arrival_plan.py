"""The arrival plan without dbt: what counts as arrived, what the index says, how the plan
travels in a run tag, and the partition range a scheduled run covers."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from clickstream_orchestration.partitions import EVENT_DAYS, REBUILD, REQUESTED_UP_TO
from clickstream_orchestration.resources import LakehouseResource
from clickstream_orchestration.schedules import lake_refresh_schedule, rebuild_requests
from lakehouse.arrivals import (
    decode_days,
    decode_rebuild,
    encode_days,
    encode_rebuild,
    plan_arrivals,
    record_consumed,
)
from lakehouse.bronze_load import load_hour
from lakehouse.rebuild_queue import enqueue, mark_built, queued_days
from lakehouse.window import EventDays
from streaming.contracts.landing import bronze_key, landing_store
from streaming.contracts.settings import Settings
from tests.landed_events import Landing, event


def test_days_travel_as_ranges() -> None:
    days = (date(2026, 10, 11), date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21))
    assert encode_days(days) == "2026-10-11,2026-11-19..2026-11-21"
    assert decode_days(encode_days(days)) == days
    assert decode_days("") == ()


def test_a_rebuild_survives_its_run_tag() -> None:
    rebuild = EventDays(
        (date(2026, 10, 11),), (date(2026, 10, 11), date(2026, 10, 12), date(2026, 11, 20))
    )
    decoded = decode_rebuild(encode_rebuild(rebuild))
    assert decoded == rebuild
    assert decoded.as_vars() == {
        "event_days": ["2026-10-11"],
        "ingest_days": ["2026-10-11", "2026-10-12", "2026-11-20"],
    }


def test_one_request_per_stale_day_newest_first_none_for_a_day_in_flight() -> None:
    tick = datetime(2026, 11, 20, 14, 15, tzinfo=UTC)
    queued = {
        date(2026, 11, 10): datetime(2026, 11, 20, 13, 15),
        date(2026, 11, 19): datetime(2026, 11, 20, 14, 15),
        date(2026, 11, 20): datetime(2026, 11, 20, 14, 15),
    }
    before_the_start = EVENT_DAYS.start.date().replace(year=2019)
    queued[before_the_start] = datetime(2026, 11, 20, 14, 15)
    holding = {date(2026, 11, 10): (date(2026, 11, 10), date(2026, 11, 20))}
    requests, outside = rebuild_requests(queued, holding, {"2026-11-19"}, tick)
    assert [request.partition_key for request in requests] == ["2026-11-20", "2026-11-10"]
    assert outside == [before_the_start]
    old = requests[1]
    assert decode_rebuild(old.tags[REBUILD]) == EventDays(
        (date(2026, 11, 10),), (date(2026, 11, 10), date(2026, 11, 20))
    )
    assert old.tags[REQUESTED_UP_TO] == "2026-11-20T13:15:00"
    # the next tick retries a day whose run failed: a new run key
    again, _ = rebuild_requests(queued, holding, set(), tick.replace(hour=15))
    assert {request.run_key for request in again}.isdisjoint(r.run_key for r in requests)


def test_a_day_leaves_the_queue_only_for_the_requests_its_run_saw(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    day, other = date(2026, 11, 19), date(2026, 11, 20)
    enqueue(settings, [day, other], reason="arrivals", now=datetime(2026, 11, 20, 13, 0))
    enqueue(settings, [day], reason="arrivals", now=datetime(2026, 11, 20, 14, 0))
    assert queued_days(settings) == {
        day: datetime(2026, 11, 20, 14, 0),
        other: datetime(2026, 11, 20, 13, 0),
    }
    # a run planned at 13:30 succeeds: the 14:00 request (arrived during the run) stays
    assert mark_built(settings, [day], requested_up_to=datetime(2026, 11, 20, 13, 30)) == 1
    assert queued_days(settings) == {
        day: datetime(2026, 11, 20, 14, 0),
        other: datetime(2026, 11, 20, 13, 0),
    }
    assert mark_built(settings, [day, other], requested_up_to=datetime(2026, 11, 20, 14, 0)) == 2
    assert queued_days(settings) == {}


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

    with dg.instance_for_test() as instance:

        def tick() -> list[dg.RunRequest] | dg.SkipReason:
            with dg.build_schedule_context(
                instance=instance,
                scheduled_execution_time=datetime(2026, 11, 20, 10, 15, tzinfo=UTC),
                resources={"lakehouse": LakehouseResource(home=str(settings.home))},
            ) as context:
                return lake_refresh_schedule(context)

        waiting = tick()
        assert isinstance(waiting, dg.SkipReason)
        assert "waiting for the first segments build" in (waiting.skip_message or "")
        assert not plan_arrivals(settings).empty, "nothing consumed while waiting"
        instance.report_runless_asset_event(
            dg.AssetMaterialization(dg.AssetKey(["silver", "silver_user_segments"]))
        )
        first = tick()
        assert isinstance(first, dg.SkipReason)
        assert "no stale event day" in (first.skip_message or "")
        assert plan_arrivals(settings).empty, "the load was consumed"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKSTREAM_HOME", str(tmp_path))
