"""Latency through the local stack: event accepted -> landed, and -> gold.

The local Kinesis engine runs a 2-shard stream; the ingest server (uvicorn, Kinesis producer)
runs in a subprocess; delivery (our Firehose equivalent) runs in this process with a short
buffer. A client sends generated events at a stated rate (batches of ``BATCH`` events every
``1 / (RATE / BATCH)`` seconds); an event counts as accepted when its batch's response arrives.
It has landed when the object holding it is in the landing store (the object's modification
time). Once every accepted event has landed, the bronze load and the lake build (silver and
gold, ``dbt run``) run for the day; accepted -> gold is the time from each event's acceptance to
the end of that build.
"""

from __future__ import annotations

import gzip
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from bench.ingest_bench import free_port, ingest_server, local_environment, percentile
from bench.report import Report, Row
from lakehouse.bronze_load import load_hour
from lakehouse.build import build_lake
from streaming.contracts.landing import landed_hours
from streaming.contracts.settings import LocalAwsSettings, Settings
from streaming.delivery import Delivery
from streaming.generator import TrafficConfig, generate
from streaming.local_aws import ensure_resources, local_aws_running

RATE = 200
"""Events per second sent."""
SECONDS = 30
BATCH = 20
BUFFER_SECONDS = 5.0
HEADERS = {"content-type": "application/json", "x-forwarded-for": "203.0.113.77"}


def _events(count: int) -> list[dict[str, object]]:
    start = datetime.now(UTC).replace(microsecond=0)
    config = TrafficConfig(
        events=count,
        seed=11,
        start=start,
        days=SECONDS / 86_400,
        invalid_share=0.0,
        duplicate_share=0.0,
        late_share=0.0,
    )
    return [event.payload for event in generate(config)]


def _send(url: str, events: list[dict[str, object]]) -> dict[str, float]:
    """Send at RATE; returns accepted event id -> acceptance time (epoch seconds)."""
    accepted: dict[str, float] = {}
    interval = BATCH / RATE
    next_send = time.monotonic()
    with httpx.Client(timeout=30) as client:
        for start in range(0, len(events), BATCH):
            batch = events[start : start + BATCH]
            delay = next_send - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_send += interval
            response = client.post(
                url + "/v1/batch", content=orjson.dumps({"events": batch}), headers=HEADERS
            )
            now = time.time()
            response.raise_for_status()
            for result in orjson.loads(response.content)["results"]:
                if result["status"] == "accepted":
                    accepted[result["event_id"]] = now
    return accepted


def _landed(settings: Settings) -> dict[str, float]:
    """Event id -> the time its bronze object was written."""
    found: dict[str, float] = {}
    root = settings.landing_dir / settings.landing_bronze_prefix
    for path in root.rglob("*.gz"):
        written = path.stat().st_mtime
        for line in gzip.decompress(path.read_bytes()).splitlines():
            if line.strip():
                found[orjson.loads(line)["event_id"]] = written
    return found


def measure(home: Path) -> dict[str, float]:
    local_aws = LocalAwsSettings(port=free_port(), kinesis_port=free_port())
    settings = Settings(env="local", home=home, stage="latency", local_aws=local_aws)
    events = _events(RATE * SECONDS)
    with local_aws_running(settings):
        ensure_resources(settings)
        delivery = Delivery(settings, buffer_seconds=BUFFER_SECONDS, poll_seconds=0.05)
        worker = threading.Thread(target=delivery.run, daemon=True)
        worker.start()
        env = {"CLICKSTREAM_STAGE": "latency"} | local_environment(local_aws)
        try:
            with ingest_server(home, "kinesis", env) as server:
                sent = time.perf_counter()
                accepted = _send(server.url, events)
                send_seconds = time.perf_counter() - sent
            deadline = time.monotonic() + 120
            landed = _landed(settings)
            while not set(accepted) <= set(landed) and time.monotonic() < deadline:
                time.sleep(0.5)
                landed = _landed(settings)
        finally:
            delivery.stop()
            worker.join(timeout=60)
    missing = set(accepted) - set(landed)
    if missing:
        raise RuntimeError(f"{len(missing)} accepted events never landed")
    for hour in landed_hours(settings):
        load_hour(settings, hour)
    build_lake(settings, run_tests=False, capture=True)
    gold = time.time()
    to_land = [landed[event_id] - at for event_id, at in accepted.items()]
    to_gold = [gold - at for at in accepted.values()]
    return {
        "events": len(accepted),
        "send_rate": len(events) / send_seconds,
        "land_p50": percentile(to_land, 0.50),
        "land_p95": percentile(to_land, 0.95),
        "land_p99": percentile(to_land, 0.99),
        "gold_p50": percentile(to_gold, 0.50),
        "gold_last": min(to_gold),
        "gold_max": max(to_gold),
    }


def run(report: Report, *, runs: int = 1) -> None:
    figures = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="clickstream-latency-") as scratch:
            figures.append(measure(Path(scratch)))

    def median(key: str) -> float:
        return statistics.median(item[key] for item in figures)

    setup = (
        f"{median('events'):,.0f} events accepted at {median('send_rate'):,.0f} events/s "
        f"(target {RATE}/s, batches of {BATCH}); local stream engine, 2 shards"
    )
    report.add(
        Row(
            "latency, event accepted -> landed (p50)",
            median("land_p50"),
            "s",
            runs=runs,
            note=f"p95 {median('land_p95'):.1f} s, p99 {median('land_p99'):.1f} s; delivery "
            f"buffer {BUFFER_SECONDS:g} s; {setup}",
        )
    )
    report.add(
        Row(
            "latency, event accepted -> gold (p50)",
            median("gold_p50"),
            "s",
            runs=runs,
            note=f"last accepted event -> gold {median('gold_last'):.1f} s, first "
            f"{median('gold_max'):.1f} s: the batch waits for every event to land, then the "
            "bronze load and the silver+gold dbt run of the day",
        )
    )
