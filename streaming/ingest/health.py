"""Whether the ingest can take events: the stream, the dead-letter queue and the buffer.

``GET /healthz`` (readiness) answers from :class:`SinkProbe`, which asks the stream and the
dead-letter queue whether they answer at most once per ``max_age_s`` and reuses the answer in
between, so a probe every second costs nothing. ``GET /livez`` (liveness) asks nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

REACHABLE, UNREACHABLE = "reachable", "unreachable"
OK, DEGRADED, UNAVAILABLE = "ok", "degraded", "unavailable"


@dataclass(frozen=True)
class Reachability:
    stream: bool
    dead_letter_queue: bool


class SinkProbe:
    def __init__(
        self,
        check_stream: Callable[[], object],
        check_dead_letter_queue: Callable[[], object],
        max_age_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._checks = (check_stream, check_dead_letter_queue)
        self.max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: tuple[float, Reachability] | None = None

    def reachability(self) -> Reachability:
        """The last answer if it is recent enough, else a new one (one caller asks at a time)."""
        with self._lock:
            now = self._clock()
            if self._last is None or now - self._last[0] >= self.max_age_s:
                stream, dead_letters = (_answers(check) for check in self._checks)
                self._last = (self._clock(), Reachability(stream, dead_letters))
            return self._last[1]


def _answers(check: Callable[[], object]) -> bool:
    try:
        check()
    except Exception:
        return False
    return True


def health_report(
    reachability: Reachability, depth: int, capacity: int
) -> tuple[int, dict[str, Any]]:
    """The status code and body of ``/healthz``.

    503 when an event could not be taken now: the stream does not answer or the buffer is full.
    A dead-letter queue that does not answer only degrades the ingest (200, ``degraded``).
    """
    full = depth >= capacity
    if not reachability.stream or full:
        status, code = UNAVAILABLE, 503
    elif not reachability.dead_letter_queue:
        status, code = DEGRADED, 200
    else:
        status, code = OK, 200
    return code, {
        "status": status,
        "stream": REACHABLE if reachability.stream else UNREACHABLE,
        "dead_letter_queue": REACHABLE if reachability.dead_letter_queue else UNREACHABLE,
        "buffer": {"records": depth, "capacity": capacity, "fill": round(depth / capacity, 4)},
    }
