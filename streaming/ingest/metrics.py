"""Counters of the ingest, exposed in the Prometheus text format at ``GET /metrics``."""

from __future__ import annotations

import threading
from collections import Counter

from streaming.ingest.core import REJECTION_REASONS, Processed

PREFIX = "clickstream"


class IngestMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.accepted = 0
        self.discarded_consent_off = 0
        self.rejected: Counter[str] = Counter(dict.fromkeys(REJECTION_REASONS, 0))
        self.responses: Counter[int] = Counter()
        self.overloaded = 0

    def count_events(self, processed: Processed) -> None:
        with self._lock:
            self.accepted += processed.accepted
            self.discarded_consent_off += processed.discarded
            self.rejected.update(processed.rejected_by_reason)

    def count_response(self, status: int) -> None:
        with self._lock:
            self.responses[status] += 1

    def count_overloaded(self) -> None:
        with self._lock:
            self.overloaded += 1

    def exposition(self, producer: dict[str, int], buffer_depth: int) -> str:
        """Prometheus text format 0.0.4."""
        lines: list[str] = []

        def family(name: str, kind: str, text: str, samples: list[tuple[str, float]]) -> None:
            lines.append(f"# HELP {PREFIX}_{name} {text}")
            lines.append(f"# TYPE {PREFIX}_{name} {kind}")
            lines.extend(f"{PREFIX}_{name}{labels} {value:g}" for labels, value in samples)

        with self._lock:
            family(
                "ingest_accepted_total",
                "counter",
                "Events accepted for the stream.",
                [("", self.accepted)],
            )
            family(
                "ingest_rejected_total",
                "counter",
                "Events rejected and quarantined, by reason.",
                [(f'{{reason="{r}"}}', n) for r, n in sorted(self.rejected.items())],
            )
            family(
                "ingest_discarded_total",
                "counter",
                "Events discarded because analytics consent is off (stored nowhere).",
                [('{reason="consent_off"}', self.discarded_consent_off)],
            )
            family(
                "ingest_responses_total",
                "counter",
                "HTTP responses, by status code.",
                [(f'{{code="{c}"}}', n) for c, n in sorted(self.responses.items())],
            )
            family(
                "ingest_overloaded_total",
                "counter",
                "Requests refused with 503 because the producer buffer was full.",
                [("", self.overloaded)],
            )

        def counter(key: str) -> float:
            return producer.get(key, 0)

        family(
            "producer_records_total",
            "counter",
            "Records acknowledged, by destination.",
            [
                ('{destination="kinesis"}', counter("produced")),
                ('{destination="dlq"}', counter("dead_lettered")),
                ('{destination="failed"}', counter("failed")),
            ],
        )
        family(
            "producer_retried_records_total",
            "counter",
            "Records retried after a failed or throttled PutRecords.",
            [("", counter("retried"))],
        )
        family(
            "producer_throttled_total",
            "counter",
            "Throttling answers from Kinesis (whole calls and single records).",
            [("", counter("throttled"))],
        )
        family(
            "producer_put_calls_total", "counter", "PutRecords calls.", [("", counter("put_calls"))]
        )
        family(
            "producer_buffer_records",
            "gauge",
            "Records accepted and not yet acknowledged by Kinesis or the DLQ.",
            [("", buffer_depth)],
        )
        return "\n".join(lines) + "\n"
