"""Posting the traffic to an ingest: ``POST <url>/v1/batch`` with ``{"events": [...]}``.

Each request carries the events one client sent together: one session (or one server-side
user) within a short flush interval, in arrival order, at most 500. The client's address and
country travel in the headers a CDN would add. Re-sends go out as requests of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import httpx
import orjson

from streaming.generator.config import TrafficConfig
from streaming.generator.runner import generate_slices
from streaming.generator.slices import GeneratedEvent
from streaming.generator.summary import GenerationSummary, Tally

Progress = Callable[[int], None]
Sleep = Callable[[float], Awaitable[None]]
BATCH_PATH = "/v1/batch"
LIVE_PATH = "/livez"
MAX_BATCH_EVENTS = 500
FLUSH_INTERVAL_MS = 5000
SESSION_FLUSH_MS = 30 * 60 * 1000
"""An SDK that buffers a whole session (up to the 30-minute session timeout) per request."""
"""A browser SDK sends what it queued at most this long after the first event."""
COUNT_FIELDS = ("accepted", "rejected", "discarded")
API_KEY = re.compile(r"[\x21-\x7e]+")
"""What an ``X-Api-Key`` header can carry: visible ASCII."""


class Batch(NamedTuple):
    """The events of one request, and the request facts the ingest reads from headers."""

    events: list[GeneratedEvent]
    client_ip: str
    viewer_country: str | None
    source: str


@dataclass
class HttpReport:
    requests: int = 0
    events_sent: int = 0
    accepted: int = 0
    rejected: int = 0
    discarded: int = 0
    unacknowledged: int = 0
    """Events in successful responses that did not say what became of them."""
    http_errors: int = 0
    """Requests answered with a status >= 400, or not answered at all."""
    failed_events: int = 0
    status_counts: dict[int, int] = field(default_factory=dict)
    last_error: str = ""
    """Why the last failed request failed: the transport's error, or the HTTP status."""

    def as_sink(self) -> dict[str, int]:
        sink = {name: value for name, value in vars(self).items() if isinstance(value, int)}
        sink.update(
            {f"status_{status}": count for status, count in sorted(self.status_counts.items())}
        )
        return sink


def batches(
    events: Iterable[GeneratedEvent],
    *,
    max_events: int = MAX_BATCH_EVENTS,
    flush_ms: int = FLUSH_INTERVAL_MS,
) -> list[Batch]:
    """Requests for events given in arrival order, ordered by their first event's arrival."""
    open_batches: dict[tuple[str, ...], tuple[int, int, Batch]] = {}
    closed: list[tuple[int, int, Batch]] = []
    for sequence, event in enumerate(events):
        key = _client_key(event, sequence)
        current = open_batches.get(key)
        if current is not None and (
            event.arrival_ms - current[0] > flush_ms or len(current[2].events) >= max_events
        ):
            closed.append(current)
            current = None
        if current is None:
            batch = Batch([], event.client_ip, event.viewer_country, event.source)
            current = (event.arrival_ms, sequence, batch)
            open_batches[key] = current
        current[2].events.append(event)
    closed.extend(open_batches.values())
    closed.sort(key=lambda entry: entry[:2])
    return [batch for _, _, batch in closed]


def _client_key(event: GeneratedEvent, sequence: int) -> tuple[str, ...]:
    if event.duplicate_of_earlier:
        return ("resend", str(sequence))
    payload = event.payload
    session = payload.get("session")
    session_id = session.get("session_id") if isinstance(session, dict) else None
    user = payload.get("user")
    user_hash = user.get("user_id_hash") if isinstance(user, dict) else None
    return (event.source, event.client_ip, str(session_id or user_hash or ""))


def check_api_key(api_key: str) -> None:
    """``ValueError`` (which never shows the key) unless it can be sent as a header value."""
    if not API_KEY.fullmatch(api_key):
        raise ValueError("must be printable ASCII without spaces (the key is not shown)")


