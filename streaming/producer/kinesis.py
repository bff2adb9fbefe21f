"""A Kinesis producer: PutRecords batches, retries of only the failed records, back-pressure.

Records wait in a bounded in-memory buffer. Sender threads take up to 500 records / 5 MiB at a
time, as soon as a batch is full or the oldest record has lingered ``linger_ms``. A record that
PutRecords refuses (per-record ``ErrorCode``, e.g. ProvisionedThroughputExceededException) or
that was in a call that failed as a whole (a throttling ``ClientError``, a connection error) is
retried alone after an exponential backoff with full jitter; after ``max_retries`` it goes to
the dead-letter queue. The buffer counts records until they are acknowledged, so a full buffer
refuses new work instead of dropping anything.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from streaming.contracts.settings import ProducerSettings
from streaming.producer.backoff import Backoff
from streaming.producer.dead_letters import DeadLetterQueue
from streaming.producer.records import DLQ, FAILED, KINESIS, Ack, BufferFullError, StreamRecord

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "LimitExceededException",
        "KMSThrottlingException",
        "RequestLimitExceeded",
    }
)


class _Submission:
    """One caller's records: resolved once every record has an Ack."""

    __slots__ = ("acks", "future", "remaining")

    def __init__(self, count: int) -> None:
        self.acks: list[Ack | None] = [None] * count
        self.remaining = count
        self.future: Future[list[Ack]] = Future()


@dataclass(slots=True)
class _Pending:
    record: StreamRecord
    submission: _Submission
    index: int
    ready_since: float
    attempts: int = 0


@dataclass
class ProducerCounters:
    produced: int = 0
    retried: int = 0
    throttled: int = 0
    dead_lettered: int = 0
    failed: int = 0
    put_calls: int = 0
    failed_calls: int = 0


@dataclass
class _Buffer:
    ready: deque[_Pending] = field(default_factory=deque)
    ready_bytes: int = 0
    delayed: list[tuple[float, int, _Pending]] = field(default_factory=list)
    outstanding: int = 0


