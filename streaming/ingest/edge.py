"""The connection edge of the ingest server: limits on what a client may hold or send.

:class:`EdgeProtocol` is uvicorn's httptools protocol with the limits uvicorn leaves out:

- the request line and headers over ``max_header_bytes`` or with more than ``max_headers``
  fields → ``431``, before more of them is buffered;
- headers not complete ``header_timeout_s`` after the connection opened or the previous answer
  was sent → ``408`` (a connection that never started a request is closed silently);
- more than ``max_connections`` open connections → ``503`` to the newest requests;
- a request line httptools cannot parse → ``400``.

Every such answer is JSON with the contract's error shape, counted in ``/metrics``, and ends
the connection the way nginx does: the answer, a FIN, then whatever the client still sends is
read and dropped for a moment, so the client reads the answer instead of a reset. The same
lingering close ends a connection the application closes while the body is still arriving
(its ``408`` for a body past the timeout). The body read timeout and the keep-alive timeout
are enforced by the application and uvicorn.

The limits and the metrics come from the application's lifespan state (:data:`EDGE_STATE`).
"""

from __future__ import annotations

import asyncio
import http
import logging
from dataclasses import dataclass, field
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from streaming.contracts.settings import IngestSettings
from streaming.ingest.http_contract import error_response
from streaming.ingest.metrics import IngestMetrics

EDGE_STATE = "ingest_edge"
LINGER_S = 2.0
"""How long a refused connection keeps reading (and dropping) before it is closed."""
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EdgeState:
    settings: IngestSettings = field(default_factory=IngestSettings)
    metrics: IngestMetrics = field(default_factory=IngestMetrics)


class _RefusedError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class EdgeProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        edge = self.app_state.get(EDGE_STATE)
        self.edge: EdgeState = edge if isinstance(edge, EdgeState) else EdgeState()
        self._reading_head = True
        self._request_started = False
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False

    # --- connection ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # Transport, not BaseTransport, as in uvicorn's HttpToolsProtocol
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        limit = self.edge.settings.max_header_bytes
        try:
            while data and not self._refused:
                if self._reading_head:
                    room = limit - self._head_bytes
                    if room <= 0:
                        raise _RefusedError(
                            431,
                            "headers_too_large",
                            f"the request line and headers exceed {limit} bytes",
                        )
                    piece, data = data[:room], data[room:]
                    self._head_bytes += len(piece)
                else:
                    piece, data = data, b""
                self.parser.feed_data(piece)
        except _RefusedError as refusal:
            self._refuse(refusal)
        except httptools.HttpParserUpgrade:
            pass  # no protocol upgrades: the request is answered as plain HTTP
        except httptools.HttpParserError as error:  # a callback's error too (a non-ASCII path)
            cause = error.__context__
            if not isinstance(cause, _RefusedError):
                cause = _RefusedError(400, "malformed_request", "the request is not valid HTTP")
            self._refuse(cause)

    # --- parser callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_started = True

    def on_headers_complete(self) -> None:
        settings = self.edge.settings
        if len(self.headers) > settings.max_headers:
            raise _RefusedError(
                431, "too_many_headers", f"more than {settings.max_headers} header fields"
            )
        if len(self.connections) > settings.max_connections:
            raise _RefusedError(
                503,
                "over_capacity",
                f"more than {settings.max_connections} connections are open; try again",
            )
        self._reading_head = False
        self._cancel_head_timer()
        super().on_headers_complete()
        if self.cycle is not None:
            self.cycle.transport = _LingeringClose(self.transport, self)  # type: ignore[assignment]  # a proxy, not a Transport subclass: close() lingers, the rest delegates

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_head = True
        self._request_started = False
        self._head_bytes = 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()

    # --- timers and refusals ---------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(
            self.edge.settings.header_timeout_s, self._head_timed_out
        )

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._reading_head and self._request_started:
            timeout = self.edge.settings.header_timeout_s
            self._refuse(
                _RefusedError(
                    408, "request_timeout", f"the headers did not arrive within {timeout:g} s"
                )
            )
        else:  # idle, or still sending the body of a request already answered
            self.transport.close()

    def close_after_request(self) -> None:
        """Close now, or linger if the client may still be sending this request's body."""
        if self._reading_head or self.transport.is_closing():
            self.transport.close()
        else:
            self._linger()

    def _linger(self) -> None:
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()

    def _refuse(self, refusal: _RefusedError) -> None:
        """Answer, stop reading requests, and close once the client stopped sending."""
        self._refused = True
        self._cancel_head_timer()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.edge.metrics.count_response(refusal.status)
        if refusal.status != 408:
            logger.debug("refused a request: %s", refusal.message)
        answer = error_response(refusal.status, refusal.code, refusal.message)
        phrase = http.HTTPStatus(refusal.status).phrase
        head = [f"HTTP/1.1 {refusal.status} {phrase}"]
        head += [f"{name}: {value}" for name, value in answer.headers.items()]
        head += [f"content-length: {len(answer.body)}", "connection: close", "", ""]
        self.transport.write("\r\n".join(head).encode() + answer.body)
        self._linger()


class _LingeringClose:
    """The connection as a request cycle sees it: closing it may linger (see the module)."""

    def __init__(self, transport: asyncio.Transport, protocol: EdgeProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    def close(self) -> None:
        self._protocol.close_after_request()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
