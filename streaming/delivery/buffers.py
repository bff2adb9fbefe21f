"""Firehose-style buffering: one buffer per partition, flushed at the first limit reached.

A buffer is written when it has been open ``buffer_seconds`` or would outgrow
``buffer_bytes``. Buffers of different partitions flush independently, so a shard's records
land out of read order; :class:`ShardProgress` tracks which have landed and yields the
checkpoint: the last record of the longest landed prefix of the shard's read order.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streaming.delivery.records import Partition, Routed


@dataclass(slots=True)
class ReadMark:
    """One record read from a shard, and whether it has landed yet."""

    sequence_number: str
    landed: bool = False


class ShardProgress:
    def __init__(self, shard_id: str) -> None:
        self.shard_id = shard_id
        self.checkpoint: str | None = None
        """The last record of the landed prefix of what was read in this run."""
        self.ended = False
        """The reader reached the end of a closed shard."""
        self._unlanded: deque[ReadMark] = deque()

    def read(self, sequence_number: str) -> ReadMark:
        mark = ReadMark(sequence_number)
        self._unlanded.append(mark)
        return mark

    def advance(self) -> str | None:
        """Move the checkpoint over every landed record at the head of the read order;
        returns the new checkpoint, or None if it did not move."""
        moved = None
        while self._unlanded and self._unlanded[0].landed:
            moved = self.checkpoint = self._unlanded.popleft().sequence_number
        return moved

    @property
    def in_flight(self) -> int:
        return len(self._unlanded)

    @property
    def finished(self) -> bool:
        return self.ended and not self._unlanded


@dataclass
class PartitionBuffer:
    partition: Partition
    opened_at: float
    oldest_arrival: datetime
    records: list[dict[str, Any]] = field(default_factory=list)
    marks: list[ReadMark] = field(default_factory=list)
    size: int = 0


class Buffers:
    def __init__(
        self,
        buffer_seconds: float,
        buffer_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if buffer_seconds <= 0 or buffer_bytes <= 0:
            raise ValueError(
                f"buffer limits must be > 0, got {buffer_seconds} s and {buffer_bytes} bytes"
            )
        self.buffer_seconds = buffer_seconds
        self.buffer_bytes = buffer_bytes
        self.clock = clock
        self._open: dict[Partition, PartitionBuffer] = {}

    def add(self, routed: Routed, arrival: datetime, mark: ReadMark) -> list[PartitionBuffer]:
        """Buffer one record; returns the buffers that are full and must be written now."""
        full = []
        buffer = self._open.get(routed.partition)
        if buffer is not None and buffer.size + routed.size > self.buffer_bytes:
            full.append(self._open.pop(routed.partition))
            buffer = None
        if buffer is None:
            buffer = PartitionBuffer(routed.partition, self.clock(), arrival)
            self._open[routed.partition] = buffer
        buffer.records.append(routed.record)
        buffer.marks.append(mark)
        buffer.size += routed.size
        buffer.oldest_arrival = min(buffer.oldest_arrival, arrival)
        if buffer.size >= self.buffer_bytes:
            full.append(self._open.pop(routed.partition))
        return full

    def due(self) -> list[PartitionBuffer]:
        """Buffers open for ``buffer_seconds`` or longer, removed from the open set."""
        now = self.clock()
        expired = [
            partition
            for partition, buffer in self._open.items()
            if now - buffer.opened_at >= self.buffer_seconds
        ]
        return [self._open.pop(partition) for partition in expired]

    def drain(self) -> list[PartitionBuffer]:
        drained = list(self._open.values())
        self._open.clear()
        return drained

    def seconds_to_next_deadline(self) -> float | None:
        if not self._open:
            return None
        oldest = min(buffer.opened_at for buffer in self._open.values())
        return max(0.0, oldest + self.buffer_seconds - self.clock())

    @property
    def buffered_records(self) -> int:
        return sum(len(buffer.records) for buffer in self._open.values())
