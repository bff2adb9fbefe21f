"""Delivery from a 2-shard stream to the landing store: layout, errors, checkpoints, crashes."""

from __future__ import annotations

import base64
import gzip
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from aws_fixtures import (
    CLI,
    EVENT_TYPES,
    events,
    landed,
    landed_ids,
    local_endpoint,  # noqa: F401  (module-scoped fixture)
    local_settings,
    process_environment,
    put_events,
    put_records,
)

from streaming.contracts.aws_clients import client
from streaming.contracts.landing import decode_records
from streaming.contracts.settings import Settings
from streaming.delivery import Delivery
from streaming.delivery.buffers import Buffers, PartitionBuffer, ShardProgress
from streaming.delivery.records import BRONZE, Partition, Routed
from streaming.follower import CheckpointStore
from streaming.local_aws import ensure_resources

KEY_NAME = (
    r"clickstream-t[0-9a-f]{8}-bronze-delivery-1-"
    r"(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-[0-9a-f-]{36}\.gz"
)
BRONZE_KEY = re.compile(
    r"^bronze/events_type=(page_view|chart_interaction|affiliate_click)/"
    r"ingest_dt=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/" + KEY_NAME + "$"
)
ERROR_KEY = re.compile(
    r"^errors/partitioning-failed/ingest_dt=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/" + KEY_NAME + "$"
)
SMALL_BUFFER_BYTES = 16_000


@pytest.fixture
def settings(local_endpoint: Settings, tmp_path: Path) -> Settings:  # noqa: F811
    """A fresh stream (own stage) on the module's endpoint, and a fresh home."""
    settings = local_settings(
        tmp_path / "home", local_endpoint.local_aws, stage=f"t{uuid.uuid4().hex[:8]}"
    )
    ensure_resources(settings)
    return settings


def _deliver_once(settings: Settings, buffer_bytes: int = SMALL_BUFFER_BYTES) -> dict[str, int]:
    delivery = Delivery(settings, buffer_seconds=0.5, buffer_bytes=buffer_bytes, poll_seconds=0.05)
    return delivery.run(once=True).as_dict()


def _sequence_numbers_per_shard(settings: Settings) -> dict[str, list[str]]:
    kinesis = client(settings, "kinesis")
    numbers = {}
    for shard in kinesis.list_shards(StreamName=settings.stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=settings.stream_name,
            ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        records = kinesis.get_records(ShardIterator=iterator)["Records"]
        numbers[shard["ShardId"]] = [record["SequenceNumber"] for record in records]
    return numbers


def test_every_record_of_every_shard_lands_once_in_the_bronze_layout(settings: Settings) -> None:
    batch = events(900)
    started = datetime.now(UTC).replace(microsecond=0)  # object names carry whole seconds
    put_events(settings, batch)
    per_shard = _sequence_numbers_per_shard(settings)
    assert len(per_shard) == 2 and all(per_shard.values())

    report = _deliver_once(settings)

    assert report["records_read"] == report["bronze_records"] == 900
    assert report["error_records"] == 0
    assert landed_ids(settings) == Counter(event["event_id"] for event in batch)
    store_root = settings.landing_dir
    objects = landed(settings, "bronze")
    assert len(objects) == report["bronze_objects"] > len(EVENT_TYPES)  # the size limit split
    for key, records in objects.items():
        match = BRONZE_KEY.match(key)
        assert match, key
        event_type, day, hour, stamp = match.groups()
        assert {record["event_type"] for record in records} == {event_type}
        named = datetime.strptime(stamp, "%Y-%m-%d-%H-%M-%S").replace(tzinfo=UTC)
        assert started <= named <= datetime.now(UTC)  # arrival time, not event time
        assert (day, hour) == (f"{named:%Y-%m-%d}", f"{named:%H}")
        body = (store_root / key).read_bytes()
        assert body[:2] == b"\x1f\x8b"
        lines = gzip.decompress(body).split(b"\n")
        assert lines[-1] == b""
        assert [orjson.loads(line) for line in lines[:-1]] == records
        if len(records) > 1:
            assert len(gzip.decompress(body)) <= SMALL_BUFFER_BYTES
    checkpoints = CheckpointStore.for_reader(settings, "delivery").all()
    # the checkpoint is the last record of each shard
    assert {shard: point.sequence_number for shard, point in checkpoints.items()} == {
        shard: numbers[-1] for shard, numbers in per_shard.items()
    }


def test_records_that_cannot_be_partitioned_land_under_the_error_prefix(
    settings: Settings,
) -> None:
    good = events(30)
    bad = {
        b"not json at all": "not valid JSON",
        b"[1, 2, 3]": "JSON array, not an object",
        b'{"event_id": "x"}': "event_type is missing",
        b'{"event_type": 7}': "event_type is missing or not a string",
        b'{"event_type": "../escape"}': "cannot name a partition",
    }
    put_records(settings, [*(orjson.dumps(event) for event in good), *bad])

    report = _deliver_once(settings)

    assert report["bronze_records"] == 30
    assert report["error_records"] == len(bad)
    assert landed_ids(settings) == Counter(event["event_id"] for event in good)
    errors = landed(settings, "errors")
    assert errors and all(ERROR_KEY.match(key) for key in errors), list(errors)
    documents = [document for records in errors.values() for document in records]
    by_raw = {base64.b64decode(document["rawData"]): document for document in documents}
    assert set(by_raw) == set(bad)
    for raw, reason in bad.items():
        document = by_raw[raw]
        assert reason in document["errorMessage"]
        assert document["errorCode"] == "DynamicPartitioning.MetadataExtractionFailed"
        assert document["shardId"].startswith("shardId-")
        assert document["arrivalTimestamp"] <= document["attemptEndingTimestamp"]


def test_a_second_run_resumes_from_the_checkpoints_and_lands_only_new_records(
    settings: Settings,
) -> None:
    first, second = events(300), events(240, first=300)
    put_events(settings, first)
    _deliver_once(settings)
    before = set(landed(settings))

    put_events(settings, second)
    report = _deliver_once(settings)

    assert report["records_read"] == 240
    new_objects = {key: records for key, records in landed(settings).items() if key not in before}
    assert Counter(r["event_id"] for records in new_objects.values() for r in records) == Counter(
        event["event_id"] for event in second
    )
    assert _deliver_once(settings)["records_read"] == 0


def test_checkpoints_of_an_earlier_stream_of_the_same_name_are_not_applied(
    settings: Settings,
) -> None:
    put_events(settings, events(200))
    _deliver_once(settings)
    kinesis = client(settings, "kinesis")
    kinesis.delete_stream(StreamName=settings.stream_name)
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName=settings.stream_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
    )
    time.sleep(1.1)  # creation times are compared at the resolution the API reports
    ensure_resources(settings)  # as `clickstream local up` does after a restart
    recreated = events(50, first=200)
    put_events(settings, recreated)

    report = _deliver_once(settings)

    assert report["records_read"] == 50  # its sequence numbers restart: nothing is skipped
    assert set(landed_ids(settings)) >= {event["event_id"] for event in recreated}


