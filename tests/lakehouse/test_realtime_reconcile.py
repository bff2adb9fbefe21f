"""Reconciliation of the real-time marts with silver_events: the pure rule, then end to end."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from conftest import aws_settings_at
from realtime_support import client_event, live_ingest
from stream_support import stream_payloads

from lakehouse.bronze_load import load_landed_hours
from lakehouse.build import build_lake
from lakehouse.catalog import open_catalog
from lakehouse.engine import connect, scan_sql
from lakehouse.realtime_reconcile import HourCounts, Tolerance, reconcile, reconcile_lake
from streaming.contracts.settings import LocalAwsSettings
from streaming.delivery.service import deliver
from streaming.generator import TrafficConfig
from streaming.generator.sinks.http import send_file
from streaming.generator.sinks.jsonl import write_jsonl
from streaming.realtime.consumer import RealtimeConsumer

H = datetime(2026, 11, 1, 10)


def test_equal_hours_pass_and_explained_differences_are_not_failures() -> None:
    rt = {
        H: HourCounts(compared=100, after_cutoff=7),  # 7 late arrivals the batch has not loaded
        H + timedelta(hours=1): HourCounts(compared=50),
        H + timedelta(hours=5): HourCounts(compared=3),  # an open hour: not judged
    }
    batch = {
        H: HourCounts(before_horizon=40, compared=100),  # 40 older than the real-time window
        H + timedelta(hours=1): HourCounts(compared=50),
    }
    result = reconcile(rt, batch, cutoff=H + timedelta(hours=3))
    assert result.passed
    first = result.hours[0]
    assert (first.rt_events, first.batch_events, first.unexplained) == (107, 140, 0)
    assert (first.not_yet_in_batch, first.outside_rt) == (7, 40)
    assert [hour.closed for hour in result.hours] == [True, True, False]
    assert "7 real-time events not yet in batch" in result.description
    metadata = result.as_metadata()
    assert metadata["closed_hours"] == 2 and metadata["failing_hours"] == []


def test_an_unexplained_difference_fails_with_the_hour_named() -> None:
    rt = {H: HourCounts(compared=990), H + timedelta(hours=1): HourCounts(compared=2_000)}
    batch = {H: HourCounts(compared=1_000), H + timedelta(hours=1): HourCounts(compared=2_001)}
    result = reconcile(rt, batch, Tolerance(absolute=0, relative=0.001))
    assert not result.passed
    assert [hour.hour for hour in result.failing] == [H]  # 1 of 2,001 is within 0.1 %
    assert result.failing[0].unexplained == -10 and result.failing[0].allowed == 1
    assert "2026-11-01 10:00 UTC: real time 990 vs batch 1,000 (-10, allowed ±1)" in (
        result.description
    )
    assert reconcile(rt, batch, Tolerance(absolute=10)).passed


def test_without_published_marts_nothing_is_compared(tmp_path: Path) -> None:
    from streaming.contracts.settings import Settings

    result = reconcile_lake(Settings(home=tmp_path / "home"))
    assert result.passed and result.hours == []
    assert "never published" in result.description


@pytest.mark.timeout(300)
def test_a_generated_day_reconciles_after_the_batch_pipeline(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    settings = aws_settings_at(tmp_path / "home", local_aws)
    config = TrafficConfig(
        events=3_000,
        seed=31,
        start=datetime(2026, 11, 1, tzinfo=UTC),
        duplicate_share=0.03,
        late_share=0.03,
    )
    path = tmp_path / "day.jsonl"
    with path.open("wb") as handle:
        write_jsonl(config, handle)
    with live_ingest(settings) as url:
        sent = send_file(path.read_bytes().splitlines(), url, batch_size=100, concurrency=4)
        assert sent.http_errors == 0 and sent.rejected > 0 and sent.discarded > 0
        on_stream = Counter(p["event_id"] for p in stream_payloads(settings))
        assert sum(on_stream.values()) == sent.accepted
        assert sum(on_stream.values()) > len(on_stream)  # the day carries re-sent duplicates

        realtime = RealtimeConsumer(settings, poll_seconds=0.01).run(once=True)
        assert realtime.events_stored == len(on_stream)
        assert realtime.duplicates_dropped == sent.accepted - len(on_stream)
        deliver(settings, once=True, buffer_seconds=0.5)
        load_landed_hours(settings)
        build_lake(settings, select="silver_events", run_tests=False, capture=True)

        result = reconcile_lake(settings)
        assert result.passed, result.description
        closed = [hour for hour in result.hours if hour.closed]
        assert len(closed) >= 20  # a day of event hours
        assert sum(hour.compared_batch for hour in closed) == len(on_stream)

        # late events the batch has not loaded yet: explained, not a failure
        old = datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
        late = [client_event(ts=old, country_session=f"late{n}") for n in range(5)]
        answer = httpx.post(f"{url}/v1/batch", json={"events": late}, timeout=30)
        assert orjson.loads(answer.content)["accepted"] == 5
        RealtimeConsumer(settings, poll_seconds=0.01).run(once=True)
    result = reconcile_lake(settings)
    assert result.passed, result.description
    hour = next(h for h in result.hours if h.hour == datetime(2026, 11, 1, 10))
    assert hour.not_yet_in_batch == 5 and hour.rt_events == hour.batch_events + 5

    # a batch that lost events of one hour fails, naming the hour
    lake = connect(settings, open_catalog(settings))
    silver = open_catalog(settings).load_table("lake.silver_events")
    lake.execute(
        "create or replace view lake.silver_events as "
        f"with s as ({scan_sql(silver.metadata_location)}) "
        "select * from s where event_id not in (select event_id from s "
        "where date_trunc('hour', ts) = timestamp '2026-11-01 12:00' order by event_id limit 4)"
    )
    broken = reconcile_lake(settings, lake)
    lake.close()
    assert not broken.passed
    assert [(h.hour, h.unexplained) for h in broken.failing] == [(datetime(2026, 11, 1, 12), 4)]
    assert "1 of" in broken.description and "12:00 UTC" in broken.description
