"""Writing rejected events to the quarantine prefix of the landing store, before answering.

Requests hand over their quarantine records and wait for them to be written; one writer thread
groups whatever several requests handed over within ``linger_s`` (or up to ``max_bytes``) into
one GZIP'd NDJSON object. A request is answered only once its bad rows are stored, so none is
lost, and concurrent requests share objects instead of each writing a tiny one.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import orjson

from streaming.contracts.landing import LandingStore, encode_records, quarantine_key
from streaming.contracts.settings import Settings


class QuarantineWriter:
    def __init__(
        self,
        store: LandingStore,
        settings: Settings,
        *,
        linger_s: float = 0.005,
        max_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.store = store
        self.settings = settings
        self.linger_s = linger_s
        self.max_bytes = max_bytes
        self.objects_written = 0
        self.records_written = 0
        self._pending: list[tuple[list[dict[str, Any]], Future[None]]] = []
        self._pending_bytes = 0
        self._first_at = 0.0
        self._closing = False
        self._lock = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="quarantine-writer", daemon=True)
        self._thread.start()

    def write(self, records: list[dict[str, Any]]) -> Future[None]:
        """Resolves once ``records`` are in the landing store (or with the store's error)."""
        future: Future[None] = Future()
        if not records:
            future.set_result(None)
            return future
        size = sum(len(orjson.dumps(record)) + 1 for record in records)
        with self._lock:
            if self._closing:
                raise RuntimeError("the quarantine writer is closed")
            if not self._pending:
                self._first_at = time.monotonic()
            self._pending.append((records, future))
            self._pending_bytes += size
            self._lock.notify_all()
        return future

    def close(self) -> None:
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._thread.join()

    def _run(self) -> None:
        while (group := self._next_group()) is not None:
            self._store(group)

    def _next_group(self) -> list[tuple[list[dict[str, Any]], Future[None]]] | None:
        with self._lock:
            while True:
                if self._pending:
                    waited = time.monotonic() - self._first_at
                    if (
                        self._closing
                        or waited >= self.linger_s
                        or self._pending_bytes >= self.max_bytes
                    ):
                        group, self._pending, self._pending_bytes = self._pending, [], 0
                        return group
                    self._lock.wait(self.linger_s - waited)
                elif self._closing:
                    return None
                else:
                    self._lock.wait()

    def _store(self, group: list[tuple[list[dict[str, Any]], Future[None]]]) -> None:
        records = [record for batch, _ in group for record in batch]
        arrival = datetime.now(UTC)
        key = quarantine_key(self.settings, arrival, str(uuid.uuid4()))
        try:
            self.store.put(key, encode_records(records))
        except Exception as error:
            for _, future in group:
                future.set_exception(error)
            return
        self.objects_written += 1
        self.records_written += len(records)
        for _, future in group:
            future.set_result(None)
