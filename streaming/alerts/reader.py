"""The local alert reader: a reader of the stream of its own that turns key events into alerts.

It follows every shard through a :class:`~streaming.follower.StreamFollower` (checkpoints under
``<home>/checkpoints/alerts/<stream>/``) and, for each batch, in order:

1. decodes each record as delivery does and evaluates the rules (:mod:`streaming.alerts.rules`);
2. skips an event whose id is in the delivered set (a re-send, or a re-read after a restart);
3. delivers each of its alerts to every sink (:mod:`streaming.alerts.sinks`): the alert log,
   then the webhook (retried; dead-lettered after its budget);
4. adds the event id to the delivered set;
5. once the whole batch is handled, moves the shard's checkpoint past it.

A crash anywhere re-reads from the last checkpoint: an alert whose delivery finished before the
crash is skipped by step 2, one caught between 3 and 4 is delivered again (at least once; the
``alert_id`` is the sinks' idempotency key).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streaming.alerts.dedup import DeliveredEvents
from streaming.alerts.rules import Alert, RuleSet
from streaming.alerts.sinks import (
    JsonLines,
    Webhook,
    alert_log_path,
    dead_letter_path,
    now_ms,
)
from streaming.contracts.atomic_write import write_atomically
from streaming.contracts.settings import Settings, url_origin
from streaming.delivery.records import BRONZE, route
from streaming.follower import FollowerError, ShardBatch, StreamFollower, stop_on_signals

log = logging.getLogger("streaming.alerts")

READER = "alerts"
READY_LINE = "alert reader ready"
STATUS_SECONDS = 1.0


class AlertReaderError(RuntimeError):
    """The alert reader stopped: the stream could not be read."""


@dataclass
class AlertReport:
    records_read: int = 0
    alerts_delivered: int = 0
    duplicates_skipped: int = 0
    dead_lettered: int = 0
    webhook_retries: int = 0
    undecodable: int = 0
    shards: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def reader_status_path(settings: Settings) -> Path:
    return settings.alerts_dir / "reader.json"


class AlertReader:
    """See the module docstring."""

    def __init__(self, settings: Settings, *, poll_seconds: float | None = None) -> None:
        self.settings = settings
        self.rules = RuleSet(settings.alerts.rules)
        self.poll_seconds = settings.alerts.poll_seconds if poll_seconds is None else poll_seconds
        self.report = AlertReport()
        self._stop = threading.Event()
        self._follower: StreamFollower | None = None
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
    ) -> AlertReport:
        """Read until stopped (``stop()``, the ``stop`` event, SIGINT/SIGTERM with
        ``handle_signals``), or with ``once`` until every shard has been read to its tip."""
        follower = StreamFollower(self.settings, READER, poll_seconds=self.poll_seconds, once=once)
        self._follower = follower
        if self._stop.is_set():
            follower.stop()
        watcher = self._watch(stop)
        delivered = DeliveredEvents(
            self.settings.alerts_dir / "delivered.sqlite", self.settings.alerts.dedup_capacity
        )
        alert_log = JsonLines(alert_log_path(self.settings))
        dead_letters = JsonLines(dead_letter_path(self.settings))
        url = self.settings.alerts.webhook_url
        webhook = Webhook(self.settings, url.get_secret_value(), self._stop) if url else None
        try:
            with stop_on_signals(self.stop, "finishing the alert in hand", enabled=handle_signals):
                follower.start()
                self._write_status("running")
                log.info(
                    "%s: %d shard(s), %d rule(s), webhook %s",
                    READY_LINE,
                    follower.shards,
                    len(self.rules.rules),
                    url_origin(url) if url else "none",
                )
                next_status = time.monotonic() + STATUS_SECONDS
                while not follower.finished():
                    batch = follower.next_batch(0.2)
                    if batch is None:
                        continue
                    if self._handle(batch, delivered, alert_log, dead_letters, webhook):
                        last = batch.records[-1].sequence_number if batch.records else None
                        follower.checkpoint(batch.shard_id, last, closed=batch.ended)
                    if time.monotonic() >= next_status:
                        self._write_status("running")
                        next_status = time.monotonic() + STATUS_SECONDS
        except FollowerError as error:
            raise AlertReaderError(f"alert reader stopped: {error}") from error
        finally:
            self.stop()
            follower.close()
            if watcher is not None:
                watcher.join()
            if webhook is not None:
                self.report.webhook_retries = webhook.retries
                webhook.close()
            alert_log.close()
            dead_letters.close()
            delivered.close()
            self.report.shards = follower.shards
            self._write_status("stopped")
        log.info("alerts: %s", self.report.as_dict())
        return self.report

    def _handle(
        self,
        batch: ShardBatch,
        delivered: DeliveredEvents,
        alert_log: JsonLines,
        dead_letters: JsonLines,
        webhook: Webhook | None,
    ) -> bool:
        """Deliver the batch's alerts; False when stopped before the batch was handled."""
        for record in batch.records:
            self.report.records_read += 1
            routed = route(record)
            if routed.partition.kind != BRONZE:
                self.report.undecodable += 1
                continue
            alerts = self.rules.alerts(routed.record)
            if not alerts:
                continue
            event_id = alerts[0].event_id
            if event_id in delivered:
                self.report.duplicates_skipped += 1
                continue
            for alert in alerts:
                if not self._deliver(alert, alert_log, dead_letters, webhook):
                    return False
            delivered.add(event_id)
        return True

    def _deliver(
        self,
        alert: Alert,
        alert_log: JsonLines,
        dead_letters: JsonLines,
        webhook: Webhook | None,
    ) -> bool:
        document = alert.document()
        alert_log.append(document | {"delivered_at": now_ms()})
        if webhook is not None:
            failure = webhook.deliver(document)
            if failure is not None and self._stop.is_set():
                return False
            if failure is not None:
                log.warning("alert %s to the dead-letter file: %s", alert.alert_id, failure)
                dead_letters.append(
                    document | {"sink": "webhook", "reason": failure, "failed_at": now_ms()}
                )
                self.report.dead_lettered += 1
        self.report.alerts_delivered += 1
        return True

    # --- stop, status ------------------------------------------------------------------------

    def _watch(self, stop: threading.Event | None) -> threading.Thread | None:
        if stop is None:
            return None

        def forward() -> None:
            while not self._stop.is_set():
                if stop.wait(0.05):
                    self.stop()

        thread = threading.Thread(target=forward, name="alerts-stop", daemon=True)
        thread.start()
        return thread

    def _write_status(self, state: str) -> None:
        document: dict[str, Any] = {
            "state": state,
            "pid": os.getpid(),
            "stream": self.settings.stream_name,
            "rules": [rule.name for rule in self.rules.rules],
            "webhook": url_origin(url) if (url := self.settings.alerts.webhook_url) else None,
            "started_at": self._started_at.isoformat(timespec="milliseconds"),
            "updated_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            **self.report.as_dict(),
        }
        write_atomically(
            reader_status_path(self.settings), orjson.dumps(document, option=orjson.OPT_INDENT_2)
        )