def test_a_resharded_stream_is_read_through_the_closed_parent_into_its_children(
    settings: Settings,
) -> None:
    first = events(120)
    put_events(settings, first)
    kinesis = client(settings, "kinesis")
    parent = kinesis.list_shards(StreamName=settings.stream_name)["Shards"][0]
    hash_range = parent["HashKeyRange"]
    middle = (int(hash_range["StartingHashKey"]) + int(hash_range["EndingHashKey"])) // 2
    kinesis.split_shard(
        StreamName=settings.stream_name,
        ShardToSplit=parent["ShardId"],
        NewStartingHashKey=str(middle),
    )
    more = events(90, first=120)
    put_events(settings, more)

    report = _deliver_once(settings)

    assert report["shards"] == 4  # the closed parent, its sibling and two children
    assert set(landed_ids(settings)) == {event["event_id"] for event in first + more}
    assert CheckpointStore.for_reader(settings, "delivery").load(parent["ShardId"]).closed


def test_the_checkpoint_is_the_end_of_the_landed_prefix_of_the_read_order() -> None:
    clock = [0.0]
    buffers = Buffers(buffer_seconds=10, buffer_bytes=1_000, clock=lambda: clock[0])
    progress = ShardProgress("shardId-000000000000")
    arrival = datetime(2026, 11, 23, 21, 59, 59, tzinfo=UTC)

    def add(sequence_number: str, event_type: str, size: int = 100) -> list[PartitionBuffer]:
        routed = Routed(Partition(BRONZE, event_type), {"n": sequence_number}, size)
        return buffers.add(routed, arrival, progress.read(sequence_number))

    def land(flushed: list[PartitionBuffer]) -> None:
        for buffer in flushed:
            for mark in buffer.marks:
                mark.landed = True
        progress.advance()

    assert add("11", "page_view") == []
    assert add("12", "affiliate_click") == []
    assert add("13", "page_view") == []
    clock[0] = 5.0
    full = add("14", "page_view", size=900)  # would outgrow 1000 bytes: 11 and 13 are written
    assert [[record["n"] for record in buffer.records] for buffer in full] == [["11", "13"]]
    land(full)
    assert progress.checkpoint == "11"  # 12 (affiliate_click) is still buffered
    clock[0] = 10.0
    due = buffers.due()
    assert [buffer.partition.name for buffer in due] == ["affiliate_click"]
    land(due)
    assert progress.checkpoint == "13"  # 14 is still buffered
    assert buffers.buffered_records == 1
    assert buffers.seconds_to_next_deadline() == 5.0
    land(buffers.drain())
    assert progress.checkpoint == "14"
    assert progress.in_flight == 0


