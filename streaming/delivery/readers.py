"""One reader thread per shard: GetRecords in a loop, batches handed over through a queue.

Readers only read; buffering, landing and checkpoints happen in the delivery loop, so none of
that state is shared between threads.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from streaming.aws_clients import client
from streaming.delivery.records import StreamRecord
from streaming.settings import Settings

log = logging.getLogger("streaming.delivery")

GET_RECORDS_LIMIT = 10_000
THROTTLE_BACKOFF_SECONDS = 1.0


@dataclass
class ReaderEvent:
    shard_id: str
    records: list[StreamRecord] = field(default_factory=list)
    caught_up: bool = False
    """The reader reached the tip of the shard (it keeps polling unless reading once)."""
    ended: bool = False
    """The shard is closed and fully read; the reader has stopped."""
    finished: bool = False
    """The reader has stopped (after the last event it sends)."""
    error: BaseException | None = None


@dataclass(frozen=True)
class ShardInfo:
    shard_id: str
    parents: tuple[str, ...]
    closed: bool
    """Closed by resharding: it has an ending sequence number and takes no new records."""


def list_shards(settings: Settings, kinesis: Any = None) -> list[ShardInfo]:
    kinesis = kinesis or client(settings, "kinesis")
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


class ShardReader(threading.Thread):
    def __init__(
        self,
        settings: Settings,
        shard_id: str,
        after: str | None,
        events: queue.Queue[ReaderEvent],
        stop: threading.Event,
        *,
        closed: bool,
        once: bool,
        poll_seconds: float,
    ) -> None:
        super().__init__(name=f"reader-{shard_id}", daemon=True)
        self.settings = settings
        self.shard_id = shard_id
        self.last_read = after
        self.events = events
        self.stop = stop
        self.closed = closed
        self.once = once
        self.poll_seconds = poll_seconds

    def run(self) -> None:
        try:
            self._read()
        except BaseException as error:
            self.events.put(ReaderEvent(self.shard_id, error=error, finished=True))
            return
        self.events.put(ReaderEvent(self.shard_id, finished=True))

    def _read(self) -> None:
        kinesis = client(self.settings, "kinesis")
        iterator = self._iterator(kinesis)
        caught_up = False
        while not self.stop.is_set():
            try:
                response = kinesis.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
            except kinesis.exceptions.ExpiredIteratorException:
                iterator = self._iterator(kinesis)
                continue
            except kinesis.exceptions.ProvisionedThroughputExceededException:
                self.stop.wait(THROTTLE_BACKOFF_SECONDS)
                continue
            records = [self._record(item) for item in response["Records"]]
            if records:
                self.last_read = records[-1].sequence_number
                self.events.put(ReaderEvent(self.shard_id, records=records))
            iterator = response.get("NextShardIterator")
            at_tip = not records and response.get("MillisBehindLatest", 0) == 0
            if iterator is None or (self.closed and at_tip):
                log.info("%s: closed shard read to its end", self.shard_id)
                self.events.put(ReaderEvent(self.shard_id, ended=True))
                return
            if at_tip and not caught_up:
                log.info("%s: caught up at %s", self.shard_id, self.last_read or "the start")
                self.events.put(ReaderEvent(self.shard_id, caught_up=True))
            caught_up = at_tip or (caught_up and not records)
            if at_tip:
                if self.once:
                    return
                self.stop.wait(self.poll_seconds)

    def _iterator(self, kinesis: Any) -> str:
        arguments: dict[str, Any] = {
            "StreamName": self.settings.stream_name,
            "ShardId": self.shard_id,
        }
        if self.last_read is None:
            arguments["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            arguments["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            arguments["StartingSequenceNumber"] = self.last_read
        return kinesis.get_shard_iterator(**arguments)["ShardIterator"]

    def _record(self, item: dict[str, Any]) -> StreamRecord:
        return StreamRecord(
            shard_id=self.shard_id,
            sequence_number=item["SequenceNumber"],
            partition_key=item["PartitionKey"],
            data=item["Data"],
            arrival=item["ApproximateArrivalTimestamp"].astimezone(UTC),
        )
