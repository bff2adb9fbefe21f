"""The local real-time consumer: a second reader of the stream keeping the minute marts.

Like delivery, one :class:`~streaming.delivery.readers.ShardReader` thread per shard reads the
stream and a single loop does the rest. Records are decoded exactly as delivery decodes them
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
import queue
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from botocore.exceptions import BotoCoreError, ClientError

from streaming.aws_clients import client
from streaming.delivery.checkpoints import Checkpoint, CheckpointStore
from streaming.delivery.readers import ReaderEvent, ShardInfo, ShardReader, list_shards
from streaming.delivery.records import BRONZE, StreamRecord, route
from streaming.realtime.store import RealtimeStore
from streaming.settings import Settings

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


def event_row(record: StreamRecord, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The ``mv_events_min`` columns of one producer record (None without an event_id)."""
    event_id = payload.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return None
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    session = payload.get("session") if isinstance(payload.get("session"), dict) else {}
    utm = session.get("utm") if isinstance(session.get("utm"), dict) else {}
    ctx = payload.get("ctx") if isinstance(payload.get("ctx"), dict) else {}
    chart = payload.get("chart") if isinstance(payload.get("chart"), dict) else {}
    affiliate = payload.get("affiliate") if isinstance(payload.get("affiliate"), dict) else {}
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
        self.checkpoints = CheckpointStore(
            settings.checkpoint_dir / "realtime" / settings.stream_name
        )
        self.status_path = settings.realtime_dir / "consumer.json"
        self.report = ConsumerReport()
        self._stop = threading.Event()
        self._events: queue.Queue[ReaderEvent] = queue.Queue(maxsize=64)
        self._readers: dict[str, ShardReader] = {}
        self._ended: set[str] = set()
        self._pending: list[dict[str, Any]] = []
        self._pending_marks: dict[str, str] = {}
        self._failure: BaseException | None = None
        self._kinesis: Any = None
        self._stream_created: str | None = None
        self._started_at = datetime.now(UTC)

    def stop(self) -> None:
        self._stop.set()

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
        watcher = self._watch(stop)
        try:
            with self._signals_stop_the_loop(handle_signals):
                self._start_first_readers(once)
                store.publish(self._meta())
                self._write_status("running")
                log.info("%s: %d shard(s), marts at %s", READY_LINE, len(self._readers), store.link)
                self._loop(store, once)
                self._commit(store)
        finally:
            self._stop.set()
            if watcher is not None:
                watcher.join()
            self._write_status("stopped")
            if self._store is None:
                store.close()
        if self._failure is not None:
            raise ConsumerError(f"real-time consumer stopped: {self._failure}") from self._failure
        log.info("consumed %s", self.report.as_dict())
        return self.report

    # --- the loop -------------------------------------------------------------------------------

    def _loop(self, store: RealtimeStore, once: bool) -> None:
        next_commit = time.monotonic() + self.refresh_seconds
        next_discovery = time.monotonic() + DISCOVER_SECONDS
        next_purge = time.monotonic()
        while not self._finished(once):
            timeout = max(0.0, min(next_commit - time.monotonic(), 0.2))
            with suppress(queue.Empty):
                self._handle(self._events.get(timeout=timeout))
            now = time.monotonic()
            if now >= next_commit or len(self._pending) >= MAX_PENDING_ROWS:
                if now >= next_purge:
                    retention = timedelta(hours=self.settings.realtime.retention_hours)
                    store.purge(datetime.now(UTC).replace(tzinfo=None) - retention)
                    next_purge = now + PURGE_SECONDS
                self._commit(store)
                next_commit = time.monotonic() + self.refresh_seconds
            if not self._stop.is_set() and now >= next_discovery:
                self._rediscover(once)
                next_discovery = now + DISCOVER_SECONDS

    def _handle(self, event: ReaderEvent) -> None:
        for record in event.records:
            routed = route(record)
            if routed.partition.kind != BRONZE:
                self.report.undecodable += 1
                continue
            row = event_row(record, routed.record)
            if row is None:
                self.report.undecodable += 1
                continue
            self._pending.append(row)
        if event.records:
            self.report.records_read += len(event.records)
            self._pending_marks[event.shard_id] = event.records[-1].sequence_number
        if event.ended:
            self._ended.add(event.shard_id)
        if event.error is not None and self._failure is None:
            log.error("%s: reader failed: %s", event.shard_id, event.error)
            self._failure = event.error
            self._stop.set()

    def _commit(self, store: RealtimeStore) -> None:
        """Store the pending rows, then checkpoint, then publish: in that order."""
        if self._pending:
            stored = store.add(self._pending)
            self.report.events_stored += stored
            self.report.duplicates_dropped += len(self._pending) - stored
            self.report.commits += 1
            self._pending = []
        for shard_id, sequence_number in self._pending_marks.items():
            self.checkpoints.save(
                Checkpoint(
                    shard_id,
                    sequence_number,
                    closed=shard_id in self._ended,
                    stream_created=self._stream_created,
                )
            )
        self._pending_marks = {}
        if store.publish(self._meta()):
            self.report.publications = store.publications
            self._write_status("running")

    def _finished(self, once: bool) -> bool:
        alive = any(reader.is_alive() for reader in self._readers.values())
        if alive or not self._events.empty():
            return False
        if self._stop.is_set() or self._failure is not None:
            return True
        return once and self._start_readers(once) == 0

    # --- shards (as delivery: children after their parents) -----------------------------------

    def _start_first_readers(self, once: bool) -> None:
        try:
            self._start_readers(once)
        except (BotoCoreError, ClientError) as error:
            hint = " (is the local endpoint up? `clickstream local up`)"
            raise ConsumerError(
                f"cannot read stream {self.settings.stream_name}: {error}"
                + (hint if self.settings.env == "local" else "")
            ) from error

    def _rediscover(self, once: bool) -> None:
        try:
            self._start_readers(once)
        except (BotoCoreError, ClientError) as error:
            log.warning("listing the shards failed (%s); trying again later", error)

    def _start_readers(self, once: bool) -> int:
        if self._kinesis is None:
            self._kinesis = client(self.settings, "kinesis")
            summary = self._kinesis.describe_stream_summary(StreamName=self.settings.stream_name)
            created = summary["StreamDescriptionSummary"]["StreamCreationTimestamp"]
            self._stream_created = created.isoformat()
        shards = list_shards(self.settings, self._kinesis)
        known = {shard.shard_id for shard in shards}
        started = 0
        for shard in shards:
            if shard.shard_id in self._readers:
                self._readers[shard.shard_id].closed = shard.closed
                continue
            if not self._parents_done(shard, known):
                continue
            checkpoint = self._checkpoint_of(shard.shard_id)
            if checkpoint.closed:
                self._ended.add(shard.shard_id)
                continue
            reader = ShardReader(
                self.settings,
                shard.shard_id,
                checkpoint.sequence_number,
                self._events,
                self._stop,
                closed=shard.closed,
                once=once,
                poll_seconds=self.poll_seconds,
            )
            self._readers[shard.shard_id] = reader
            reader.start()
            started += 1
        self.report.shards = len(self._readers)
        return started

    def _parents_done(self, shard: ShardInfo, known: set[str]) -> bool:
        for parent in shard.parents:
            ended = parent in self._ended or self._checkpoint_of(parent).closed
            if parent in known and not ended:
                return False
        return True

    def _checkpoint_of(self, shard_id: str) -> Checkpoint:
        checkpoint = self.checkpoints.load(shard_id)
        if checkpoint.stream_created not in (None, self._stream_created):
            log.warning(
                "%s: checkpoint of an earlier stream of that name; reading from the start",
                shard_id,
            )
            return Checkpoint(shard_id, None)
        return checkpoint

    # --- signals, status ----------------------------------------------------------------------

    def _watch(self, stop: threading.Event | None) -> threading.Thread | None:
        """Forward an outside stop event to the loop's own."""
        if stop is None:
            return None

        def forward() -> None:
            while not self._stop.is_set():
                if stop.wait(0.05):
                    self._stop.set()

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
        directory = self.status_path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".consumer", suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        Path(temporary).replace(self.status_path)

    @contextmanager
    def _signals_stop_the_loop(self, enabled: bool) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return

        def _stop(signum: int, _frame: Any) -> None:
            log.info("%s: storing what was read and stopping", signal.Signals(signum).name)
            self.stop()

        previous = {
            number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


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
