"""The local real-time consumer: a second reader of the stream keeping the minute marts.

Like delivery, it reads the stream through a :class:`~streaming.follower.StreamFollower` and a
single loop does the rest. Records are decoded exactly as delivery decodes them
(:func:`streaming.delivery.records.route`: a JSON object with a string ``event_type``; anything
else is counted and skipped). Every ``refresh_seconds`` the loop stores what it read in one
transaction (events whose ``event_id`` is already stored are dropped), then moves the per-shard
checkpoints (``<home>/checkpoints/realtime/<stream>/<shard>.json``, delivery's format, its own
directory) to the last record stored, then publishes a snapshot for readers. A crash re-reads
what was not checkpointed; the ``event_id`` dedup makes that harmless (at least once + dedup =
effectively once).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from streaming.contracts.atomic_write import write_atomically
from streaming.contracts.settings import Settings
from streaming.delivery.records import BRONZE, route
from streaming.follower import (
    FollowerError,
    ShardBatch,
    ShardRecord,
    StreamFollower,
    stop_on_signals,
)
from streaming.realtime.store import RealtimeStore

log = logging.getLogger("streaming.realtime")

DISCOVER_SECONDS = 30.0
PURGE_SECONDS = 60.0
MAX_PENDING_ROWS = 50_000
READY_LINE = "realtime consumer ready"


class ConsumerError(RuntimeError):
    """The consumer stopped: the stream could not be read."""


@dataclass
class ConsumerReport:
    records_read: int = 0
    events_stored: int = 0
    duplicates_dropped: int = 0
    undecodable: int = 0
    commits: int = 0
    publications: int = 0
    shards: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def _text(value: Any) -> str | None:
    """A string field as silver keeps it: empty strings and non-strings are null."""
    return value if isinstance(value, str) and value else None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _object(value: Any) -> dict[str, Any]:
    """A JSON object member; an empty one when it is absent or not an object."""
    return value if isinstance(value, dict) else {}


def event_row(record: ShardRecord, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The ``mv_events_min`` columns of one producer record (None without an event_id)."""
    event_id = payload.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return None
    user = _object(payload.get("user"))
    session = _object(payload.get("session"))
    utm = _object(session.get("utm"))
    ctx = _object(payload.get("ctx"))
    chart = _object(payload.get("chart"))
    affiliate = _object(payload.get("affiliate"))
    ingest_ts = payload.get("ingest_ts")
    payout = affiliate.get("payout_cents")
    return {
        "event_id": event_id,
        "event_type": payload["event_type"],
        "ts": _timestamp(payload.get("ts")),
        "ingest_ts": ingest_ts if isinstance(ingest_ts, int) else None,
        "arrive_ts": record.arrival.astimezone(UTC).replace(tzinfo=None),
        "shard_id": record.shard_id,
        "sequence_number": record.sequence_number,
        "session_id": _text(session.get("session_id")),
        "user_id_hash": _text(user.get("user_id_hash")),
        "geo_country": _text(user.get("geo_country")),
        "page_url": _text(ctx.get("page_url")),
        "utm_source": _text(utm.get("source")),
        "chart_action": _text(chart.get("action")),
        "affiliate_link_id": _text(affiliate.get("link_id")),
        "affiliate_target": _text(affiliate.get("target")),
        "payout_cents": payout if isinstance(payout, int) else None,
        "is_bot": payload.get("is_bot") is True,
    }


