"""The delivery loop: every shard of the stream into the landing store, at least once.

The stream follower hands batches over; each record is routed to its partition's buffer; a full
or expired buffer becomes one GZIP'd NDJSON object put atomically into the landing store, and
only then do the checkpoints of the shards it drew from move forward. A crash between the put
and the checkpoint re-delivers those records on restart; no record is checkpointed before it
landed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass

from streaming.contracts.aws_clients import client
from streaming.contracts.landing import (
    LandingStore,
    bronze_key,
    encode_records,
    error_key,
    landing_store,
)
from streaming.contracts.settings import Settings
from streaming.delivery.buffers import Buffers, PartitionBuffer, ShardProgress
from streaming.delivery.records import BRONZE, route
from streaming.follower import FollowerError, ShardBatch, StreamFollower, stop_on_signals

log = logging.getLogger("streaming.delivery")

PUT_ATTEMPTS = 5
PUT_BACKOFF_SECONDS = 0.5
IDLE_WAIT_SECONDS = 0.2


class DeliveryError(RuntimeError):
    """Delivery stopped: a shard could not be read or an object could not be landed."""


@dataclass
class DeliveryReport:
    records_read: int = 0
    bronze_records: int = 0
    bronze_objects: int = 0
    error_records: int = 0
    error_objects: int = 0
    shards: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


class Delivery:
    """Firehose's job for the local default (and the same code against real AWS)."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: LandingStore | None = None,
        buffer_seconds: float | None = None,
        buffer_bytes: int | None = None,
        poll_seconds: float = 0.5,
    ) -> None:
        self.settings = settings
        self.store = store or default_store(settings)
        self.buffers = Buffers(
            settings.delivery.buffer_seconds if buffer_seconds is None else buffer_seconds,
            settings.delivery.buffer_bytes if buffer_bytes is None else buffer_bytes,
        )
        self.poll_seconds = poll_seconds
        self.report = DeliveryReport()
        self._follower: StreamFollower | None = None
        self._progress: dict[str, ShardProgress] = {}
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the loop to stop: readers stop, buffers are flushed, checkpoints written."""
        self._stop.set()
        if self._follower is not None:
            self._follower.stop()

    def run(self, *, once: bool = False, handle_signals: bool = False) -> DeliveryReport:
        """Deliver until stopped, or with ``once`` until every shard has been read to its tip."""
        follower = StreamFollower(
            self.settings, "delivery", poll_seconds=self.poll_seconds, once=once
        )
        self._follower = follower
        if self._stop.is_set():
            follower.stop()
        doing = "flushing buffers and stopping"
        with stop_on_signals(self.stop, doing, enabled=handle_signals):
            try:
                follower.start()
                while not follower.finished():
                    self._handle(follower, follower.next_batch(self._wait_seconds()))
                    self._land(follower, self.buffers.due())
                self._land(follower, self.buffers.drain())
            except FollowerError as error:
                raise DeliveryError(f"delivery stopped: {error}") from error
            finally:
                follower.close()
        self.report.shards = follower.shards
        log.info("delivered %s", self.report.as_dict())
        return self.report

    # --- records ---------------------------------------------------------------------------

    def _wait_seconds(self) -> float:
        deadline = self.buffers.seconds_to_next_deadline()
        return IDLE_WAIT_SECONDS if deadline is None else min(deadline, IDLE_WAIT_SECONDS)

    def _handle(self, follower: StreamFollower, batch: ShardBatch | None) -> None:
        if batch is None:
            return
        progress = self._progress.setdefault(batch.shard_id, ShardProgress(batch.shard_id))
        for record in batch.records:
            mark = progress.read(record.sequence_number)
            self._land(follower, self.buffers.add(route(record), record.arrival, mark))
        self.report.records_read += len(batch.records)
        if batch.ended:
            progress.ended = True
            self._checkpoint(follower)

    def _land(self, follower: StreamFollower, buffers: list[PartitionBuffer]) -> None:
        if not buffers:
            return
        for buffer in buffers:
            object_id = str(uuid.uuid4())
            name = buffer.partition.name
            if buffer.partition.kind == BRONZE:
                key = bronze_key(self.settings, name, buffer.oldest_arrival, object_id)
                self.report.bronze_objects += 1
                self.report.bronze_records += len(buffer.records)
            else:
                key = error_key(self.settings, name, buffer.oldest_arrival, object_id)
                self.report.error_objects += 1
                self.report.error_records += len(buffer.records)
            self._put(key, encode_records(buffer.records))
            for mark in buffer.marks:
                mark.landed = True
        self._checkpoint(follower)

    def _put(self, key: str, body: bytes) -> None:
        for attempt in range(PUT_ATTEMPTS):
            try:
                self.store.put(key, body)
            except Exception as error:
                if attempt == PUT_ATTEMPTS - 1:
                    raise DeliveryError(f"could not land {key}: {error}") from error
                log.warning("landing %s failed (%s); retrying", key, error)
                time.sleep(PUT_BACKOFF_SECONDS * 2**attempt)
            else:
                return

    def _checkpoint(self, follower: StreamFollower) -> None:
        for progress in self._progress.values():
            landed = progress.advance()
            if landed is not None or progress.finished:
                follower.checkpoint(
                    progress.shard_id, progress.checkpoint, closed=progress.finished
                )


def default_store(settings: Settings) -> LandingStore:
    """The configured landing store: the local directory, or the bronze bucket in ``aws``."""
    if settings.env == "local":
        return landing_store(settings)
    return landing_store(settings, client(settings, "s3"))


def deliver(
    settings: Settings,
    *,
    once: bool = False,
    buffer_seconds: float | None = None,
    buffer_bytes: int | None = None,
) -> DeliveryReport:
    delivery = Delivery(settings, buffer_seconds=buffer_seconds, buffer_bytes=buffer_bytes)
    return delivery.run(once=once)
