"""Following every shard of a stream: the one mechanism behind each reader of the stream.

:class:`StreamFollower` runs a :class:`~streaming.follower.readers.ShardReader` thread per
readable shard and hands their batches to its owner (delivery, the real-time consumer) one at a
time, on the owner's thread. It owns:

- shard discovery, at start, every ``DISCOVER_SECONDS`` and as soon as a shard ends, in
  Kinesis' order across resharding: a child shard is read only after every record of its
  parents was handed over (in this run, or checkpointed as closed in an earlier one);
- the per-shard checkpoints, which the owner moves with :meth:`StreamFollower.checkpoint` once
  it has handled records durably; a checkpoint written for an earlier stream of the same name is
  ignored;
- the readers' state (position, milliseconds behind the tip, records handed over but not yet
  checkpointed, retries, last error), logged every ``LOG_STATUS_SECONDS`` and written to
  ``<home>/run/<reader>-follower.json``, which ``clickstream local status`` shows;
- stopping on SIGINT and SIGTERM (:func:`stop_on_signals`).

Records are handed over at least once: a record is handed over again only after a restart, when
it was not checkpointed.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streaming.contracts.atomic_write import write_atomically
from streaming.contracts.settings import Settings
from streaming.follower.checkpoints import Checkpoint, CheckpointStore
from streaming.follower.readers import (
    TRANSIENT_ERRORS,
    ShardBatch,
    ShardInfo,
    ShardReader,
    list_shards,
    reader_client,
)

log = logging.getLogger("streaming.follower")

DISCOVER_SECONDS = 30.0
LOG_STATUS_SECONDS = 30.0
WRITE_STATUS_SECONDS = 2.0
FIRST_DISCOVERY_RETRY_SECONDS = 1.0


class FollowerError(RuntimeError):
    """The stream cannot be followed: a reader failed on something that is not the stream's."""


