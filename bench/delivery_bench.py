"""Delivery throughput: records from the local Kinesis stream into the landing store.

Each run fills a fresh 2-shard stream with generated client events (PutRecords, 500 a call),
then times one ``Delivery.run(once=True)`` with the default buffering hints until every record
has landed and every shard is checkpointed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bench.ingest_bench import free_port
from bench.report import Report, Row
from streaming.contracts.aws_clients import client
from streaming.contracts.settings import LocalAwsSettings, Settings
from streaming.delivery import Delivery
from streaming.generator import TrafficConfig, generate
from streaming.local_aws import ensure_resources, local_aws_running

PUT_BATCH = 500


def _payloads(events: int) -> list[tuple[bytes, str]]:
    config = TrafficConfig(events=events, seed=7, start=datetime(2026, 11, 1, tzinfo=UTC))
    return [
        (orjson.dumps(event.payload), str(event.payload.get("event_id") or index))
        for index, event in enumerate(generate(config))
    ]


def _put(settings: Settings, payloads: list[tuple[bytes, str]]) -> float:
    """Seconds to put every payload into the stream."""
    kinesis = client(settings, "kinesis")
    started = time.perf_counter()
    for start in range(0, len(payloads), PUT_BATCH):
        batch = [
            {"Data": data, "PartitionKey": key} for data, key in payloads[start : start + PUT_BATCH]
        ]
        response = kinesis.put_records(StreamName=settings.stream_name, Records=batch)
        if response["FailedRecordCount"]:
            raise RuntimeError(f"{response['FailedRecordCount']} records were not put")
    return time.perf_counter() - started


def _deliver(settings: Settings, expected: int) -> float:
    started = time.perf_counter()
    report = Delivery(settings, poll_seconds=0.05).run(once=True)
    elapsed = time.perf_counter() - started
    if report.records_read != expected:
        raise RuntimeError(f"delivered {report.records_read} records, expected {expected}")
    return elapsed


def run(report: Report, *, events: int = 20_000, runs: int = 3) -> None:
    payloads = _payloads(events)
    megabytes = sum(len(data) for data, _ in payloads) / 2**20
    with tempfile.TemporaryDirectory(prefix="clickstream-bench-") as scratch:
        ports = LocalAwsSettings(port=free_port(), kinesis_port=free_port())
        endpoint = Settings(env="local", home=Path(scratch) / "endpoint", local_aws=ports)
        put_rates, delivery_rates = [], []
        with local_aws_running(endpoint):
            for run_index in range(runs):
                settings = Settings(
                    env="local",
                    home=Path(scratch) / f"run{run_index}",
                    stage=f"bench{run_index}",
                    local_aws=endpoint.local_aws,
                )
                ensure_resources(settings)
                put_rates.append(events / _put(settings, payloads))
                delivery_rates.append(events / _deliver(settings, events))
    put_rate = statistics.median(put_rates)
    delivery_rate = statistics.median(delivery_rates)
    report.add(
        Row(
            f"delivery, {events // 1000} k records, 2-shard local stream to landing",
            delivery_rate,
            "records/s",
            peer=put_rate,
            peer_name="PutRecords into the local stream",
            goal="keeps up with PutRecords",
            met=delivery_rate >= put_rate,
            note=f"{megabytes:.1f} MiB of JSON, default buffers (60 s / 5 MiB), median of {runs}",
        )
    )
