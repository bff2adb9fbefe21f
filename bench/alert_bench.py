"""Alert latency: an event accepted by the HTTP ingest → its alert delivered to the webhook.

The local stack runs as separate processes, as ``make dev`` runs it: the local AWS servers
(the Kinesis engine, moto), the ingest server writing to the stream, and the alert reader
(``clickstream alerts run``, default settings but for the webhook URL). This process sends page
views at a steady rate through ``POST /v1/batch``, every other request also carrying an
affiliate click whose payout matches the default ``high_payout_click`` rule, notes when each
request was answered (accepted), and runs the webhook receiver on 127.0.0.1, which notes when
each alert arrives. Latency is delivered - accepted per alert; the figures are its percentiles.
"""

from __future__ import annotations

import asyncio
import os
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.ingest_bench import (
    free_port,
    ingest_server,
    local_environment,
    local_servers,
    percentile,
)
from bench.report import Report, Row
from streaming.contracts.settings import Settings
from streaming.local_aws import ensure_resources

RATE = 500
"""Events per second sent, sustained."""
SECONDS = 20
BATCH = 25
"""Events per request; every other request carries one matching affiliate click."""
PAYOUT_CENTS = 5_000
RULE = "high_payout_click"
GOAL_P95_SECONDS = 2.0
READY_SECONDS = 60.0


@dataclass
class Measurement:
    accepted: dict[str, float] = field(default_factory=dict)
    """Alert id -> when the request carrying its event was answered."""
    delivered: dict[str, float] = field(default_factory=dict)
    """Alert id -> when the webhook first received it."""
    deliveries: int = 0
    send_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def latencies(self) -> list[float]:
        return [
            self.delivered[alert] - accepted
            for alert, accepted in self.accepted.items()
            if alert in self.delivered
        ]


def _events(session: str, count: int, matching: bool) -> tuple[list[dict[str, Any]], str | None]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    base = {
        "ts": now,
        "user": {"user_id_hash": f"sha256:{session}", "consent": {"analytics": True}},
        "session": {"session_id": session, "utm": {"source": "bench"}},
        "ctx": {"page_url": "https://www.example.com/compare/crm"},
    }
    events: list[dict[str, Any]] = [
        base | {"event_type": "page_view", "event_id": str(uuid.uuid4())} for _ in range(count)
    ]
    if not matching:
        return events, None
    click_id = str(uuid.uuid4())
    events[-1] = base | {
        "event_type": "affiliate_click",
        "event_id": click_id,
        "affiliate": {"link_id": "bench", "target": "hubspot", "payout_cents": PAYOUT_CENTS},
    }
    return events, f"{RULE}:{click_id}"


async def _send(url: str, measurement: Measurement) -> None:
    interval = BATCH / RATE
    requests = RATE * SECONDS // BATCH
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=32), timeout=60) as http:

        async def one(body: list[dict[str, Any]], alert: str | None) -> None:
            response = await http.post(url + "/v1/batch", json={"events": body})
            accepted = time.perf_counter()
            if response.status_code != 200 or response.json()["accepted"] != len(body):
                raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")
            if alert is not None:
                measurement.accepted[alert] = accepted

        started = time.perf_counter()
        tasks = []
        for number in range(requests):
            await asyncio.sleep(max(0.0, started + number * interval - time.perf_counter()))
            body, alert = _events(f"alert-bench-{number:06d}", BATCH, matching=number % 2 == 0)
            tasks.append(asyncio.create_task(one(body, alert)))
        await asyncio.gather(*tasks)
        measurement.send_seconds = time.perf_counter() - started


@contextmanager
def webhook(measurement: Measurement) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received = time.perf_counter()
            alert = orjson.loads(body)["alert_id"]
            with measurement.lock:
                measurement.deliveries += 1
                measurement.delivered.setdefault(alert, received)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def reader_process(home: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    clickstream = str(Path(sys.executable).with_name("clickstream"))
    status = Settings(home=home).alerts_dir / "reader.json"
    log = (home / "alert-reader.log").open("ab")
    process = subprocess.Popen(
        [clickstream, "alerts", "run"], env=os.environ | env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not status.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the alert reader did not start; see {log.name}")
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def measure(home: Path) -> Measurement:
    measurement = Measurement()
    with local_servers(home) as ports:
        settings = Settings(home=home, stage="alertbench", local_aws=ports)
        ensure_resources(settings)  # a 2-shard stream and the dead-letter queue
        with webhook(measurement) as url:
            env = {
                "CLICKSTREAM_HOME": str(home),
                "CLICKSTREAM_STAGE": settings.stage,
                "CLICKSTREAM_ALERTS__WEBHOOK_URL": url,
            } | local_environment(ports)
            with ingest_server(home, "kinesis", env) as server, reader_process(home, env):
                asyncio.run(_send(server.url, measurement))
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and len(measurement.delivered) < len(
                    measurement.accepted
                ):
                    time.sleep(0.05)
    return measurement


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="clickstream-bench-") as scratch:
        measurement = measure(Path(scratch))
    latencies = measurement.latencies
    if not latencies:
        raise RuntimeError("no alert was delivered to the webhook")
    expected = len(measurement.accepted)
    missing = expected - len(latencies)
    setting = (
        f"{RATE:,} events/s for {measurement.send_seconds:.0f} s, {expected:,} matching "
        f"affiliate clicks among them; webhook on 127.0.0.1, {measurement.deliveries:,} "
        "deliveries" + (f"; {missing:,} alerts never delivered" if missing else "")
    )
    p50, p95 = (percentile(latencies, share) for share in (0.50, 0.95))
    report.add(
        Row(
            "alerts: accepted -> alert delivered, p95",
            p95,
            "s",
            goal=f"p95 <= {GOAL_P95_SECONDS:.0f} s locally",
            met=p95 <= GOAL_P95_SECONDS and missing == 0,
            note=setting,
        )
    )
    report.add(
        Row(
            "alerts: accepted -> alert delivered, p50",
            p50,
            "s",
            note=f"max {max(latencies):.2f} s",
        )
    )


def main() -> None:
    """``python -m bench.alert_bench``: the alert figures alone."""
    report = Report("alert benchmark")
    run(report)
    report.print()
    path = report.write("alerts")
    print(f"results written to {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
