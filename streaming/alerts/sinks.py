"""Where the local alert reader delivers: the alert log, an HTTP webhook, the dead-letter file.

- The alert log (``<home>/alerts/alerts.jsonl``): one JSON line per delivered alert, appended and
  fsynced before the alert counts as delivered.
- The webhook (``alerts.webhook_url``): the alert POSTed as JSON with an ``Idempotency-Key``
  header (the ``alert_id``). A 2xx answer delivers it; a connection failure, a timeout, 408, 429
  or 5xx is retried with capped exponential backoff and full jitter, up to
  ``alerts.webhook_attempts`` attempts; any other answer, or the budget spent, sends the alert to
  the dead-letter file (``<home>/alerts/dead-letters.jsonl``) with the reason.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import httpx
import orjson

from streaming.contracts.settings import Settings
from streaming.producer.backoff import Backoff

RETRIED_STATUSES = frozenset({408, 429})


def alert_log_path(settings: Settings) -> Path:
    return settings.alerts_dir / "alerts.jsonl"


def dead_letter_path(settings: Settings) -> Path:
    return settings.alerts_dir / "dead-letters.jsonl"


class JsonLines:
    """An append-only JSON lines file; every line is on disk when :meth:`append` returns."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def append(self, document: dict[str, Any]) -> None:
        os.write(self._fd, orjson.dumps(document) + b"\n")
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def read_json_lines(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The file's documents, oldest first (the last ``limit`` of them); a torn last line is
    skipped."""
    if not path.exists():
        return []
    kept: deque[dict[str, Any]] = deque(maxlen=limit)
    with path.open("rb") as handle:
        for line in handle:
            try:
                kept.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    return list(kept)


class Webhook:
    def __init__(self, settings: Settings, url: str, stop: threading.Event) -> None:
        self.url = url
        self.attempts = settings.alerts.webhook_attempts
        self.backoff = Backoff(
            base_s=settings.alerts.backoff_base_s, cap_s=settings.alerts.backoff_cap_s
        )
        self.stop = stop
        self.retries = 0
        self._client = httpx.Client(timeout=settings.alerts.webhook_timeout_s)

    def deliver(self, document: dict[str, Any]) -> str | None:
        """POST the alert until it is taken; None once it is, else why it is not (also when
        stopped before it was)."""
        body = orjson.dumps(document)
        headers = {"content-type": "application/json", "idempotency-key": document["alert_id"]}
        reason = "not attempted"
        for attempt in range(1, self.attempts + 1):
            if attempt > 1:
                self.retries += 1
                if self.stop.wait(self.backoff.delay(attempt - 1)):
                    return f"stopped while retrying ({reason})"
            try:
                answer = self._client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as error:
                reason = f"{type(error).__name__}: {error}"
                continue
            if answer.is_success:
                return None
            reason = f"HTTP {answer.status_code}"
            if answer.status_code < 500 and answer.status_code not in RETRIED_STATUSES:
                return reason
        return f"{reason} after {self.attempts} attempt(s)"

    def close(self) -> None:
        self._client.close()


def now_ms() -> int:
    return time.time_ns() // 1_000_000