class StreamFollower:
    def __init__(
        self,
        settings: Settings,
        reader: str,
        *,
        poll_seconds: float,
        once: bool = False,
    ) -> None:
        self.settings = settings
        self.reader = reader
        self.checkpoints = CheckpointStore.for_reader(settings, reader)
        self.status_path = follower_status_path(settings, reader)
        self.poll_seconds = poll_seconds
        self.once = once
        self.stop_event = threading.Event()
        self._batches: queue.Queue[ShardBatch] = queue.Queue(maxsize=64)
        self._readers: dict[str, ShardReader] = {}
        self._closed: set[str] = set()
        """Shards read to their end: in this run, or checkpointed as closed."""
        self._saved: dict[str, Checkpoint] = {}
        self._handed: dict[str, int] = {}
        self._checkpointed: dict[str, int] = {}
        self._handed_marks: dict[str, deque[tuple[int, int]]] = {}
        self._kinesis: Any = None
        self._stream_created: str | None = None
        self._next_discovery = 0.0
        self._next_log = time.monotonic() + LOG_STATUS_SECONDS
        self._next_status = 0.0

    # --- the owner's interface -------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    @property
    def shards(self) -> int:
        return len(self._readers)

    def stop(self) -> None:
        self.stop_event.set()

    def start(self) -> None:
        """Start reading. Without ``once`` it waits for an unreachable stream, retrying."""
        attempts = 0
        while True:
            try:
                self._discover()
            except TRANSIENT_ERRORS as error:
                if self.once:
                    raise FollowerError(self._unreachable(error)) from error
                attempts += 1
                if attempts in (1, 10) or attempts % 60 == 0:
                    log.warning("%s; retrying", self._unreachable(error))
                if self.stop_event.wait(FIRST_DISCOVERY_RETRY_SECONDS):
                    return
            else:
                self._next_discovery = time.monotonic() + DISCOVER_SECONDS
                self._write_status()
                return

    def next_batch(self, timeout: float) -> ShardBatch | None:
        """The next batch read (None after ``timeout`` seconds without one)."""
        self._housekeeping()
        try:
            batch = self._batches.get(timeout=timeout)
        except queue.Empty:
            return None
        if batch.error is not None:
            raise FollowerError(
                f"{self.reader}: the reader of {batch.shard_id} failed: {batch.error}"
            ) from batch.error
        if batch.ended:
            self._closed.add(batch.shard_id)
            self._next_discovery = 0.0  # its children are readable now
        if batch.records:
            shard = batch.shard_id
            self._handed[shard] = self._handed.get(shard, 0) + len(batch.records)
            last = int(batch.records[-1].sequence_number)
            self._handed_marks.setdefault(shard, deque()).append((last, self._handed[shard]))
        return batch

    def checkpoint(
        self, shard_id: str, sequence_number: str | None, *, closed: bool = False
    ) -> None:
        """Every record of the shard up to ``sequence_number`` is handled durably (None: no
        record read in this run, the shard's position stays where it was)."""
        saved = self._saved.get(shard_id)
        if sequence_number is None and saved is not None:
            sequence_number = saved.sequence_number
        checkpoint = Checkpoint(shard_id, sequence_number, closed, self._stream_created)
        if saved == checkpoint:
            return
        self.checkpoints.save(checkpoint)
        self._saved[shard_id] = checkpoint
        marks = self._handed_marks.get(shard_id)
        if marks and sequence_number is not None:
            position = int(sequence_number)
            while marks and marks[0][0] <= position:
                self._checkpointed[shard_id] = marks.popleft()[1]

    def finished(self) -> bool:
        """Every reader has stopped and every batch is handed over, and none is to come."""
        if any(reader.is_alive() for reader in self._readers.values()):
            return False
        if not self._batches.empty():
            return False
        if self.stopping:
            return True
        return self.once and self._discover() == 0

    def close(self) -> None:
        """Stop the readers and record that this reader of the stream stopped."""
        self.stop()
        for reader in self._readers.values():
            reader.join(timeout=30)
        self._write_status(state="stopped")

    def status(self, state: str = "running") -> dict[str, Any]:
        shards = []
        for shard_id, reader in sorted(self._readers.items()):
            saved = self._saved.get(shard_id)
            shards.append(
                asdict(reader.state)
                | {
                    "checkpoint": saved.sequence_number if saved else None,
                    "in_flight": self._handed.get(shard_id, 0)
                    - self._checkpointed.get(shard_id, 0),
                }
            )
        return {
            "reader": self.reader,
            "state": state,
            "pid": os.getpid(),
            "stream": self.settings.stream_name,
            "updated_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "shards": shards,
        }

    # --- discovery -------------------------------------------------------------------------

    def _discover(self) -> int:
        """Start a reader for every readable shard without one; returns how many started."""
        if self._kinesis is None:
            kinesis = reader_client(self.settings)
            summary = kinesis.describe_stream_summary(StreamName=self.settings.stream_name)
            created = summary["StreamDescriptionSummary"]["StreamCreationTimestamp"]
            self._stream_created = created.isoformat()
            self._kinesis = kinesis
        shards = list_shards(self.settings, self._kinesis)
        known = {shard.shard_id for shard in shards}
        started = 0
        for shard in shards:
            reader = self._readers.get(shard.shard_id)
            if reader is not None:
                reader.closed = shard.closed  # resharded meanwhile
                continue
            if shard.shard_id in self._closed or not self._parents_read(shard, known):
                continue
            checkpoint = self._checkpoint_of(shard.shard_id)
            if checkpoint.closed:
                self._closed.add(shard.shard_id)
                continue
            self._start_reader(shard, checkpoint)
            started += 1
        return started

    def _start_reader(self, shard: ShardInfo, checkpoint: Checkpoint) -> None:
        reader = ShardReader(
            self.settings,
            shard.shard_id,
            checkpoint.sequence_number,
            self._batches,
            self.stop_event,
            closed=shard.closed,
            once=self.once,
            poll_seconds=self.poll_seconds,
        )
        self._readers[shard.shard_id] = reader
        self._saved[shard.shard_id] = checkpoint
        log.info(
            "%s: %s reading %s",
            shard.shard_id,
            self.reader,
            f"after {checkpoint.sequence_number}"
            if checkpoint.sequence_number
            else "from the trim horizon",
        )
        reader.start()

    def _parents_read(self, shard: ShardInfo, known: set[str]) -> bool:
        """A child shard is read only after its parents (Kinesis' order across resharding)."""
        return all(
            parent not in known  # trimmed: nothing of it is left to read
            or parent in self._closed
            or self._checkpoint_of(parent).closed
            for parent in shard.parents
        )

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

    def _unreachable(self, error: BaseException) -> str:
        hint = (
            " (is the local stream up? `clickstream local up`)"
            if self.settings.env == "local"
            else ""
        )
        return f"cannot read stream {self.settings.stream_name}: {error}{hint}"

    # --- status ----------------------------------------------------------------------------

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if not self.stopping and now >= self._next_discovery:
            try:
                self._discover()
            except TRANSIENT_ERRORS as error:
                log.warning("listing the shards failed (%s); trying again later", error)
            self._next_discovery = now + DISCOVER_SECONDS
        if now >= self._next_status:
            self._write_status()
            self._next_status = now + WRITE_STATUS_SECONDS
        if now >= self._next_log:
            for shard in self.status()["shards"]:
                log.info(
                    "%s %s: %s, %s records read, %s in flight, %s ms behind the tip, %s retries%s",
                    self.reader,
                    shard["shard_id"],
                    shard["state"],
                    shard["records_read"],
                    shard["in_flight"],
                    shard["millis_behind_latest"],
                    shard["retries"],
                    f", last error {shard['last_error']}" if shard["last_error"] else "",
                )
            self._next_log = now + LOG_STATUS_SECONDS

    def _write_status(self, state: str = "running") -> None:
        write_atomically(
            self.status_path, orjson.dumps(self.status(state), option=orjson.OPT_INDENT_2)
        )


def follower_status_path(settings: Settings, reader: str) -> Path:
    return settings.home / "run" / f"{reader}-follower.json"


def read_follower_status(settings: Settings, reader: str) -> dict[str, Any] | None:
    try:
        return orjson.loads(follower_status_path(settings, reader).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None


@contextmanager
def stop_on_signals(
    stop: Callable[[], None], doing: str, *, enabled: bool = True
) -> Iterator[None]:
    """SIGINT and SIGTERM call ``stop`` (in the main thread; elsewhere nothing changes)."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _stop(signum: int, _frame: Any) -> None:
        log.info("%s: %s", signal.Signals(signum).name, doing)
        stop()

    previous = {number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