def request_headers(batch: Batch, api_key: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if batch.client_ip:
        headers["X-Forwarded-For"] = batch.client_ip
    if batch.viewer_country:
        headers["CloudFront-Viewer-Country"] = batch.viewer_country
    if api_key and batch.source == "server":
        headers["X-Api-Key"] = api_key
    return headers


def request_body(batch: Batch) -> bytes:
    return orjson.dumps({"events": [event.payload for event in batch.events]})


class IngestUnreachableError(ConnectionError):
    """No server answers at the ingest's address."""


def check_reachable(
    url: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None
) -> None:
    """Raise :class:`IngestUnreachableError` unless a server answers at ``url`` (whatever it
    answers), and ``ValueError`` for a URL that cannot be requested."""
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            client.get(url.rstrip("/") + LIVE_PATH)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
        raise ValueError(f"{url!r} is not an http:// or https:// URL") from error
    except httpx.TransportError as error:
        raise IngestUnreachableError(
            f"no ingest answers at {url}: {_transport_failure(error)}"
        ) from error


class Pacer(Protocol):
    def delay(self, batch: Batch) -> float:
        """Seconds to hold ``batch`` back before sending it."""
        ...


class RatePacer:
    """Holds requests back so that no more than ``rate`` events per second go out."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.started = clock()
        self.released = 0

    def delay(self, batch: Batch) -> float:
        due = self.started + self.released / self.rate
        self.released += len(batch.events)
        return due - self.clock()


class WallClockPacer:
    """Sends each request when the wall clock reaches the arrival of its last event, as the
    client would: traffic whose arrivals lie ahead goes out live."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def delay(self, batch: Batch) -> float:
        return max(event.arrival_ms for event in batch.events) / 1000 - self.clock()


async def _pause(seconds: float, sleep: Sleep, stopping: asyncio.Event) -> None:
    """``sleep(seconds)``, cut short when ``stopping`` is set."""
    sleeper = asyncio.ensure_future(sleep(seconds))
    stopper = asyncio.ensure_future(stopping.wait())
    _, pending = await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.contextmanager
def _stopped_by_signals(stopping: asyncio.Event, enabled: bool) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stopping`` (no new request goes out) for the block."""
    if not enabled:
        yield
        return
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stopping.set)
    try:
        yield
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


async def post_batches(
    url: str,
    requests: Iterator[list[Batch]],
    *,
    concurrency: int = 8,
    rate: float | None = None,
    pacer: Pacer | None = None,
    api_key: str | None = None,
    timeout: float = 30.0,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Progress | None = None,
    report: HttpReport | None = None,
    stop_on_signals: bool = False,
    sleep: Sleep = asyncio.sleep,
) -> HttpReport:
    """Send every batch, at most ``concurrency`` at a time. ``requests`` yields groups of
    batches (one slice each); it is pulled in a thread so that generating traffic does not
    stall the requests in flight. ``progress`` is called with the events of each answered
    request.

    ``pacer`` holds each request back (default: at most ``rate`` events per second, when
    given). With ``stop_on_signals``, SIGINT or SIGTERM stop sending: the requests in flight
    are answered, and the report counts what was sent.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    report = report if report is not None else HttpReport()
    endpoint = url.rstrip("/") + BATCH_PATH
    slots = asyncio.Semaphore(concurrency)
    if pacer is None and rate:
        pacer = RatePacer(rate)
    stopping = asyncio.Event()
    in_flight: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:

        async def send(batch: Batch) -> None:
            try:
                response = await client.post(
                    endpoint, content=request_body(batch), headers=request_headers(batch, api_key)
                )
            except httpx.HTTPError as error:
                report.http_errors += 1
                report.failed_events += len(batch.events)
                report.last_error = _transport_failure(error)
            else:
                _record_answer(report, response, len(batch.events))
            finally:
                slots.release()
                if progress is not None:
                    progress(len(batch.events))

        with _stopped_by_signals(stopping, stop_on_signals):
            while not stopping.is_set():
                group = await asyncio.to_thread(next, requests, None)
                if group is None:
                    break
                for batch in group:
                    await slots.acquire()
                    delay = pacer.delay(batch) if pacer is not None else 0.0
                    if delay > 0:
                        await _pause(delay, sleep, stopping)
                    if stopping.is_set():
                        slots.release()
                        break
                    report.requests += 1
                    report.events_sent += len(batch.events)
                    task = asyncio.create_task(send(batch))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
            if in_flight:
                await asyncio.gather(*in_flight)
    return report


def _transport_failure(error: httpx.HTTPError) -> str:
    return str(error) or type(error).__name__


def _record_answer(report: HttpReport, response: httpx.Response, events: int) -> None:
    status = response.status_code
    report.status_counts[status] = report.status_counts.get(status, 0) + 1
    if status >= 400:
        report.http_errors += 1
        report.failed_events += events
        explained = _error_message(response)
        report.last_error = f"HTTP {status}" + (f": {explained}" if explained else "")
    counts = _answer_counts(response)
    if counts is not None:
        report.accepted += counts["accepted"]
        report.rejected += counts["rejected"]
        report.discarded += counts["discarded"]
    elif status < 400:
        report.unacknowledged += events


def _error_message(response: httpx.Response) -> str:
    """The message of the ingest's ``{"error": {"code": ..., "message": ...}}`` answer."""
    try:
        answer: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    error = answer.get("error") if isinstance(answer, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return " ".join(message.split())[:200] if isinstance(message, str) else ""


def _answer_counts(response: httpx.Response) -> dict[str, int] | None:
    """``{"accepted": n, "rejected": n, "discarded": n}`` when the answer says so, either as
    totals or as one ``{"status": ...}`` per event under ``results``."""
    try:
        answer: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(answer, dict):
        return None
    if any(isinstance(answer.get(name), int) for name in COUNT_FIELDS):
        return {
            name: answer[name] if isinstance(answer.get(name), int) else 0 for name in COUNT_FIELDS
        }
    results = answer.get("results")
    if isinstance(results, list):
        counts = dict.fromkeys(COUNT_FIELDS, 0)
        for result in results:
            status = result.get("status") if isinstance(result, dict) else None
            if status in counts:
                counts[status] += 1
        return counts
    return None


def send_http(
    config: TrafficConfig,
    url: str,
    *,
    workers: int = 1,
    concurrency: int = 8,
    rate: float | None = None,
    pacer: Pacer | None = None,
    api_key: str | None = None,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    flush_ms: int = FLUSH_INTERVAL_MS,
    report: HttpReport | None = None,
    stop_on_signals: bool = False,
    sleep: Sleep = asyncio.sleep,
) -> GenerationSummary:
    """Generate the run and post it to the ingest at ``url``; a client's events within
    ``flush_ms`` of event time share a request. With a :class:`WallClockPacer` the run goes
    out live: each request when its events arrive. The other arguments are
    :func:`post_batches`'."""
    tally = Tally()

    def requests() -> Iterator[list[Batch]]:
        nonlocal tally
        for output in generate_slices(config, workers):
            tally += output.tally
            yield batches(output.events, flush_ms=flush_ms)
            if progress is not None:
                progress(output.tally.events)

    report = asyncio.run(
        post_batches(
            url,
            requests(),
            concurrency=concurrency,
            rate=rate,
            pacer=pacer,
            api_key=api_key,
            transport=transport,
            report=report,
            stop_on_signals=stop_on_signals,
            sleep=sleep,
        )
    )
    return GenerationSummary.from_tally(config, tally, report.as_sink())


def file_batches(
    lines: Iterable[bytes], *, batch_size: int = MAX_BATCH_EVENTS, group: int = 64
) -> Iterator[list[Batch]]:
    """Requests of up to ``batch_size`` consecutive events of a JSONL file (in groups of
    ``group`` requests). The file holds client payloads only, so no address or country
    headers are sent: the ingest sees the sender's own address."""
    if not 1 <= batch_size <= MAX_BATCH_EVENTS:
        raise ValueError(f"batch size must be 1..{MAX_BATCH_EVENTS}, got {batch_size}")
    pending: list[Batch] = []
    events: list[GeneratedEvent] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            payload = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise ValueError(f"line {number} is not JSON: {error}") from None
        events.append(GeneratedEvent(payload, 0, "", None, "web"))
        if len(events) == batch_size:
            pending.append(Batch(events, "", None, "web"))
            events = []
            if len(pending) == group:
                yield pending
                pending = []
    if events:
        pending.append(Batch(events, "", None, "web"))
    if pending:
        yield pending


def send_file(
    lines: Iterable[bytes],
    url: str,
    *,
    batch_size: int = MAX_BATCH_EVENTS,
    concurrency: int = 8,
    rate: float | None = None,
    api_key: str | None = None,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    report: HttpReport | None = None,
) -> HttpReport:
    """Replay JSONL client events (``clickstream generate --out``) through the ingest API.
    With ``api_key`` every request carries it (the events count as server-side)."""
    requests = (
        [batch._replace(source="server" if api_key else "web") for batch in group]
        for group in file_batches(lines, batch_size=batch_size)
    )
    return asyncio.run(
        post_batches(
            url,
            requests,
            concurrency=concurrency,
            rate=rate,
            api_key=api_key,
            transport=transport,
            progress=progress,
            report=report,
        )
    )
