"""What the ingest hands to a sink, what it gets back, and the sink contract."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, Protocol

KINESIS: Final = "kinesis"
DLQ: Final = "dlq"
FAILED: Final = "failed"
Destination = Literal["kinesis", "dlq", "failed"]


class StreamRecord(NamedTuple):
    """One producer record: the JSON bytes and the partition key they go to the stream with."""

    data: bytes
    partition_key: str

    @property
    def size(self) -> int:
        """What Kinesis counts against its per-record and per-call limits."""
        return len(self.data) + len(self.partition_key.encode())


@dataclass(frozen=True, slots=True)
class Ack:
    """Where a record ended up: on the stream, in the dead-letter queue, or nowhere (an error)."""

    destination: Destination
    shard_id: str | None = None
    sequence_number: str | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.destination != FAILED


class BufferFullError(Exception):
    """The sink holds as many unacknowledged records as it may: the sender should come back."""

    def __init__(self, depth: int, capacity: int, retry_after_s: int = 1) -> None:
        super().__init__(f"producer buffer full ({depth} of {capacity} records pending)")
        self.retry_after_s = retry_after_s


class RecordSink(Protocol):
    def submit(self, records: Sequence[StreamRecord]) -> Future[list[Ack]]:
        """Take all the records or none (raises BufferFullError); the future resolves with one
        Ack per record, in order, once every record is on the stream or dead-lettered."""
        ...

    def flush(self) -> None:
        """Send what is buffered now instead of waiting for the linger time."""
        ...

    def close(self) -> None: ...

    @property
    def depth(self) -> int:
        """Records accepted and not yet acknowledged."""
        ...

    def counters(self) -> dict[str, int]: ...


class NullSink:
    """Acknowledges every record at once without sending it anywhere (benchmarks)."""

    def __init__(self) -> None:
        self.records = 0

    def submit(self, records: Sequence[StreamRecord]) -> Future[list[Ack]]:
        self.records += len(records)
        future: Future[list[Ack]] = Future()
        future.set_result([Ack(KINESIS)] * len(records))
        return future

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    @property
    def depth(self) -> int:
        return 0

    def counters(self) -> dict[str, int]:
        return {"produced": self.records}