class KinesisProducer:
    def __init__(
        self,
        client: Any,
        stream_name: str,
        settings: ProducerSettings,
        *,
        dead_letters: DeadLetterQueue | None = None,
        senders: int = 4,
        backoff: Backoff | None = None,
    ) -> None:
        self.client = client
        self.stream_name = stream_name
        self.settings = settings
        self.dead_letters = dead_letters
        self.backoff = backoff or Backoff()
        self._counters = ProducerCounters()
        self._buffer = _Buffer()
        self._lock = threading.Condition()
        self._sequence = itertools.count()
        self._closing = False
        self._flushing = False
        self._threads = [
            threading.Thread(target=self._run, name=f"kinesis-sender-{n}", daemon=True)
            for n in range(senders)
        ]
        for thread in self._threads:
            thread.start()

    # --- the sink contract ---------------------------------------------------------------

    def submit(self, records: Sequence[StreamRecord]) -> Future[list[Ack]]:
        submission = _Submission(len(records))
        if not records:
            submission.future.set_result([])
            return submission.future
        for record in records:
            if record.size > self.settings.max_record_bytes:
                raise ValueError(
                    f"record of {record.size} bytes exceeds the Kinesis limit of "
                    f"{self.settings.max_record_bytes}"
                )
        with self._lock:
            if self._closing:
                raise RuntimeError("the producer is closed")
            buffer = self._buffer
            capacity = self.settings.buffer_records
            if buffer.outstanding + len(records) > capacity:
                raise BufferFullError(buffer.outstanding, capacity)
            buffer.outstanding += len(records)
            now = time.monotonic()
            for index, record in enumerate(records):
                buffer.ready.append(_Pending(record, submission, index, now))
                buffer.ready_bytes += record.size
            self._lock.notify_all()
        return submission.future

    def flush(self) -> None:
        with self._lock:
            self._flushing = True
            self._lock.notify_all()

    def close(self, timeout: float | None = None) -> None:
        """Send everything still buffered (retries included), then stop the senders."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    @property
    def depth(self) -> int:
        return self._buffer.outstanding

    def counters(self) -> dict[str, int]:
        with self._lock:
            return dict(vars(self._counters))

    # --- sender threads --------------------------------------------------------------------

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._put(batch)

    def _next_batch(self) -> list[_Pending] | None:
        settings = self.settings
        linger_s = settings.linger_ms / 1000
        buffer = self._buffer
        with self._lock:
            while True:
                now = time.monotonic()
                while buffer.delayed and buffer.delayed[0][0] <= now:
                    pending = heapq.heappop(buffer.delayed)[2]
                    pending.ready_since = float("-inf")  # retries go out with the next call
                    buffer.ready.appendleft(pending)
                    buffer.ready_bytes += pending.record.size
                timeout: float | None = None
                if buffer.ready:
                    waited = now - buffer.ready[0].ready_since
                    if (
                        self._closing
                        or self._flushing
                        or waited >= linger_s
                        or len(buffer.ready) >= settings.max_records_per_call
                        or buffer.ready_bytes >= settings.max_bytes_per_call
                    ):
                        return self._take()
                    timeout = linger_s - waited
                elif self._closing and not buffer.delayed:
                    self._lock.notify_all()
                    return None
                if buffer.delayed:
                    until_due = buffer.delayed[0][0] - now
                    timeout = until_due if timeout is None else min(timeout, until_due)
                self._lock.wait(timeout)

    def _take(self) -> list[_Pending]:
        buffer = self._buffer
        batch: list[_Pending] = []
        size = 0
        while buffer.ready and len(batch) < self.settings.max_records_per_call:
            record_size = buffer.ready[0].record.size
            if batch and size + record_size > self.settings.max_bytes_per_call:
                break
            pending = buffer.ready.popleft()
            batch.append(pending)
            size += record_size
        buffer.ready_bytes -= size
        if not buffer.ready:
            self._flushing = False
        return batch

    def _put(self, batch: list[_Pending]) -> None:
        entries = [
            {"Data": pending.record.data, "PartitionKey": pending.record.partition_key}
            for pending in batch
        ]
        try:
            response = self.client.put_records(StreamName=self.stream_name, Records=entries)
        except ClientError as error:
            throttled = error.response.get("Error", {}).get("Code") in THROTTLING_CODES
            self._retry(batch, throttled_calls=int(throttled), failed_calls=1)
            return
        except Exception:  # connection errors, timeouts: the whole call is retried
            self._retry(batch, failed_calls=1)
            return
        acked: list[tuple[_Pending, Ack]] = []
        failed: list[_Pending] = []
        throttled_records = 0
        for pending, result in zip(batch, response["Records"], strict=True):
            code = result.get("ErrorCode")
            if code:
                failed.append(pending)
                throttled_records += code in THROTTLING_CODES
            else:
                acked.append((pending, Ack(KINESIS, result["ShardId"], result["SequenceNumber"])))
        self._resolve(acked, produced=len(acked), put_calls=1)
        if failed:
            self._retry(failed, throttled_calls=throttled_records)

    def _retry(
        self, pendings: list[_Pending], *, throttled_calls: int = 0, failed_calls: int = 0
    ) -> None:
        exhausted: list[_Pending] = []
        with self._lock:
            counters = self._counters
            counters.throttled += throttled_calls
            counters.failed_calls += failed_calls
            counters.put_calls += failed_calls
            now = time.monotonic()
            for pending in pendings:
                pending.attempts += 1
                if pending.attempts > self.settings.max_retries:
                    exhausted.append(pending)
                    continue
                counters.retried += 1
                due = now + self.backoff.delay(pending.attempts)
                heapq.heappush(self._buffer.delayed, (due, next(self._sequence), pending))
            self._lock.notify_all()
        if exhausted:
            self._dead_letter(exhausted)

    def _dead_letter(self, pendings: list[_Pending]) -> None:
        if self.dead_letters is None:
            error = f"not acknowledged after {self.settings.max_retries} retries"
            self._resolve([(pending, Ack(FAILED, error=error)) for pending in pendings])
            return
        sent = self.dead_letters.send([pending.record for pending in pendings])
        outcomes = [
            (pending, Ack(DLQ) if ok else Ack(FAILED, error="dead-letter queue refused it"))
            for pending, ok in zip(pendings, sent, strict=True)
        ]
        self._resolve(outcomes, dead_lettered=sum(sent))

    def _resolve(
        self,
        outcomes: list[tuple[_Pending, Ack]],
        *,
        produced: int = 0,
        dead_lettered: int = 0,
        put_calls: int = 0,
    ) -> None:
        finished: list[_Submission] = []
        with self._lock:
            counters = self._counters
            counters.produced += produced
            counters.dead_lettered += dead_lettered
            counters.put_calls += put_calls
            for pending, ack in outcomes:
                counters.failed += ack.destination == FAILED
                submission = pending.submission
                submission.acks[pending.index] = ack
                submission.remaining -= 1
                if submission.remaining == 0:
                    finished.append(submission)
            self._buffer.outstanding -= len(outcomes)
        for submission in finished:
            submission.future.set_result([ack for ack in submission.acks if ack is not None])
