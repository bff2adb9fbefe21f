"""The event ids whose alerts were delivered, kept on disk (SQLite) and bounded.

An event id is added once every alert of the event is delivered; an id already there means
the record is a re-read (after a restart) or a re-send of the same event, and raises no alert.
Beyond ``capacity`` ids the oldest are forgotten.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class DeliveredEvents:
    def __init__(self, path: Path, capacity: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.capacity = capacity
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("pragma journal_mode = wal")
        self._db.execute("pragma synchronous = normal")  # durable across a process crash
        self._db.execute(
            "create table if not exists delivered "
            "(position integer primary key autoincrement, event_id text not null unique)"
        )
        self._added = 0

    def __contains__(self, event_id: str) -> bool:
        found = self._db.execute("select 1 from delivered where event_id = ?", (event_id,))
        return found.fetchone() is not None

    def add(self, event_id: str) -> None:
        self._db.execute("insert or ignore into delivered (event_id) values (?)", (event_id,))
        self._added += 1
        if self._added % 1000 == 0:
            self.trim()

    def trim(self) -> None:
        newest = self._db.execute("select max(position) from delivered").fetchone()[0]
        if newest is not None:
            self._db.execute("delete from delivered where position <= ?", (newest - self.capacity,))

    def __len__(self) -> int:
        return int(self._db.execute("select count(*) from delivered").fetchone()[0])

    def close(self) -> None:
        self._db.close()
