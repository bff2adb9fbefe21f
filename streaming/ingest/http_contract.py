"""The HTTP contract of the ingest, independent of the server that carries it.

The ASGI server and the Lambda handler both turn a request into an :class:`HttpRequest`, call
:meth:`IngestService.start`, wait for the futures of the returned :class:`InFlight` (the stream
acknowledgements and the quarantine write) and answer with :meth:`InFlight.finish`.
"""

from __future__ import annotations

import hmac
import time
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson

from streaming.contracts.settings import IngestSettings
from streaming.ingest.body_json import MalformedBodyError, parse_body, storable_events
from streaming.ingest.client_address import TrustedProxies
from streaming.ingest.core import EVENT_TOO_LARGE, IngestCore, Processed, request_context
from streaming.ingest.health import Reachability, SinkProbe, health_report
from streaming.ingest.metrics import IngestMetrics
from streaming.ingest.quarantine import QuarantineWriter
from streaming.producer.records import Ack, BufferFullError, RecordSink

EVENTS_PATH = "/v1/events"
BATCH_PATH = "/v1/batch"
HEALTH_PATH = "/healthz"
LIVE_PATH = "/livez"
METRICS_PATH = "/metrics"
INGEST_PATHS = (EVENTS_PATH, BATCH_PATH)
JSON_TYPES = ("application/json", "text/plain")
"""``text/plain`` is what ``navigator.sendBeacon`` sends for a string body (no preflight)."""
ALLOWED_HEADERS = "Content-Type, Content-Encoding, X-Api-Key"
PREFLIGHT_MAX_AGE_S = "600"
RETRY_AFTER_S = "1"
JSON_CONTENT = {"content-type": "application/json"}
PROMETHEUS_CONTENT = {"content-type": "text/plain; version=0.0.4; charset=utf-8"}


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    """Looked up by lowercase name."""
    body: bytes
    peer_ip: str | None
    forwarded_for: Sequence[str] = ()
    """Every X-Forwarded-For header, in the order received."""


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def error_response(status: int, code: str, message: str, **extra: str) -> HttpResponse:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    return HttpResponse(status, body, {**JSON_CONTENT, **extra})


class BodyTooLargeError(ValueError):
    pass


