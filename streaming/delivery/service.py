"""The delivery loop: every shard of the stream into the landing store, at least once.

Readers hand batches over; each record is routed to its partition's buffer; a full or expired
buffer becomes one GZIP'd NDJSON object put atomically into the landing store, and only then do
the checkpoints of the shards it drew from move forward. A crash between the put and the
checkpoint re-delivers those records on restart; no record is checkpointed before it landed.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from streaming.aws_clients import client
from streaming.delivery.buffers import Buffers, PartitionBuffer, ShardProgress
from streaming.delivery.checkpoints import Checkpoint, CheckpointStore
from streaming.delivery.readers import ReaderEvent, ShardInfo, ShardReader, list_shards
from streaming.delivery.records import BRONZE, route
from streaming.landing import LandingStore, bronze_key, encode_records, error_key, landing_store
from streaming.settings import Settings

log = logging.getLogger("streaming.delivery")

PUT_ATTEMPTS = 5
PUT_BACKOFF_SECONDS = 0.5
DISCOVER_SECONDS = 30.0
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
        self.checkpoints = CheckpointStore.for_stream(settings)
        self.buffers = Buffers(
            settings.delivery.buffer_seconds if buffer_seconds is None else buffer_seconds,
            settings.delivery.buffer_bytes if buffer_bytes is None else buffer_bytes,
        )
        self.poll_seconds = poll_seconds
        self.report = DeliveryReport()
        self._stop = threading.Event()
        self._events: queue.Queue[ReaderEvent] = queue.Queue(maxsize=64)
        self._readers: dict[str, ShardReader] = {}
        self._progress: dict[str, ShardProgress] = {}
        self._failure: BaseException | None = None
        self._kinesis: Any = None
        self._stream_created: str | None = None

    def stop(self) -> None:
        """Ask the loop to stop: readers stop, buffers are flushed, checkpoints written."""
        self._stop.set()

    def run(self, *, once: bool = False, handle_signals: bool = False) -> DeliveryReport:
        """Deliver until stopped, or with ``once`` until every shard has been read to its tip."""
        with self._signals_stop_the_loop(handle_signals):
            try:
                self._start_first_readers(once)
                next_discovery = time.monotonic() + DISCOVER_SECONDS
                while not self._finished(once):
                    self._handle(self._next_event(), once)
                    self._land(self.buffers.due())
                    if not self._stop.is_set() and time.monotonic() >= next_discovery:
                        self._rediscover(once)
                        next_discovery = time.monotonic() + DISCOVER_SECONDS
                self._land(self.buffers.drain())
            finally:
                self._stop.set()  # on any error too: no reader outlives the loop
        if self._failure is not None:
            raise DeliveryError(f"delivery stopped: {self._failure}") from self._failure
        log.info("delivered %s", self.report.as_dict())
        return self.report

    # --- shards ----------------------------------------------------------------------------

    def _start_first_readers(self, once: bool) -> None:
        try:
            self._start_readers(once)
        except (BotoCoreError, ClientError) as error:
            hint = (
                " (is the local endpoint up? `clickstream local up`)"
                if self.settings.env == "local"
                else ""
            )
            raise DeliveryError(
                f"cannot read stream {self.settings.stream_name}: {error}{hint}"
            ) from error

    def _rediscover(self, once: bool) -> None:
        try:
            self._start_readers(once)
        except (BotoCoreError, ClientError) as error:
            log.warning("listing the shards failed (%s); trying again later", error)

    def _start_readers(self, once: bool) -> int:
        """Start a reader for every readable shard without one; returns how many started."""
        if self._kinesis is None:
            self._kinesis = client(self.settings, "kinesis")
            summary = self._kinesis.describe_stream_summary(StreamName=self.settings.stream_name)
            created = summary["StreamDescriptionSummary"]["StreamCreationTimestamp"]
            self._stream_created = created.isoformat()
        shards = list_shards(self.settings, self._kinesis)
        known = {shard.shard_id for shard in shards}
        started = 0
        for shard in shards:
            if shard.shard_id in self._readers:
                self._readers[shard.shard_id].closed = shard.closed  # resharded meanwhile
                continue
            if not self._parents_done(shard, known):
                continue
            checkpoint = self._checkpoint_of(shard.shard_id)
            if checkpoint.closed:
                continue
            progress = ShardProgress(shard.shard_id, checkpoint.sequence_number)
            self._progress[shard.shard_id] = progress
            reader = ShardReader(
                self.settings,
                shard.shard_id,
                checkpoint.sequence_number,
                self._events,
                self._stop,
                closed=shard.closed,
                once=once,
                poll_seconds=self.poll_seconds,
            )
            self._readers[shard.shard_id] = reader
            log.info(
                "%s: reading %s",
                shard.shard_id,
                f"after {checkpoint.sequence_number}"
                if checkpoint.sequence_number
                else "from the trim horizon",
            )
            reader.start()
            started += 1
        self.report.shards = len(self._readers)
        return started

    def _parents_done(self, shard: ShardInfo, known: set[str]) -> bool:
        """A child shard is read only after its parents (Kinesis' ordering across resharding)."""
        for parent in shard.parents:
            if parent not in known:
                continue  # trimmed: nothing of it is left to read
            progress = self._progress.get(parent)
            ended = progress.ended if progress else self._checkpoint_of(parent).closed
            if not ended:
                return False
        return True

    def _checkpoint_of(self, shard_id: str) -> Checkpoint:
        """The shard's checkpoint, unless it was written for an earlier stream of that name."""
        checkpoint = self.checkpoints.load(shard_id)
        if checkpoint.stream_created not in (None, self._stream_created):
            log.warning(
                "%s: the checkpoint belongs to a stream created %s, not this one (created %s); "
                "reading from the trim horizon",
                shard_id,
                checkpoint.stream_created,
                self._stream_created,
            )
            return Checkpoint(shard_id, None)
        return checkpoint

    def _finished(self, once: bool) -> bool:
        """No reader is left and every event is handled, and nothing more is to be read."""
        readers_alive = any(reader.is_alive() for reader in self._readers.values())
        if readers_alive or not self._events.empty():
            return False
        if self._stop.is_set() or self._failure is not None:
            return True
        return once and self._start_readers(once) == 0

    # --- records ---------------------------------------------------------------------------

    def _next_event(self) -> ReaderEvent | None:
        deadline = self.buffers.seconds_to_next_deadline()
        timeout = IDLE_WAIT_SECONDS if deadline is None else min(deadline, IDLE_WAIT_SECONDS)
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def _handle(self, event: ReaderEvent | None, once: bool) -> None:
        if event is None:
            return
        progress = self._progress[event.shard_id]
        for record in event.records:
            mark = progress.read(record.sequence_number)
            self._land(self.buffers.add(route(record), record.arrival, mark))
        self.report.records_read += len(event.records)
        if event.ended:
            progress.ended = True
            self._checkpoint()
            if not self._stop.is_set():
                self._rediscover(once)  # its children are readable now
        if event.error is not None and self._failure is None:
            log.error("%s: reader failed: %s", event.shard_id, event.error)
            self._failure = event.error
            self._stop.set()

    def _land(self, buffers: list[PartitionBuffer]) -> None:
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
        self._checkpoint()

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

    def _checkpoint(self) -> None:
        for progress in self._progress.values():
            progress.advance()
            closed = progress.finished
            if progress.checkpoint != progress.saved or closed != progress.saved_closed:
                self.checkpoints.save(
                    Checkpoint(
                        progress.shard_id,
                        progress.checkpoint,
                        closed=closed,
                        stream_created=self._stream_created,
                    )
                )
                progress.saved = progress.checkpoint
                progress.saved_closed = closed

    @contextmanager
    def _signals_stop_the_loop(self, enabled: bool) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return

        def _stop(signum: int, _frame: Any) -> None:
            log.info("%s: flushing buffers and stopping", signal.Signals(signum).name)
            self.stop()

        previous = {
            number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


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
