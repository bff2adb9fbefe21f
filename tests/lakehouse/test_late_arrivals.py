"""Late data of any age, driven as the hourly schedule drives it: the schedule plans from the
arrival manifest, the ``lake_refresh`` job runs with its tags. Events 1 hour, 3 days, 10 days and
40 days late join existing sessions and start new ones; after the next scheduled run each is in
its true event_dt and session, only the touched partitions were rewritten, and the lake equals a
full refresh."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import pytest

from clickstream_cli.launch import StageOutcome, range_tags, run_job
from clickstream_orchestration.definitions import build_definitions
from clickstream_orchestration.partitions import REBUILD
from clickstream_orchestration.resources import LakehouseResource
from clickstream_orchestration.schedules import lake_refresh_schedule
from lakehouse.arrivals import decode_rebuild
from lakehouse.bronze_load import load_hour
from lakehouse.build import build_lake
from lakehouse.catalog import open_catalog
from lakehouse.query import query
from lakehouse.window import EventDays
from streaming.contracts.settings import Settings
from tests.landed_events import Landing, event

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

LAKE_TABLES = (
    "lake.silver_events",
    "lake.silver_sessions",
    "lake.silver_user_segments",
    "mart.fact_funnel",
    "mart.fact_affiliate_clicks",
)
NOW = "2026-11-20T13:10:00"

HISTORY = [
    # 40 days before: a session whose first event has no country
    [
        event("s40-a", "2026-10-11T10:00:00", session_id="s40", geo_country=None),
        event("s40-b", "2026-10-11T10:10:00", session_id="s40", geo_country="US"),
    ],
    # a day no arrival touches
    [event("s15-a", "2026-11-05T08:00:00", session_id="s15", geo_country="NL")],
    # 10 days before: a session, and sessionless events of one user (a derived session)
    [
        event("s10-a", "2026-11-10T10:00:00", session_id="s10"),
        event("s10-b", "2026-11-10T10:10:00", session_id="s10"),
        event("u-a", "2026-11-10T09:00:00", session_id=None, user="wanderer"),
        event("u-b", "2026-11-10T09:05:00", session_id=None, user="wanderer"),
    ],
    # 3 days before: a session that starts just after midnight
    [
        event("s3-a", "2026-11-17T00:05:00", session_id="s3"),
        event("s3-b", "2026-11-17T00:20:00", session_id="s3"),
    ],
    # today
    [
        event("s0-a", "2026-11-20T11:00:00", session_id="s0"),
        event("s0-b", "2026-11-20T11:30:00", session_id="s0"),
    ],
]

LATE = [
    event("late-1h", "2026-11-20T12:10:00", session_id="s0", arrival=NOW),
    event("new-1h", "2026-11-20T12:05:00", session_id="n0", arrival=NOW),
    # before s3's first event, across midnight: s3 now starts (and is partitioned) a day earlier
    event("late-3d", "2026-11-16T23:55:00", session_id="s3", arrival=NOW),
    event("new-3d", "2026-11-17T15:00:00", session_id="n3", arrival=NOW),
    # sessionless, within the gap of the derived session's last event
    event("late-10d", "2026-11-10T09:20:00", session_id=None, user="wanderer", arrival=NOW),
    event("new-10d", "2026-11-10T18:00:00", session_id="n10", arrival=NOW),
    # before s40's first event, with a country: the session's country and start change
    event("late-40d", "2026-10-11T09:55:00", session_id="s40", geo_country="FR", arrival=NOW),
    event(
        "new-40d",
        "2026-10-11T20:00:00",
        session_id="n40",
        event_type="affiliate_click",
        arrival=NOW,
        affiliate_target="shop",
    ),
]
TRUE_DAYS = {
    "late-1h": date(2026, 11, 20),
    "new-1h": date(2026, 11, 20),
    "late-3d": date(2026, 11, 16),
    "new-3d": date(2026, 11, 17),
    "late-10d": date(2026, 11, 10),
    "new-10d": date(2026, 11, 10),
    "late-40d": date(2026, 10, 11),
    "new-40d": date(2026, 10, 11),
}


def _tick(settings: Settings, hour: str) -> list[dg.RunRequest] | None:
    """What the refresh schedule requests at ``hour``: one ``lake_refresh`` run per queued day
    (None when it skips). The tick consumes the arrivals it plans."""
    # entered, so the instance the context opens is closed with it
    with dg.build_schedule_context(
        instance=dg.DagsterInstance.get(),
        scheduled_execution_time=datetime.fromisoformat(hour).replace(tzinfo=UTC),
        resources={"lakehouse": LakehouseResource(home=str(settings.home))},
    ) as context:
        requests = lake_refresh_schedule(context)
    if isinstance(requests, dg.SkipReason):
        return None
    assert isinstance(requests, list)
    assert len({request.partition_key for request in requests}) == len(requests), "one per day"
    return requests


def _scheduled_run(
    defs: dg.Definitions, settings: Settings, hour: str
) -> tuple[EventDays, StageOutcome] | None:
    """What the refresh schedule does at ``hour``: queue the arrivals' days, then one
    ``lake_refresh`` run per day with its tags (None when the schedule skips). Returns the
    days and ingest days rebuilt, and the runs' outcomes as one."""
    requests = _tick(settings, hour)
    if requests is None:
        return None
    outcomes = [
        run_job(
            defs,
            "lake_refresh",
            dg.DagsterInstance.get(),
            tags=dict(request.tags),
            partition_key=request.partition_key,
        )
        for request in requests
    ]
    rebuilds = [decode_rebuild(request.tags[REBUILD]) for request in requests]
    rebuilt = EventDays(
        tuple(sorted({day for rebuild in rebuilds for day in rebuild.event_days})),
        tuple(sorted({day for rebuild in rebuilds for day in rebuild.ingest_days})),
    )
    combined = StageOutcome(
        job="lake_refresh",
        run_id=",".join(outcome.run_id for outcome in outcomes),
        success=all(outcome.success for outcome in outcomes),
        materialized=[key for outcome in outcomes for key in outcome.materialized],
        checks=[check for outcome in outcomes for check in outcome.checks],
        error="; ".join(outcome.error for outcome in outcomes if outcome.error) or None,
    )
    return rebuilt, combined