class RealtimeConsumer:
    """Reads every shard of the stream and keeps the local marts; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: RealtimeStore | None = None,
        refresh_seconds: float | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        self.settings = settings
        self.refresh_seconds = refresh_seconds or settings.realtime.refresh_seconds
        self.poll_seconds = settings.realtime.poll_seconds if poll_seconds is None else poll_seconds
        self._store = store
        self.status_path = settings.realtime_dir / "consumer.json"
        self.report = ConsumerReport()
        self._stop = threading.Event()
        self._follower: StreamFollower | None = None
        self._ended: set[str] = set()
        self._pending: list[dict[str, Any]] = []
        self._pending_marks: dict[str, str | None] = {}
        self._started_at = datetime.now(UTC)

    def stop(self) -> None:
        self._stop.set()
        if self._follower is not None:
            self._follower.stop()

    def run(
        self,
        *,
        once: bool = False,
        stop: threading.Event | None = None,
        handle_signals: bool = False,
    ) -> ConsumerReport:
        """Consume until stopped (``stop()``, the ``stop`` event, SIGINT/SIGTERM with
        ``handle_signals``), or with ``once`` until every shard has been read to its tip."""
        store = self._store or RealtimeStore(self.settings)
        follower = StreamFollower(
            self.settings, "realtime", poll_seconds=self.poll_seconds, once=once
        )
        self._follower = follower
        if self._stop.is_set():
            follower.stop()
        watcher = self._watch(stop)
        doing = "storing what was read and stopping"
        try:
            with stop_on_signals(self.stop, doing, enabled=handle_signals):
                follower.start()
                store.publish(self._meta())
                self._write_status("running")
                log.info("%s: %d shard(s), marts at %s", READY_LINE, follower.shards, store.link)
                self._loop(store, follower)
                self._commit(store, follower)
        except FollowerError as error:
            raise ConsumerError(f"real-time consumer stopped: {error}") from error
        finally:
            self.stop()
            follower.close()
            if watcher is not None:
                watcher.join()
            self.report.shards = follower.shards
            self._write_status("stopped")
            if self._store is None:
                store.close()
        log.info("consumed %s", self.report.as_dict())
        return self.report

    # --- the loop -------------------------------------------------------------------------------

    def _loop(self, store: RealtimeStore, follower: StreamFollower) -> None:
        next_commit = time.monotonic() + self.refresh_seconds
        next_purge = time.monotonic()
        while not follower.finished():
            timeout = max(0.0, min(next_commit - time.monotonic(), 0.2))
            batch = follower.next_batch(timeout)
            if batch is not None:
                self._handle(batch)
            now = time.monotonic()
            if now >= next_commit or len(self._pending) >= MAX_PENDING_ROWS:
                if now >= next_purge:
                    retention = timedelta(hours=self.settings.realtime.retention_hours)
                    store.purge(datetime.now(UTC).replace(tzinfo=None) - retention)
                    next_purge = now + PURGE_SECONDS
                self._commit(store, follower)
                next_commit = time.monotonic() + self.refresh_seconds

    def _handle(self, batch: ShardBatch) -> None:
        for record in batch.records:
            routed = route(record)
            if routed.partition.kind != BRONZE:
                self.report.undecodable += 1
                continue
            row = event_row(record, routed.record)
            if row is None:
                self.report.undecodable += 1
                continue
            self._pending.append(row)
        if batch.records:
            self.report.records_read += len(batch.records)
            self._pending_marks[batch.shard_id] = batch.records[-1].sequence_number
        if batch.ended:
            self._ended.add(batch.shard_id)
            self._pending_marks.setdefault(batch.shard_id, None)

    def _commit(self, store: RealtimeStore, follower: StreamFollower) -> None:
        """Store the pending rows, then checkpoint, then publish: in that order."""
        if self._pending:
            stored = store.add(self._pending)
            self.report.events_stored += stored
            self.report.duplicates_dropped += len(self._pending) - stored
            self.report.commits += 1
            self._pending = []
        for shard_id, sequence_number in self._pending_marks.items():
            follower.checkpoint(shard_id, sequence_number, closed=shard_id in self._ended)
        self._pending_marks = {}
        if store.publish(self._meta()):
            self.report.publications = store.publications
            self._write_status("running")

    # --- signals, status ----------------------------------------------------------------------

    def _watch(self, stop: threading.Event | None) -> threading.Thread | None:
        """Forward an outside stop event to the loop's own."""
        if stop is None:
            return None

        def forward() -> None:
            while not self._stop.is_set():
                if stop.wait(0.05):
                    self.stop()

        thread = threading.Thread(target=forward, name="realtime-stop", daemon=True)
        thread.start()
        return thread

    def _meta(self) -> dict[str, str]:
        return {"stream": self.settings.stream_name, "consumer_pid": str(os.getpid())}

    def _write_status(self, state: str) -> None:
        """``<home>/realtime/consumer.json``: what a supervisor or ``rt top`` can watch."""
        document = {
            "state": state,
            "pid": os.getpid(),
            "stream": self.settings.stream_name,
            "started_at": self._started_at.isoformat(timespec="milliseconds"),
            "updated_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            **self.report.as_dict(),
        }
        write_atomically(self.status_path, orjson.dumps(document, option=orjson.OPT_INDENT_2))


def consume(
    settings: Settings,
    *,
    once: bool = False,
    stop: threading.Event | None = None,
    handle_signals: bool = False,
    refresh_seconds: float | None = None,
) -> ConsumerReport:
    """Run the local real-time consumer (the entry point of ``clickstream rt consume``)."""
    consumer = RealtimeConsumer(settings, refresh_seconds=refresh_seconds)
    return consumer.run(once=once, stop=stop, handle_signals=handle_signals)
