"""Per-shard checkpoints on disk: the last sequence number a reader has handled durably.

One small JSON file per shard under ``<checkpoint_dir>/<reader>/<stream>/<shard>.json``,
replaced atomically (:func:`~streaming.contracts.atomic_write.write_atomically`), so a crash
leaves the old or the new checkpoint, never a torn one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from streaming.contracts.atomic_write import write_atomically
from streaming.contracts.settings import Settings


@dataclass(frozen=True)
class Checkpoint:
    shard_id: str
    sequence_number: str | None
    """Every record up to and including this one is handled; None: nothing is yet."""
    closed: bool = False
    """The shard was closed by resharding and every one of its records is handled."""
    stream_created: str | None = None
    """Creation time of the stream the sequence number belongs to: a stream deleted and
    created again (or a restarted local endpoint) numbers its records afresh."""


class CheckpointStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def for_reader(cls, settings: Settings, reader: str) -> CheckpointStore:
        """The checkpoints of one reader of the stream (``delivery``, ``realtime``)."""
        return cls(settings.checkpoint_dir / reader / settings.stream_name)

    def path(self, shard_id: str) -> Path:
        return self.directory / f"{shard_id}.json"

    def load(self, shard_id: str) -> Checkpoint:
        try:
            document = orjson.loads(self.path(shard_id).read_bytes())
        except FileNotFoundError:
            return Checkpoint(shard_id, None)
        return Checkpoint(
            shard_id,
            document["sequence_number"],
            bool(document.get("closed")),
            document.get("stream_created"),
        )

    def save(self, checkpoint: Checkpoint) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        body = orjson.dumps(
            {
                "shard_id": checkpoint.shard_id,
                "sequence_number": checkpoint.sequence_number,
                "closed": checkpoint.closed,
                "stream_created": checkpoint.stream_created,
                "updated_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            },
            option=orjson.OPT_INDENT_2,
        )
        write_atomically(self.path(checkpoint.shard_id), body)

    def all(self) -> dict[str, Checkpoint]:
        if not self.directory.exists():
            return {}
        return {path.stem: self.load(path.stem) for path in sorted(self.directory.glob("*.json"))}