def _backfilled(defs: dg.Definitions, settings: Settings, hour: str) -> StageOutcome:
    """The tick at ``hour`` queues the history's days; one run over their range rebuilds
    them all, as a backfill would (the next tick finds them built)."""
    requests = _tick(settings, hour)
    assert requests is not None
    days = sorted(request.partition_key for request in requests if request.partition_key)
    assert days == sorted({records[0]["ts"][:10] for records in HISTORY})
    return run_job(
        defs, "lake_refresh", dg.DagsterInstance.get(), tags=range_tags(days[0], days[-1])
    )


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """History landed on time, queued by a tick of the schedule and rebuilt by one run over its
    days; then the late events land in one later hour, and the next tick's runs process them."""
    home = tmp_path_factory.mktemp("late-arrivals")
    saved = {name: os.environ.get(name) for name in ("CLICKSTREAM_HOME", "DAGSTER_HOME")}
    os.environ["CLICKSTREAM_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    (home / "dagster").mkdir()
    settings = Settings(home=home)
    defs = build_definitions(settings)
    landing = Landing(settings)
    try:
        for records in HISTORY:
            load_hour(settings, landing.land(records))
        segments = run_job(defs, "segments_refresh", dg.DagsterInstance.get())
        assert segments.success, segments.error
        first = _backfilled(defs, settings, "2026-11-20T12:15:00")
        assert first.success, first.error
        before = _files_by_partition(settings)
        load_hour(settings, landing.land(LATE))
        second = _scheduled_run(defs, settings, "2026-11-20T14:15:00")
        assert second is not None
        plan, run = second
        yield {"settings": settings, "defs": defs, "run": run, "plan": plan, "before": before}
    finally:
        dg.DagsterInstance.get().dispose()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _files_by_partition(settings: Settings) -> dict[tuple[str, date], list[str]]:
    catalog = open_catalog(settings)
    files: dict[tuple[str, date], list[str]] = {}
    for identifier in ("lake.silver_events", "lake.silver_sessions", "mart.fact_funnel"):
        table = catalog.load_table(identifier)
        for row in table.inspect.files().select(["partition", "file_path"]).to_pylist():
            key = (identifier, row["partition"]["event_dt"])
            files.setdefault(key, []).append(row["file_path"])
    return {key: sorted(paths) for key, paths in files.items()}


def _sessions(settings: Settings) -> dict[str, dict[str, Any]]:
    rows = query(settings, "select * from lake.silver_sessions").to_pylist()
    return {row["session_id"]: row for row in rows}


def test_the_scheduled_run_plans_exactly_the_touched_event_days(lake: dict[str, Any]) -> None:
    run: StageOutcome = lake["run"]
    assert run.success, run.error
    assert all(check.passed for check in run.checks), [c for c in run.checks if not c.passed]
    plan: EventDays = lake["plan"]
    assert set(plan.event_days) == set(TRUE_DAYS.values())
    # bronze read: the ingest days holding events of those days (today's arrivals and the
    # history's on-time days), not the whole history: the untouched 2026-11-05 is not read
    assert set(plan.ingest_days) == {
        date(2026, 10, 11),
        date(2026, 11, 10),
        date(2026, 11, 17),
        date(2026, 11, 20),
    }


def test_every_late_event_lands_in_its_true_event_day(lake: dict[str, Any]) -> None:
    rows = query(lake["settings"], "select event_id, event_dt from lake.silver_events").to_pylist()
    days = {row["event_id"]: row["event_dt"] for row in rows}
    assert {event_id: days.get(event_id) for event_id in TRUE_DAYS} == TRUE_DAYS
    assert len(days) == sum(len(records) for records in HISTORY) + len(LATE)


def test_late_events_join_their_sessions_which_are_recomputed_whole(
    lake: dict[str, Any],
) -> None:
    sessions = _sessions(lake["settings"])
    assert (sessions["s0"]["events"], sessions["s0"]["event_dt"]) == (3, date(2026, 11, 20))
    s3 = sessions["s3"]
    assert (s3["events"], s3["event_dt"]) == (3, date(2026, 11, 16))
    assert s3["session_start_ts"] == datetime(2026, 11, 16, 23, 55)
    derived = [row for row in sessions.values() if row["user_id_hash"] == "wanderer"]
    assert [(row["events"], row["event_dt"]) for row in derived] == [(3, date(2026, 11, 10))]
    assert derived[0]["session_end_ts"] == datetime(2026, 11, 10, 9, 20)
    s40 = sessions["s40"]
    assert (s40["events"], s40["event_dt"], s40["geo_country"]) == (3, date(2026, 10, 11), "FR")
    assert s40["session_start_ts"] == datetime(2026, 10, 11, 9, 55)


def test_late_events_start_new_sessions_in_their_true_day(lake: dict[str, Any]) -> None:
    sessions = _sessions(lake["settings"])
    expected = {
        "n0": date(2026, 11, 20),
        "n3": date(2026, 11, 17),
        "n10": date(2026, 11, 10),
        "n40": date(2026, 10, 11),
    }
    assert {key: sessions[key]["event_dt"] for key in expected} == expected
    [click] = query(
        lake["settings"], "select * from mart.fact_affiliate_clicks where event_id = 'new-40d'"
    ).to_pylist()
    assert click["event_dt"] == date(2026, 10, 11)


def test_only_the_touched_partitions_are_rewritten(lake: dict[str, Any]) -> None:
    before = lake["before"]
    after = _files_by_partition(lake["settings"])
    rewritten = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    untouched_day = date(2026, 11, 5)
    assert not any(day == untouched_day for _, day in rewritten)
    assert (
        before[("lake.silver_events", untouched_day)]
        == after[("lake.silver_events", untouched_day)]
    )
    assert {day for table, day in rewritten if table == "lake.silver_events"} == set(
        TRUE_DAYS.values()
    )


def test_the_next_scheduled_run_has_nothing_to_do(lake: dict[str, Any]) -> None:
    assert _scheduled_run(lake["defs"], lake["settings"], "2026-11-20T15:15:00") is None


def test_the_scheduled_runs_equal_a_full_refresh(lake: dict[str, Any]) -> None:
    settings = lake["settings"]
    incremental = {identifier: _contents(settings, identifier) for identifier in LAKE_TABLES}
    build_lake(settings, full_refresh=True, capture=True)
    refreshed = {identifier: _contents(settings, identifier) for identifier in LAKE_TABLES}
    assert incremental == refreshed


def _contents(settings: Settings, identifier: str) -> tuple[int, str]:
    table = open_catalog(settings).load_table(identifier).scan().to_arrow()
    rows = sorted(repr(sorted(row.items())) for row in table.to_pylist())
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()
