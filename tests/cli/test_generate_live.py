"""The generator as a live source: the start follows the clock when asked, and a live stream
sends each request when its events happen, on a clock of the test's own."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from clickstream_cli.commands.generate import parse_start
from streaming.generator import TrafficConfig
from streaming.generator.live import chunk_config, due_ms, first_events, live_requests, send_live

NOW = datetime(2026, 11, 27, 16, 20, 5, 123456, tzinfo=UTC)


def test_start_is_now_today_or_an_iso_moment() -> None:
    assert parse_start("now", now=NOW) == NOW.replace(microsecond=123000)
    assert parse_start("today", now=NOW) == datetime(2026, 11, 27, tzinfo=UTC)
    assert parse_start("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_start("2026-11-01T05:30+01:00") == datetime(2026, 11, 1, 4, 30, tzinfo=UTC)


class FakeClock:
    """Wall-clock seconds that move only when the sender sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _recording(clock: FakeClock, sent: list[tuple[float, list[dict[str, object]]]]):
    def answer(request: httpx.Request) -> httpx.Response:
        events = orjson.loads(request.content)["events"]
        sent.append((clock(), events))
        return httpx.Response(202, json={"accepted": len(events), "rejected": 0, "discarded": 0})

    return httpx.MockTransport(answer)


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def test_a_live_stream_sends_each_request_when_its_events_happen() -> None:
    clock = FakeClock(NOW)
    sent: list[tuple[float, list[dict[str, object]]]] = []
    stream = TrafficConfig(events=1_500, seed=3, start=NOW, late_share=0, invalid_share=0)
    report = send_live(
        stream,
        "http://ingest.test",
        rate=25,
        concurrency=1,
        clock=clock,
        sleep=clock.sleep,
        stop_on_signals=False,
        transport=_recording(clock, sent),
    )
    assert report.events_sent == report.accepted == 1_500
    assert sum(len(events) for _, events in sent) == 1_500
    moments = [moment for moment, _ in sent]
    assert moments == sorted(moments)
    for moment, events in sent:
        stamps = [_epoch(str(event["ts"])) for event in events if "ts" in event]
        assert all(stamp <= moment for stamp in stamps)  # nothing from the future
        assert all(stamp >= NOW.timestamp() - 3600 for stamp in stamps)  # nothing stale
    elapsed = clock() - NOW.timestamp()
    assert 1_500 / 25 * 0.5 < elapsed < 1_500 / 25 * 2  # about --events / --rate


def test_the_stream_is_steady_and_starts_mid_session() -> None:
    stream = TrafficConfig(events=20 * 300, seed=5, start=NOW)
    per_minute = [0] * 5
    for group in first_events(live_requests(stream, 20), stream.events):
        for batch in group:
            minute = (due_ms(batch) - stream.start_ms) // 60_000
            if minute < 5:
                per_minute[minute] += len(batch.events)
    assert all(20 * 60 * 0.8 < count < 20 * 60 * 1.2 for count in per_minute), per_minute


def test_first_events_cuts_the_stream_at_exactly_the_limit() -> None:
    stream = TrafficConfig(events=0, seed=5, start=NOW)
    groups = list(first_events(live_requests(stream, 10), 123))
    assert sum(len(batch.events) for group in groups for batch in group) == 123
    assert list(first_events(live_requests(stream, 10), 0)) == []


def test_chunks_follow_each_other_with_seeds_of_their_own() -> None:
    stream = TrafficConfig(events=0, seed=5, start=NOW)
    first, second = chunk_config(stream, 20, 0), chunk_config(stream, 20, 1)
    assert second.start == first.end == NOW + timedelta(minutes=1)
    assert first.events == second.events == 1_200
    assert first.seed != second.seed
    later = TrafficConfig(events=0, seed=5, start=NOW + timedelta(seconds=1))
    assert chunk_config(later, 20, 0).seed != first.seed


def test_sigterm_stops_a_live_stream_cleanly() -> None:
    clock = FakeClock(NOW)
    sent: list[tuple[float, list[dict[str, object]]]] = []

    async def sleep_then_terminate(seconds: float) -> None:
        await clock.sleep(seconds)
        if len(clock.slept) == 5:
            os.kill(os.getpid(), signal.SIGTERM)

    stream = TrafficConfig(events=5_000, seed=3, start=NOW)
    report = send_live(
        stream,
        "http://ingest.test",
        rate=50,
        clock=clock,
        sleep=sleep_then_terminate,
        transport=_recording(clock, sent),
    )
    assert 0 < report.events_sent < 5_000
    assert report.accepted == report.events_sent == sum(len(events) for _, events in sent)


@pytest.mark.parametrize("rate", [0.05, 3.0])
def test_low_rates_still_fill_their_chunks(rate: float) -> None:
    stream = TrafficConfig(events=0, seed=5, start=NOW)
    assert chunk_config(stream, rate, 0).events >= 3
