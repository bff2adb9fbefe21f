"""Traffic as a live source: a steady stream of events sent as they happen on the wall clock.

The stream is cut into consecutive chunks of a minute or more, each generated with
``rate * chunk`` events starting where the previous one ended. A chunk's sessions run on past
its end and its late events arrive hours later, so requests of several chunks are merged and
sent in the order they are due: each when the wall clock reaches the arrival of its last event.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import timedelta

import httpx

from streaming.generator.config import TrafficConfig
from streaming.generator.runner import generate
from streaming.generator.sinks.http import (
    FLUSH_INTERVAL_MS,
    Batch,
    HttpReport,
    Sleep,
    WallClockPacer,
    batches,
    post_batches,
)

MIN_CHUNK_SECONDS = 60.0
MIN_CHUNK_EVENTS = 10
WARM_UP = timedelta(minutes=30)
"""Traffic is generated from this long before the stream starts, and only what arrives from the
start on is sent: visitors are mid-session from the first second, so the rate is steady."""


def chunk_seconds(rate: float) -> float:
    """A minute, or long enough to hold a few events at a low rate."""
    return max(MIN_CHUNK_SECONDS, MIN_CHUNK_EVENTS / rate)


def chunk_config(stream: TrafficConfig, rate: float, index: int) -> TrafficConfig:
    """The ``index``-th chunk of the stream: its events, its own seed, its minute(s).

    The seed derives from the stream's seed and start, so two streams started at different
    moments never send the same event ids.
    """
    seconds = chunk_seconds(rate)
    digest = hashlib.blake2b(
        f"{stream.seed}:{stream.start_ms}:{index}".encode(), digest_size=7
    ).digest()
    return replace(
        stream,
        events=round(rate * seconds),
        seed=int.from_bytes(digest),
        start=stream.start + timedelta(seconds=index * seconds),
        days=seconds / 86_400,
    )


def due_ms(batch: Batch) -> int:
    return max(event.arrival_ms for event in batch.events)


def live_requests(
    stream: TrafficConfig, rate: float, *, flush_ms: int = FLUSH_INTERVAL_MS
) -> Iterator[list[Batch]]:
    """The requests of the endless stream from its start, one group per chunk, in the order
    they are due."""
    warming_up = replace(stream, start=stream.start - WARM_UP)
    pending: list[tuple[int, int, Batch]] = []
    order = itertools.count()
    for index in itertools.count():
        chunk = chunk_config(warming_up, rate, index)
        for batch in batches(generate(chunk), flush_ms=flush_ms):
            due = due_ms(batch)
            if due >= stream.start_ms:
                heapq.heappush(pending, (due, next(order), batch))
        ready = []
        while pending and pending[0][0] < chunk.end_ms:
            ready.append(heapq.heappop(pending)[2])
        yield ready


def first_events(groups: Iterable[list[Batch]], limit: int) -> Iterator[list[Batch]]:
    """The groups up to exactly ``limit`` events (the last request cut short)."""
    left = limit
    if left <= 0:
        return
    for group in groups:
        kept = []
        for batch in group:
            kept.append(batch._replace(events=batch.events[:left]))
            left -= len(kept[-1].events)
            if left <= 0:
                break
        yield kept
        if left <= 0:
            return


def send_live(
    stream: TrafficConfig,
    url: str,
    *,
    rate: float,
    concurrency: int = 8,
    api_key: str | None = None,
    report: HttpReport | None = None,
    stop_on_signals: bool = True,
    clock: Callable[[], float] = time.time,
    sleep: Sleep = asyncio.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
) -> HttpReport:
    """Send ``stream.events`` events from ``stream.start`` on at about ``rate`` per second,
    each request when its events arrive; stops early on SIGINT or SIGTERM."""
    return asyncio.run(
        post_batches(
            url,
            first_events(live_requests(stream, rate), stream.events),
            concurrency=concurrency,
            pacer=WallClockPacer(clock),
            api_key=api_key,
            transport=transport,
            report=report,
            stop_on_signals=stop_on_signals,
            sleep=sleep,
        )
    )
