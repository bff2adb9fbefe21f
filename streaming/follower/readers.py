"""One reader thread per shard: GetRecords in a loop, batches handed over through a queue.

A reader only reads. It never gives up on the stream: throttling, 5xx answers, refused or reset
connections, expired or unknown iterators and a restarting engine are retried with capped
exponential backoff and full jitter, without limit, from the record after the last one it handed
over, so nothing is skipped and nothing is handed over twice. Only an error that is not the
stream's (a bug) ends it, and reaches its owner.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from streaming.contracts.aws_clients import client
from streaming.contracts.settings import Settings
from streaming.producer.backoff import Backoff

log = logging.getLogger("streaming.follower")

GET_RECORDS_LIMIT = 10_000
RETRY_BACKOFF = Backoff(base_s=0.1, cap_s=5.0)
TRANSIENT_ERRORS = (BotoCoreError, ClientError, OSError)


@dataclass(frozen=True, slots=True)
class ShardRecord:
    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: datetime
    """Kinesis' approximate arrival time (UTC), which Firehose's ``!{timestamp}`` evaluates."""


@dataclass
class ShardBatch:
    shard_id: str
    records: list[ShardRecord] = field(default_factory=list)
    ended: bool = False
    """The shard is closed and read to its end; its reader has stopped."""
    error: BaseException | None = None
    """The reader failed on something other than the stream (and has stopped)."""


@dataclass
class ReaderState:
    """What a reader is doing, for logs and ``clickstream local status``."""

    shard_id: str
    last_read: str | None
    records_read: int = 0
    millis_behind_latest: int | None = None
    retries: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    last_error_at: str | None = None
    state: str = "starting"


@dataclass(frozen=True)
class ShardInfo:
    shard_id: str
    parents: tuple[str, ...]
    closed: bool
    """Closed by resharding: it has an ending sequence number and takes no new records."""


def list_shards(settings: Settings, kinesis: Any) -> list[ShardInfo]:
    shards: list[ShardInfo] = []
    arguments: dict[str, Any] = {"StreamName": settings.stream_name}
    while True:
        response = kinesis.list_shards(**arguments)
        for shard in response["Shards"]:
            parents = tuple(
                parent
                for parent in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId"))
                if parent
            )
            closed = "EndingSequenceNumber" in shard["SequenceNumberRange"]
            shards.append(ShardInfo(shard["ShardId"], parents, closed))
        token = response.get("NextToken")
        if not token:
            return shards
        arguments = {"NextToken": token}


def reader_client(settings: Settings) -> Any:
    """A Kinesis client whose calls fail fast: the reader does the retrying, without limit."""
    return client(
        settings,
        "kinesis",
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=2,
        read_timeout=20,
    )


def waits_out_poll(records: int, millis_behind: int) -> bool:
    """Whether a reader waits out its poll interval after a call that returned ``records``.

    At the tip, one call per interval: a busy stream is then read in batches rather than a
    record or two per call (each call costs the stream far more than a record does, and Kinesis
    allows a shard five calls a second). A reader behind the tip reads on, short batches
    included: Kinesis returns them while catching up too."""
    return millis_behind == 0 and records < GET_RECORDS_LIMIT


class ShardReader(threading.Thread):
    def __init__(
        self,
        settings: Settings,
        shard_id: str,
        after: str | None,
        batches: queue.Queue[ShardBatch],
        stop: threading.Event,
        *,
        closed: bool,
        once: bool,
        poll_seconds: float,
    ) -> None:
        super().__init__(name=f"reader-{shard_id}", daemon=True)
        self.settings = settings
        self.shard_id = shard_id
        self.batches = batches
        self.stop = stop
        self.closed = closed
        self.once = once
        self.poll_seconds = poll_seconds
        self.state = ReaderState(shard_id, after)
        self.reached_tip = False

    def run(self) -> None:
        try:
            self._read()
        except BaseException as error:
            self.state.state = "failed"
            self._hand_over(ShardBatch(self.shard_id, error=error))
            return
        self.state.state = "stopped"

    def _read(self) -> None:
        kinesis = reader_client(self.settings)
        iterator: str | None = None
        while not self.stop.is_set():
            called_at = time.monotonic()
            try:
                if iterator is None:
                    iterator = self._iterator(kinesis)
                response = kinesis.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
            except TRANSIENT_ERRORS as error:
                iterator = None  # a fresh one from the last record handed over
                if not self._expired(error):
                    self._back_off(error)
                continue
            self._recovered()
            records = [self._record(item) for item in response["Records"]]
            if records:
                self.state.last_read = records[-1].sequence_number
                self.state.records_read += len(records)
                self._hand_over(ShardBatch(self.shard_id, records=records))
            next_iterator = response.get("NextShardIterator")
            behind = response.get("MillisBehindLatest", 0)
            self.state.millis_behind_latest = behind
            at_tip = not records and behind == 0
            if not at_tip:
                iterator = next_iterator
            # else the same iterator again: after an empty answer the local engine's next one
            # starts at the time of the call, past a record it numbered before and stores after
            if next_iterator is None or (self.closed and at_tip):
                log.info("%s: closed shard read to its end", self.shard_id)
                self.state.state = "ended"
                self._hand_over(ShardBatch(self.shard_id, ended=True))
                return
            if at_tip and not self.reached_tip:
                self.reached_tip = True
                log.info("%s: caught up at %s", self.shard_id, self.state.last_read or "the start")
            self.state.state = "caught up" if at_tip else "reading"
            if at_tip and self.once:
                return
            if waits_out_poll(len(records), behind):
                self.stop.wait(called_at + self.poll_seconds - time.monotonic())

    def _hand_over(self, batch: ShardBatch) -> None:
        """Put a batch on the queue, waiting while the owner is behind (unless stopping)."""
        while True:
            try:
                self.batches.put(batch, timeout=0.2)
            except queue.Full:
                if self.stop.is_set() and batch.error is None:
                    return
            else:
                return

    def _expired(self, error: BaseException) -> bool:
        code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else ""
        if code == "ExpiredIteratorException":
            log.info("%s: shard iterator expired; taking a new one", self.shard_id)
            return True
        return False

    def _back_off(self, error: BaseException) -> None:
        state = self.state
        state.retries += 1
        state.consecutive_failures += 1
        state.last_error = f"{type(error).__name__}: {error}"
        state.last_error_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        state.state = "retrying"
        delay = RETRY_BACKOFF.delay(min(state.consecutive_failures, 16))
        log_at = logging.WARNING if state.consecutive_failures in (1, 10, 100) else logging.DEBUG
        if state.consecutive_failures % 1000 == 0:
            log_at = logging.WARNING
        log.log(
            log_at,
            "%s: reading failed %d time(s) in a row (%s); retrying in %.2f s",
            self.shard_id,
            state.consecutive_failures,
            state.last_error,
            delay,
        )
        self.stop.wait(delay)

    def _recovered(self) -> None:
        if self.state.consecutive_failures:
            log.warning(
                "%s: reading again after %d failed attempt(s)",
                self.shard_id,
                self.state.consecutive_failures,
            )
            self.state.consecutive_failures = 0

    def _iterator(self, kinesis: Any) -> str:
        arguments: dict[str, Any] = {
            "StreamName": self.settings.stream_name,
            "ShardId": self.shard_id,
        }
        if self.state.last_read is None:
            arguments["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            arguments["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            arguments["StartingSequenceNumber"] = self.state.last_read
        return kinesis.get_shard_iterator(**arguments)["ShardIterator"]

    def _record(self, item: dict[str, Any]) -> ShardRecord:
        return ShardRecord(
            shard_id=self.shard_id,
            sequence_number=item["SequenceNumber"],
            partition_key=item["PartitionKey"],
            data=item["Data"],
            arrival=item["ApproximateArrivalTimestamp"].astimezone(UTC),
        )
