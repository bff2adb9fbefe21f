"""The local stream under load, through the real local engine.

* **HTTP → stream → landed, sustained**: the local stack as ``make dev`` runs it (the Kinesis
  engine, moto, one ingest worker, delivery with the demo's 5 s buffer, the real-time consumer),
  and clients posting batches of 100 events to ``/v1/batch`` for 60 s. Every accepted event
  must land; accepted → landed is the landing object's write time minus the event's
  ``ingest_ts``.
* **GetRecords at 10 k vs 1 M records**: one shard filled to 10 k, then to 1 M records; the time
  of ``GetRecords(Limit=1000)`` from positions spread over the whole shard. A stream whose cost
  grows with its length (as moto's did: it scans the shard from the start) shows a ratio far
  above 1.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.ingest_bench import free_port, local_environment, percentile
from bench.report import Report, Row
from streaming.contracts.aws_clients import client
from streaming.contracts.settings import IngestSettings, LocalAwsSettings, Settings
from streaming.local_aws import ensure_resources, local_aws_running
from streaming.local_stack import LocalStack

SUSTAIN_SECONDS = 60.0
CLIENTS = 8
BATCH = 100
DELIVERY_BUFFER_SECONDS = 5.0
SMALL, LARGE = 10_000, 1_000_000
READ_LIMIT = 1_000
SAMPLES = 40
GET_RECORDS_RATIO_GOAL = 1.5


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="clickstream-bench-stream-") as scratch:
        sustained = _sustained(Path(scratch) / "sustained")
        small, large = _get_records(Path(scratch) / "get-records")
    load = os.getloadavg()[0]
    report.add(
        Row(
            f"HTTP -> stream -> landed, sustained {SUSTAIN_SECONDS:.0f} s",
            sustained["accepted_rate"],
            "events/s",
            note=(
                f"{sustained['accepted']:,} accepted, all landed {sustained['drain']:.1f} s after "
                f"the traffic stopped; {CLIENTS} clients x {BATCH}-event batches, 1 ingest "
                f"worker, 2 shards, load average {load:.1f}"
            ),
            runs=1,
        )
    )
    report.add(
        Row(
            "accepted -> landed p95 under that load",
            sustained["p95"],
            "s",
            goal=f"<= {DELIVERY_BUFFER_SECONDS + 2:.0f} s (buffer {DELIVERY_BUFFER_SECONDS:.0f} s)",
            met=sustained["p95"] <= DELIVERY_BUFFER_SECONDS + 2,
            note=f"p50 {sustained['p50']:.2f} s, p99 {sustained['p99']:.2f} s",
            lower_is_better=True,
            runs=1,
        )
    )
    ratio = large / small
    report.add(
        Row(
            "GetRecords of 1,000 records, 1 M vs 10 k records in the shard",
            large * 1000,
            "ms",
            peer=small * 1000,
            peer_name="the same call at 10 k records",
            goal=f"ratio <= {GET_RECORDS_RATIO_GOAL}",
            met=ratio <= GET_RECORDS_RATIO_GOAL,
            note=f"ratio {ratio:.2f}; median of {SAMPLES} calls from positions across the shard",
            lower_is_better=True,
        )
    )


# --- sustained HTTP load through the stack -------------------------------------------------------


def _sustained(home: Path) -> dict[str, float]:
    ports = LocalAwsSettings(port=free_port(), kinesis_port=free_port())
    settings = Settings(
        env="local",
        home=home,
        stage="sustained",
        local_aws=ports,
        ingest=IngestSettings(port=free_port()),
    )
    environment = local_environment(ports) | {
        "CLICKSTREAM_HOME": str(home),
        "CLICKSTREAM_STAGE": settings.stage,
        "CLICKSTREAM_INGEST__PORT": str(settings.ingest.port),
    }
    with _environment(environment):
        stack = LocalStack(
            settings, delivery_buffer_seconds=DELIVERY_BUFFER_SECONDS, on_notice=print
        )
        stack.start()
        try:
            accepted = asyncio.run(_post_for(settings.ingest_url, SUSTAIN_SECONDS))
            stopped = time.monotonic()
            landed = _wait_for_landing(settings, accepted)
            drain = time.monotonic() - stopped
        finally:
            stack.stop()
    to_land = [written - ingest_ms / 1000 for ingest_ms, written in landed.values()]
    return {
        "accepted": len(accepted),
        "accepted_rate": len(accepted) / SUSTAIN_SECONDS,
        "drain": drain,
        "p50": percentile(to_land, 0.50),
        "p95": percentile(to_land, 0.95),
        "p99": percentile(to_land, 0.99),
    }


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The stack's children read their ports from the environment they inherit."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _event(n: int) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    session = f"s{n % 5_000}"
    return {
        "schema_version": "1.0.0",
        "event_type": "page_view",
        "ts": now,
        "user": {"user_id_hash": f"sha256:{session}", "consent": {"analytics": True}},
        "session": {"session_id": session, "utm": {"source": "newsletter"}},
        "ctx": {"page_url": f"https://www.example.com/compare/tool-{n % 40}"},
    }


async def _post_for(url: str, seconds: float) -> set[str]:
    accepted: set[str] = set()
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def one_client(http: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            body = orjson.dumps({"events": [_event(next(counter)) for _ in range(BATCH)]})
            answer = await http.post(
                f"{url}/v1/batch", content=body, headers={"content-type": "application/json"}
            )
            if answer.status_code != 200:
                raise RuntimeError(f"the ingest answered {answer.status_code}: {answer.text}")
            for result in answer.json()["results"]:
                if result["status"] == "accepted":
                    accepted.add(result["event_id"])

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(one_client(http) for _ in range(CLIENTS)))
    return accepted


def _landed(settings: Settings) -> dict[str, tuple[int, float]]:
    """Every landed bronze event: its ``ingest_ts`` (ms) and when its object was written (s)."""
    found: dict[str, tuple[int, float]] = {}
    for path in sorted((settings.landing_dir / settings.landing_bronze_prefix).rglob("*.gz")):
        written = path.stat().st_mtime
        for line in gzip.decompress(path.read_bytes()).splitlines():
            if line:
                record = orjson.loads(line)
                found.setdefault(record["event_id"], (record["ingest_ts"], written))
    return found


def _wait_for_landing(settings: Settings, accepted: set[str]) -> dict[str, tuple[int, float]]:
    deadline = time.monotonic() + 180
    while True:
        landed = _landed(settings)
        if accepted <= set(landed):
            return landed
        if time.monotonic() > deadline:
            missing = len(accepted - set(landed))
            raise RuntimeError(f"{missing:,} accepted events did not land within 180 s")
        time.sleep(1.0)


# --- GetRecords latency against the length of the shard ---------------------------------------


def _get_records(home: Path) -> tuple[float, float]:
    ports = LocalAwsSettings(port=free_port(), kinesis_port=free_port(), stream_shards=1)
    settings = Settings(env="local", home=home, stage="getrecords", local_aws=ports)
    with local_aws_running(settings):
        ensure_resources(settings)
        kinesis = client(settings, "kinesis")
        marks: list[str] = []
        _fill(settings, SMALL, marks)
        small = _read_latency(kinesis, settings, marks)
        _fill(settings, LARGE - SMALL, marks)
        large = _read_latency(kinesis, settings, marks)
    return small, large


def _fill(settings: Settings, records: int, marks: list[str]) -> None:
    """Put ``records`` small records with two writers; keeps every 1,000th sequence number."""
    body = orjson.dumps({"event_type": "page_view", "pad": "x" * 150})
    lock = threading.Lock()
    calls = records // 500

    def writer(share: int) -> None:
        kinesis = client(settings, "kinesis")
        for _ in range(share):
            entries = [{"Data": body, "PartitionKey": str(n)} for n in range(500)]
            response = kinesis.put_records(StreamName=settings.stream_name, Records=entries)
            if response["FailedRecordCount"]:
                raise RuntimeError(f"{response['FailedRecordCount']} records were not put")
            with lock:
                marks.extend(item["SequenceNumber"] for item in response["Records"][::1000])
                marks.append(response["Records"][-1]["SequenceNumber"])

    threads = [threading.Thread(target=writer, args=(calls // 2 + calls % 2 * n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _read_latency(kinesis: Any, settings: Settings, marks: list[str]) -> float:
    """Median seconds of GetRecords(Limit=1000) after positions spread over the shard."""
    shard = kinesis.list_shards(StreamName=settings.stream_name)["Shards"][0]["ShardId"]
    chooser = random.Random(7)
    ordered = sorted(marks, key=int)[:-6]  # at least a full read after each position
    seconds = []
    for position in chooser.sample(ordered, min(SAMPLES, len(ordered))):
        iterator = kinesis.get_shard_iterator(
            StreamName=settings.stream_name,
            ShardId=shard,
            ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            StartingSequenceNumber=position,
        )["ShardIterator"]
        started = time.perf_counter()
        response = kinesis.get_records(ShardIterator=iterator, Limit=READ_LIMIT)
        seconds.append(time.perf_counter() - started)
        if len(response["Records"]) != READ_LIMIT:
            raise RuntimeError(f"GetRecords returned {len(response['Records'])} records")
    return statistics.median(seconds)