def decode_body(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The request body, decompressed; BodyTooLargeError past ``limit`` bytes either way."""
    if len(body) > limit:
        raise BodyTooLargeError(f"the request body is larger than {limit} bytes")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding != "gzip":
        raise LookupError(f"unsupported Content-Encoding {content_encoding!r}; use gzip")
    return gunzip(body, limit)


GZIP_MAGIC = b"\x1f\x8b"


def gunzip(body: bytes, limit: int) -> bytes:
    """Every gzip member of ``body``, concatenated (RFC 1952 allows several); ValueError for
    a corrupt or truncated member or bytes after the last one."""
    data = bytearray()
    rest = body
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data += inflater.decompress(rest, limit + 1 - len(data))
        except zlib.error as error:
            raise ValueError(f"the gzip body is corrupt: {error}") from None
        if len(data) > limit or inflater.unconsumed_tail:
            raise BodyTooLargeError(f"the decompressed body is larger than {limit} bytes")
        if not inflater.eof:
            raise ValueError("the gzip body is truncated")
        rest = inflater.unused_data
        if not rest:
            return bytes(data)
        if not rest.startswith(GZIP_MAGIC):
            raise ValueError(f"{len(rest)} bytes follow the last gzip member")


@dataclass
class InFlight:
    """An accepted request waiting for its records and quarantine rows to be stored."""

    service: IngestService
    path: str
    processed: Processed
    cors: dict[str, str]
    delivery: Future[list[Ack]]
    quarantine: Future[None]

    @property
    def futures(self) -> tuple[Future[Any], ...]:
        return (self.delivery, self.quarantine)

    def finish(self) -> HttpResponse:
        return self.service.answer(self)


class IngestService:
    def __init__(
        self,
        settings: IngestSettings,
        core: IngestCore,
        sink: RecordSink,
        quarantine: QuarantineWriter,
        metrics: IngestMetrics | None = None,
        *,
        probe: SinkProbe | None = None,
        buffer_capacity: int = 1,
    ) -> None:
        self.settings = settings
        self.core = core
        self.sink = sink
        self.quarantine = quarantine
        self.metrics = metrics or IngestMetrics()
        self.probe = probe
        self.buffer_capacity = buffer_capacity
        self.proxies = TrustedProxies(settings.trusted_proxies)
        self._api_keys = [key.get_secret_value().encode() for key in settings.api_keys]
        self._origins = frozenset(settings.allowed_origins)

    # --- entry point ---------------------------------------------------------------------

    def start(self, request: HttpRequest) -> HttpResponse | InFlight:
        outcome = self._start(request)
        if isinstance(outcome, HttpResponse):
            self.metrics.count_response(outcome.status)
        return outcome

    def _start(self, request: HttpRequest) -> HttpResponse | InFlight:
        path = request.path.rstrip("/") or "/"
        if path in (HEALTH_PATH, LIVE_PATH, METRICS_PATH):
            if request.method not in ("GET", "HEAD"):
                return error_response(405, "method_not_allowed", "use GET", allow="GET, HEAD")
            if path == LIVE_PATH:
                return HttpResponse(200, b'{"status":"alive"}', dict(JSON_CONTENT))
            if path == HEALTH_PATH:
                return self.health()
            text = self.metrics.exposition(self.sink.counters(), self.sink.depth)
            return HttpResponse(200, text.encode(), dict(PROMETHEUS_CONTENT))
        if path not in INGEST_PATHS:
            return error_response(404, "not_found", f"no such endpoint: {request.path[:200]}")
        if request.method == "OPTIONS":
            return self._preflight(request)
        if request.method != "POST":
            return error_response(405, "method_not_allowed", "use POST", allow="POST, OPTIONS")
        return self._ingest(path, request)

    def health(self) -> HttpResponse:
        """Readiness; may ask the stream and the dead-letter queue (blocking, cached)."""
        reachability = self.probe.reachability() if self.probe else Reachability(True, True)
        status, report = health_report(reachability, self.sink.depth, self.buffer_capacity)
        return HttpResponse(status, orjson.dumps(report), dict(JSON_CONTENT))

    # --- CORS and authentication -----------------------------------------------------------

    def _origin_allowed(self, origin: str) -> bool:
        return origin in self._origins or "*" in self._origins

    def _cors_headers(self, origin: str | None) -> dict[str, str]:
        if origin is None:
            return {}
        return {"access-control-allow-origin": origin, "vary": "Origin"}

    def _preflight(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("origin")
        if origin is None:
            return error_response(
                403, "origin_not_allowed", "a preflight request must name its Origin"
            )
        if not self._origin_allowed(origin):
            return error_response(403, "origin_not_allowed", f"origin {origin!r} is not allowed")
        headers = self._cors_headers(origin) | {
            "access-control-allow-methods": "POST, OPTIONS",
            "access-control-allow-headers": ALLOWED_HEADERS,
            "access-control-max-age": PREFLIGHT_MAX_AGE_S,
        }
        return HttpResponse(204, b"", headers)

    def _source(self, request: HttpRequest) -> str | HttpResponse:
        """``server`` for a valid API key, ``web`` for an allowed browser origin."""
        key = request.headers.get("x-api-key")
        origin = request.headers.get("origin")
        if origin is not None and not self._origin_allowed(origin):
            return error_response(403, "origin_not_allowed", f"origin {origin!r} is not allowed")
        if key is not None:
            if any(hmac.compare_digest(key.encode(), known) for known in self._api_keys):
                return "server"
            return error_response(401, "invalid_api_key", "the X-Api-Key is not valid")
        if self._api_keys and origin is None:
            return error_response(
                401, "api_key_required", "requests without a browser Origin need an X-Api-Key"
            )
        return "web"

    # --- ingestion -------------------------------------------------------------------------

    def _ingest(self, path: str, request: HttpRequest) -> HttpResponse | InFlight:
        source = self._source(request)
        if isinstance(source, HttpResponse):
            return source
        origin = request.headers.get("origin")
        cors = self._cors_headers(origin)
        media_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
        if media_type not in JSON_TYPES:
            return error_response(
                415,
                "unsupported_media_type",
                "send JSON as application/json (or text/plain from sendBeacon)",
                **cors,
            )
        limit = self.settings.max_body_bytes
        try:
            body = decode_body(request.body, request.headers.get("content-encoding"), limit)
        except BodyTooLargeError as error:
            return error_response(413, "body_too_large", str(error), **cors)
        except LookupError as error:
            return error_response(415, "unsupported_encoding", str(error), **cors)
        except ValueError as error:
            return error_response(400, "malformed_body", str(error), **cors)
        try:
            document, lenient = parse_body(body)
        except MalformedBodyError as error:
            return error_response(400, "malformed_json", str(error), **cors)
        if path == EVENTS_PATH:
            events = [document]
        else:
            events_or_error = self._batch_events(document, cors)
            if isinstance(events_or_error, HttpResponse):
                return events_or_error
            events = events_or_error
        if lenient:
            events = storable_events(events)
        raw_ip = self.proxies.client(request.peer_ip, request.forwarded_for)
        context = request_context(
            received_at_ms=time.time_ns() // 1_000_000,
            client_ip=raw_ip,
            viewer_country=request.headers.get("cloudfront-viewer-country"),
            source=source,
        )
        del raw_ip
        processed = self.core.process(events, context)
        try:
            delivery = self.sink.submit(processed.records)
            quarantine = self.quarantine.write(processed.quarantined)
        except BufferFullError as error:
            self.metrics.count_overloaded()
            return error_response(
                503, "overloaded", str(error), **cors, **{"retry-after": str(error.retry_after_s)}
            )
        except RuntimeError:  # closed: the server is shutting down
            return error_response(
                503,
                "shutting_down",
                "the ingest is stopping; send the request again",
                **cors,
                **{"retry-after": RETRY_AFTER_S},
            )
        self.metrics.count_events(processed)
        return InFlight(self, path, processed, cors, delivery, quarantine)

    def _batch_events(self, document: Any, cors: dict[str, str]) -> list[Any] | HttpResponse:
        events = document.get("events") if isinstance(document, dict) else None
        if not isinstance(events, list):
            return error_response(
                400, "malformed_batch", 'a batch is a JSON object {"events": [...]}', **cors
            )
        if len(events) > self.settings.max_batch_events:
            return error_response(
                413,
                "batch_too_large",
                f"{len(events)} events in one batch; the limit is {self.settings.max_batch_events}",
                **cors,
            )
        return events

    def answer(self, flight: InFlight) -> HttpResponse:
        """The answer once the flight's futures are done."""
        cors = flight.cors
        response: HttpResponse
        if flight.quarantine.exception() is not None:
            response = error_response(
                503,
                "quarantine_unavailable",
                "rejected events could not be stored; send the request again",
                **cors,
                **{"retry-after": RETRY_AFTER_S},
            )
        else:
            undelivered = [ack for ack in flight.delivery.result() if not ack.delivered]
            if undelivered:
                response = error_response(
                    503,
                    "delivery_failed",
                    f"{len(undelivered)} events reached neither the stream nor the dead-letter "
                    "queue; send the request again",
                    **cors,
                    **{"retry-after": RETRY_AFTER_S},
                )
            else:
                response = self._results(flight)
        self.metrics.count_response(response.status)
        return response

    def _results(self, flight: InFlight) -> HttpResponse:
        processed = flight.processed
        body = orjson.dumps(
            {
                "accepted": processed.accepted,
                "rejected": processed.rejected,
                "discarded": processed.discarded,
                "results": processed.answers(),
            }
        )
        status = 200
        if flight.path == EVENTS_PATH and processed.rejected:
            status = 413 if processed.others[0].reason == EVENT_TOO_LARGE else 422
        return HttpResponse(status, body, {**JSON_CONTENT, **flight.cors})