# --- crashes and signals: delivery in a subprocess -------------------------------------------


class DeliveryProcess:
    """``clickstream deliver`` in a subprocess, its log lines collected as they come."""

    def __init__(self, settings: Settings, *arguments: str) -> None:
        self.process = subprocess.Popen(
            [*CLI, "deliver", "--poll-seconds", "0.05", *arguments],
            env=process_environment(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def wait_for(self, text: str, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.lines) < count:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"never saw {count}x {text!r}:\n{''.join(self.lines)}")
            time.sleep(0.05)

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        return code


@pytest.fixture
def running() -> Iterator[list[DeliveryProcess]]:
    processes: list[DeliveryProcess] = []
    yield processes
    for delivery in processes:
        if delivery.process.poll() is None:
            delivery.process.kill()
            delivery.process.wait()


def test_a_killed_delivery_loses_nothing_and_repeats_only_what_had_landed(
    settings: Settings, running: list[DeliveryProcess]
) -> None:
    batch = events(1500)
    put_events(settings, batch)
    delivery = DeliveryProcess(
        settings, "--buffer-seconds", "3600", "--buffer-bytes", str(SMALL_BUFFER_BYTES * 4)
    )
    running.append(delivery)
    delivery.wait_for("caught up", count=2)
    assert delivery.stop(signal.SIGKILL) == -signal.SIGKILL
    landed_before_kill = landed_ids(settings)
    assert 0 < sum(landed_before_kill.values()) < len(batch)  # some landed, some still buffered

    _deliver_once(settings)

    after = landed_ids(settings)
    assert set(after) == {event["event_id"] for event in batch}
    repeated = {event_id for event_id, count in after.items() if count > 1}
    assert repeated <= set(landed_before_kill)
    assert all(count <= 2 for count in after.values())


def test_sigterm_flushes_the_buffers_and_checkpoints_before_exit(
    settings: Settings, running: list[DeliveryProcess]
) -> None:
    batch = events(600)
    put_events(settings, batch)
    delivery = DeliveryProcess(
        settings, "--buffer-seconds", "3600", "--buffer-bytes", str(64 * 2**20)
    )
    running.append(delivery)
    delivery.wait_for("caught up", count=2)
    assert landed(settings) == {}  # everything is still in the buffers

    assert delivery.stop(signal.SIGTERM) == 0

    assert "SIGTERM: flushing buffers and stopping" in "".join(delivery.lines)
    assert landed_ids(settings) == Counter(event["event_id"] for event in batch)
    assert len(landed(settings)) == len(EVENT_TYPES)  # one object per event type
    assert _deliver_once(settings)["records_read"] == 0


def test_in_aws_the_same_delivery_lands_in_the_bronze_bucket(settings: Settings) -> None:
    """CLICKSTREAM_ENV=aws, with the AWS SDK pointed at the local servers instead of AWS by its
    own per-service endpoint variables: the code passes no endpoint in ``aws``."""
    aws = Settings(env="aws", aws_account_id=settings.account_id, stage=settings.stage)
    s3 = client(settings, "s3")
    s3.create_bucket(Bucket=aws.bucket_name("bronze"))
    batch = events(60)
    put_events(settings, batch)
    environment = process_environment(settings) | {
        "CLICKSTREAM_ENV": "aws",
        "CLICKSTREAM_AWS_ACCOUNT_ID": aws.account_id,
        "AWS_ENDPOINT_URL": str(settings.aws_endpoint_url),
        "AWS_ENDPOINT_URL_KINESIS": str(settings.kinesis_endpoint_url),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "CLICKSTREAM_INGEST__HMAC_SECRET": "not-used-by-delivery",
    }
    result = subprocess.run(
        [*CLI, "deliver", "--once", "--poll-seconds", "0.05"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    keys = [
        item["Key"] for item in s3.list_objects_v2(Bucket=aws.bucket_name("bronze"))["Contents"]
    ]
    assert keys and all(BRONZE_KEY.match(key) for key in keys)
    landed_in_s3 = Counter(
        record["event_id"]
        for key in keys
        for record in decode_records(
            s3.get_object(Bucket=aws.bucket_name("bronze"), Key=key)["Body"].read()
        )
    )
    assert landed_in_s3 == Counter(event["event_id"] for event in batch)
    assert landed(settings) == {}  # nothing in the local landing directory
