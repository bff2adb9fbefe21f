"""Real-time latency: an event accepted by the HTTP ingest → visible in an ``rt.*`` mart.

The local stack runs as separate processes, as ``make dev`` runs it: the local AWS servers
(the Kinesis engine, moto), the ingest server writing to the stream, and the real-time consumer
(``python -m streaming.realtime``, default refresh). This process sends client events at a
steady rate through ``POST /v1/batch`` (one session per request, so each request's events
are identifiable in ``rt.events`` by their session id) and notes when each request was
answered (accepted). A poller attaches the published snapshot, as ``clickstream query`` does,
every ``POLL_SECONDS`` and notes when all of a request's events are visible. Latency is
visible - accepted per event; the figures are its percentiles over every event sent.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.ingest_bench import ingest_server, local_environment, local_servers, percentile
from bench.report import Report, Row
from streaming.contracts.settings import Settings
from streaming.local_aws import ensure_resources
from streaming.realtime.store import RealtimeUnavailableError, open_realtime

RATE = 1_000
"""Events per second sent, sustained."""
SECONDS = 30
BATCH = 50
"""Events per request: RATE / BATCH requests per second."""
POLL_SECONDS = 0.1
GOAL_P95_SECONDS = 2.0
PAGES = ("/compare/crm", "/compare/erp", "/pricing", "/", "/blog/choosing-a-crm")


@dataclass
class Batch:
    session: str
    events: int
    sent: float
    accepted: float | None = None
    visible: float | None = None


@dataclass
class Measurement:
    batches: list[Batch] = field(default_factory=list)
    send_seconds: float = 0.0

    @property
    def latencies(self) -> list[float]:
        return [
            batch.visible - batch.accepted
            for batch in self.batches
            if batch.accepted is not None and batch.visible is not None
            for _ in range(batch.events)
        ]


def _events(session: str, count: int) -> list[dict[str, object]]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    events: list[dict[str, object]] = []
    for index in range(count):
        event: dict[str, object] = {
            "event_type": "page_view",
            "event_id": str(uuid.uuid4()),
            "ts": now,
            "user": {"user_id_hash": f"sha256:{session}", "consent": {"analytics": True}},
            "session": {"session_id": session, "utm": {"source": "bench"}},
            "ctx": {"page_url": f"https://www.example.com{PAGES[index % len(PAGES)]}"},
        }
        events.append(event)
    return events


async def _send(url: str, measurement: Measurement) -> None:
    """RATE events/s in BATCH-event requests, each started on its own schedule."""
    interval = BATCH / RATE
    requests = RATE * SECONDS // BATCH
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:

        async def one(batch: Batch, body: list[dict[str, object]]) -> None:
            response = await http.post(url + "/v1/batch", json={"events": body})
            batch.accepted = time.perf_counter()
            if response.status_code != 200 or response.json()["accepted"] != batch.events:
                raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")

        started = time.perf_counter()
        tasks = []
        for number in range(requests):
            due = started + number * interval
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            session = f"bench-{number:06d}"
            batch = Batch(session, BATCH, time.perf_counter())
            measurement.batches.append(batch)
            tasks.append(asyncio.create_task(one(batch, _events(session, BATCH))))
        await asyncio.gather(*tasks)
        measurement.send_seconds = time.perf_counter() - started


def _poll(settings: Settings, measurement: Measurement, stop: threading.Event) -> None:
    """Note when each request's events are all in the published snapshot."""
    while not stop.is_set():
        try:
            with open_realtime(settings) as conn:
                visible = dict(
                    conn.execute(
                        "SELECT session_id, count(*) FROM rt.events "
                        "WHERE session_id LIKE 'bench-%' GROUP BY 1"
                    ).fetchall()
                )
        except RealtimeUnavailableError:
            visible = {}
        seen = time.perf_counter()
        for batch in list(measurement.batches):
            if batch.visible is None and visible.get(batch.session, 0) >= batch.events:
                batch.visible = seen
        stop.wait(POLL_SECONDS)


@contextmanager
def consumer_process(home: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    command = [sys.executable, "-m", "streaming.realtime", "--home", str(home)]
    process = subprocess.Popen(
        command,
        env=os.environ | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "realtime consumer ready" in line:
                break
        else:
            raise RuntimeError("the real-time consumer did not start")
        drain = threading.Thread(target=lambda: [None for _ in process.stdout or []], daemon=True)
        drain.start()
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)


def measure(home: Path) -> Measurement:
    measurement = Measurement()
    with local_servers(home) as ports:
        settings = Settings(home=home, stage="rtbench", local_aws=ports)
        ensure_resources(settings)  # a 2-shard stream and the dead-letter queue
        env = {
            "CLICKSTREAM_HOME": str(home),
            "CLICKSTREAM_STAGE": settings.stage,
        } | local_environment(ports)
        with ingest_server(home, "kinesis", env) as server, consumer_process(home, env):
            stop = threading.Event()
            poller = threading.Thread(target=_poll, args=(settings, measurement, stop))
            poller.start()
            try:
                asyncio.run(_send(server.url, measurement))
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and any(
                    batch.visible is None for batch in measurement.batches
                ):
                    time.sleep(POLL_SECONDS)
            finally:
                stop.set()
                poller.join()
    return measurement


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="clickstream-bench-") as scratch:
        measurement = measure(Path(scratch))
    latencies = measurement.latencies
    sent = sum(batch.events for batch in measurement.batches)
    if not latencies:
        raise RuntimeError("no event became visible in the real-time marts")
    rate = sent / measurement.send_seconds
    missing = sent - len(latencies)
    setting = (
        f"{rate:,.0f} events/s sustained for {measurement.send_seconds:.0f} s "
        f"({BATCH}-event requests), {sent:,} events; consumer refresh 0.5 s, poll "
        f"{POLL_SECONDS} s" + (f"; {missing:,} never visible" if missing else "")
    )
    p50, p95, p99 = (percentile(latencies, share) for share in (0.50, 0.95, 0.99))
    report.add(
        Row(
            "real time: accepted -> visible in rt.events, p95",
            p95,
            "s",
            goal=f"p95 <= {GOAL_P95_SECONDS:.0f} s locally",
            met=p95 <= GOAL_P95_SECONDS and missing == 0,
            note=setting,
        )
    )
    report.add(Row("real time: accepted -> visible, p50", p50, "s", note=setting))
    report.add(
        Row(
            "real time: accepted -> visible, p99",
            p99,
            "s",
            note=f"max {max(latencies):.2f} s, mean {statistics.fmean(latencies):.2f} s",
        )
    )


def main() -> None:
    """``python -m bench.realtime_bench``: the real-time figures alone."""
    report = Report("real-time benchmark")
    run(report)
    report.print()
    path = report.write("realtime")
    print(f"results written to {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
