"""The Kinesis producer under faults: partial failures, throttling, a full buffer, dead letters."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError
from conftest import TestClient, aws_settings_at
from stream_support import dlq_bodies, stream_payloads

from streaming.contracts.aws_clients import client
from streaming.contracts.settings import LocalAwsSettings, ProducerSettings, Settings
from streaming.ingest.runtime import SENDER_THREADS, build_runtime
from streaming.ingest.server import create_app
from streaming.producer.backoff import Backoff
from streaming.producer.dead_letters import DeadLetterQueue, record_from_body, replay_dead_letters
from streaming.producer.kinesis import KinesisProducer
from streaming.producer.records import DLQ, KINESIS, BufferFullError, StreamRecord

THROTTLED = "ProvisionedThroughputExceededException"
FAST_BACKOFF = Backoff(base_s=0.001, cap_s=0.004, rng=random.Random(3))


def throttling_error() -> ClientError:
    return ClientError({"Error": {"Code": THROTTLED, "Message": "Rate exceeded"}}, "PutRecords")


class FlakyKinesis:
    """The real client, except that some calls are throttled as a whole and some records are
    refused with a per-record ErrorCode (those are not forwarded, so they are not written)."""

    def __init__(
        self,
        real: Any,
        *,
        record_failure_share: float = 0.0,
        throttle_every: int = 0,
        always_fail: bool = False,
        seed: int = 1,
    ) -> None:
        self.real = real
        self.record_failure_share = record_failure_share
        self.throttle_every = throttle_every
        self.always_fail = always_fail
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.calls = 0
        self.call_sizes: list[tuple[int, int]] = []
        self.gate = threading.Event()
        self.gate.set()

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.gate.wait()
        with self.lock:
            self.calls += 1
            call = self.calls
            self.call_sizes.append(
                (len(Records), sum(len(r["Data"]) + len(r["PartitionKey"]) for r in Records))
            )
            keep = [self.rng.random() >= self.record_failure_share for _ in Records]
        if self.always_fail or (self.throttle_every and call % self.throttle_every == 0):
            raise throttling_error()
        forwarded = [record for record, kept in zip(Records, keep, strict=True) if kept]
        answers = iter(
            self.real.put_records(StreamName=StreamName, Records=forwarded)["Records"]
            if forwarded
            else []
        )
        results = [
            next(answers) if kept else {"ErrorCode": THROTTLED, "ErrorMessage": "Rate exceeded"}
            for kept in keep
        ]
        return {"FailedRecordCount": keep.count(False), "Records": results}


def records(count: int, *, size: int = 0, key_space: int = 50) -> list[StreamRecord]:
    made = []
    for n in range(count):
        payload = {"event_id": str(uuid.uuid4()), "n": n, "pad": "x" * size}
        made.append(StreamRecord(orjson.dumps(payload), f"sid-{n % key_space}"))
    return made


def event_id(record: StreamRecord) -> str:
    return orjson.loads(record.data)["event_id"]


def producer_on(
    settings: Settings, kinesis: Any, *, dead_letters: bool = True, **producer: Any
) -> KinesisProducer:
    dlq = (
        DeadLetterQueue.named(client(settings, "sqs"), settings.dlq_name) if dead_letters else None
    )
    options = ProducerSettings(**{"linger_ms": 5, **producer})
    return KinesisProducer(
        kinesis,
        settings.stream_name,
        options,
        dead_letters=dlq,
        backoff=FAST_BACKOFF,
        senders=SENDER_THREADS,
    )


def test_partial_failures_and_throttling_lose_and_duplicate_nothing(aws_settings: Settings) -> None:
    flaky = FlakyKinesis(
        client(aws_settings, "kinesis"), record_failure_share=0.3, throttle_every=3
    )
    producer = producer_on(aws_settings, flaky, max_retries=3)
    sent = records(1500)
    futures = [producer.submit(sent[start : start + 100]) for start in range(0, 1500, 100)]
    acks = [ack for future in futures for ack in future.result(timeout=30)]
    producer.close()
    assert len(acks) == len(sent)
    assert all(ack.delivered for ack in acks)
    by_destination = Counter(ack.destination for ack in acks)
    on_stream = Counter(p["event_id"] for p in stream_payloads(aws_settings))
    expected_on_stream = Counter(
        event_id(r) for r, ack in zip(sent, acks, strict=True) if ack.destination == KINESIS
    )
    assert on_stream == expected_on_stream
    assert set(on_stream.values()) == {1}
    dead = {orjson.loads(record_from_body(b).data)["event_id"] for b in dlq_bodies(aws_settings)}
    assert dead == {event_id(r) for r, a in zip(sent, acks, strict=True) if a.destination == DLQ}
    assert by_destination[KINESIS] + by_destination[DLQ] == len(sent)
    counters = producer.counters()
    assert counters["retried"] > 0
    assert counters["throttled"] > 0
    assert counters["produced"] == by_destination[KINESIS]
    assert counters["dead_lettered"] == by_destination[DLQ]
    assert producer.depth == 0


def test_persistent_failure_goes_to_dlq_and_replay_puts_it_on_the_stream(
    aws_settings: Settings,
) -> None:
    real = client(aws_settings, "kinesis")
    broken = producer_on(aws_settings, FlakyKinesis(real, always_fail=True), max_retries=2)
    sent = records(37)
    acks = broken.submit(sent).result(timeout=30)
    broken.close()
    assert {ack.destination for ack in acks} == {DLQ}
    assert stream_payloads(aws_settings) == []
    bodies = dlq_bodies(aws_settings)
    assert sorted(record_from_body(b).data for b in bodies) == sorted(r.data for r in sent)

    healthy = producer_on(aws_settings, real, dead_letters=False)
    dlq = DeadLetterQueue.named(client(aws_settings, "sqs"), aws_settings.dlq_name)
    report = replay_dead_letters(dlq, healthy, wait_time_s=0)
    healthy.close()
    assert (report.received, report.replayed, report.failed) == (37, 37, 0)
    landed = stream_payloads(aws_settings)
    assert sorted(p["event_id"] for p in landed) == sorted(event_id(r) for r in sent)
    assert dlq_bodies(aws_settings) == []


def test_replay_keeps_messages_the_stream_still_refuses(aws_settings: Settings) -> None:
    real = client(aws_settings, "kinesis")
    broken = producer_on(aws_settings, FlakyKinesis(real, always_fail=True), max_retries=0)
    broken.submit(records(12)).result(timeout=30)
    dlq = DeadLetterQueue.named(client(aws_settings, "sqs"), aws_settings.dlq_name)
    report = replay_dead_letters(dlq, broken_without_dlq(aws_settings, real), wait_time_s=0)
    broken.close()
    assert (report.received, report.replayed, report.failed) == (12, 0, 12)
    assert len(dlq_bodies(aws_settings)) == 12


def broken_without_dlq(settings: Settings, real: Any) -> KinesisProducer:
    return producer_on(
        settings, FlakyKinesis(real, always_fail=True), dead_letters=False, max_retries=1
    )


def test_batches_respect_the_putrecords_limits(aws_settings: Settings) -> None:
    recording = FlakyKinesis(client(aws_settings, "kinesis"))
    producer = producer_on(aws_settings, recording, linger_ms=50)
    small = producer.submit(records(1234))
    large = producer.submit(records(30, size=300 * 1024))
    assert all(ack.destination == KINESIS for ack in small.result(timeout=30))
    assert all(ack.destination == KINESIS for ack in large.result(timeout=30))
    producer.close()
    assert all(count <= 500 for count, _ in recording.call_sizes)
    assert all(size <= 5 * 1024 * 1024 for _, size in recording.call_sizes)
    assert max(count for count, _ in recording.call_sizes) == 500
    assert len(stream_payloads(aws_settings)) == 1264


def test_oversized_record_is_refused_up_front(aws_settings: Settings) -> None:
    producer = producer_on(aws_settings, client(aws_settings, "kinesis"))
    with pytest.raises(ValueError, match="exceeds the Kinesis limit"):
        producer.submit([StreamRecord(b"x" * (1024 * 1024 + 1), "k")])
    producer.close()


def test_flush_sends_without_waiting_for_the_linger(aws_settings: Settings) -> None:
    producer = producer_on(aws_settings, client(aws_settings, "kinesis"), linger_ms=5000)
    started = time.monotonic()
    future = producer.submit(records(3))
    producer.flush()
    future.result(timeout=10)
    assert time.monotonic() - started < 2
    producer.close()


def test_full_buffer_refuses_instead_of_dropping(aws_settings: Settings) -> None:
    gated = FlakyKinesis(client(aws_settings, "kinesis"))
    gated.gate.clear()
    producer = producer_on(aws_settings, gated, buffer_records=10)
    first = producer.submit(records(10))
    with pytest.raises(BufferFullError):
        producer.submit(records(1))
    gated.gate.set()
    assert all(ack.destination == KINESIS for ack in first.result(timeout=30))
    assert producer.submit(records(1)).result(timeout=30)[0].destination == KINESIS
    producer.close()
    assert len(stream_payloads(aws_settings)) == 11


def test_full_buffer_answers_503_with_retry_after(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    settings = aws_settings_at(tmp_path, local_aws)
    gated = FlakyKinesis(client(settings, "kinesis"))
    gated.gate.clear()

    def runtime(settings: Settings) -> Any:
        return build_runtime(settings, sink=producer_on(settings, gated, buffer_records=5))

    event = {
        "event_type": "page_view",
        "ts": "2025-08-20T20:20:20Z",
        "user": {"consent": {"analytics": True}},
    }
    body = orjson.dumps({"events": [event] * 5})
    headers = {"content-type": "application/json"}
    with TestClient(create_app(settings, runtime)) as http:
        answers: list[Any] = []
        waiting = threading.Thread(
            target=lambda: answers.append(http.post("/v1/batch", content=body, headers=headers))
        )
        waiting.start()
        deadline = time.monotonic() + 10
        while http.get("/metrics").text.find("clickstream_producer_buffer_records 5") < 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        refused = http.post("/v1/batch", content=body, headers=headers)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "overloaded"
        gated.gate.set()
        waiting.join(timeout=30)
        assert answers[0].status_code == 200
        assert answers[0].json()["accepted"] == 5
        assert "clickstream_ingest_overloaded_total 1" in http.get("/metrics").text
    accepted_ids = {r["event_id"] for r in answers[0].json()["results"]}
    assert {p["event_id"] for p in stream_payloads(settings)} == accepted_ids


def test_http_request_is_answered_once_its_records_are_dead_lettered(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    settings = aws_settings_at(tmp_path, local_aws)
    real = client(settings, "kinesis")

    def runtime(settings: Settings) -> Any:
        failing = producer_on(settings, FlakyKinesis(real, always_fail=True), max_retries=1)
        return build_runtime(settings, sink=failing)

    events = [
        {
            "event_type": "page_view",
            "ts": "2025-08-20T20:20:20Z",
            "event_id": str(uuid.uuid4()),
            "user": {"consent": {"analytics": True}},
        }
        for _ in range(7)
    ]
    with TestClient(create_app(settings, runtime)) as http:
        response = http.post(
            "/v1/batch",
            content=orjson.dumps({"events": events}),
            headers={"content-type": "application/json"},
        )
        metrics = http.get("/metrics").text
    assert response.status_code == 200
    assert response.json()["accepted"] == 7
    assert 'clickstream_producer_records_total{destination="dlq"} 7' in metrics
    assert stream_payloads(settings) == []

    healthy = producer_on(settings, real, dead_letters=False)
    dlq = DeadLetterQueue.named(client(settings, "sqs"), settings.dlq_name)
    report = replay_dead_letters(dlq, healthy, wait_time_s=0)
    healthy.close()
    assert report.replayed == 7
    assert sorted(p["event_id"] for p in stream_payloads(settings)) == sorted(
        e["event_id"] for e in events
    )
