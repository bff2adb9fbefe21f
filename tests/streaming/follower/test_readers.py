from __future__ import annotations

import queue
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streaming.contracts.settings import Settings
from streaming.follower import ShardBatch, readers
from streaming.follower.readers import GET_RECORDS_LIMIT, waits_out_poll


def test_a_reader_at_the_tip_waits_out_its_poll_interval_after_a_short_batch() -> None:
    assert waits_out_poll(0, 0)
    assert waits_out_poll(GET_RECORDS_LIMIT - 1, 0)


def test_a_full_batch_is_followed_by_the_next_call_at_once() -> None:
    assert not waits_out_poll(GET_RECORDS_LIMIT, 0)


def test_a_reader_behind_the_tip_reads_on_after_short_batches() -> None:
    assert not waits_out_poll(0, 1)
    assert not waits_out_poll(12, 86_400_000)


class _StreamStoringLate:
    """A shard whose record is stored after a call at the tip came back empty, and whose next
    iterator from that call starts past the record (as the local engine's does)."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.calls: list[str] = []

    def get_shard_iterator(self, **arguments: Any) -> dict[str, str]:
        return {"ShardIterator": "from-the-start"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803
        self.calls.append(ShardIterator)
        if len(self.calls) >= 4:
            self.stop.set()
        if ShardIterator == "from-the-start" and len(self.calls) > 1:
            record = {
                "SequenceNumber": "1",
                "PartitionKey": "session-1",
                "Data": b"{}",
                "ApproximateArrivalTimestamp": datetime(2026, 11, 1, tzinfo=UTC),
            }
            return {"Records": [record], "NextShardIterator": "after-1", "MillisBehindLatest": 0}
        return {"Records": [], "NextShardIterator": "past-the-record", "MillisBehindLatest": 0}


def test_a_reader_at_the_tip_reads_on_from_its_last_record_not_from_the_empty_answer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stop = threading.Event()
    stream = _StreamStoringLate(stop)
    monkeypatch.setattr(readers, "reader_client", lambda settings: stream)
    batches: queue.Queue[ShardBatch] = queue.Queue()
    reader = readers.ShardReader(
        Settings(home=tmp_path),
        "shardId-000000000000",
        None,
        batches,
        stop,
        closed=False,
        once=False,
        poll_seconds=0,
    )
    reader.run()
    handed_over = [record for batch in batches.queue for record in batch.records or ()]
    assert [record.sequence_number for record in handed_over] == ["1"]
    assert stream.calls[:3] == ["from-the-start", "from-the-start", "after-1"]
