"""The ingest as an ASGI application, served by uvicorn.

Every path and method goes to :class:`streaming.ingest.http_contract.IngestService`, which
answers unknown paths (404) and methods (405) in JSON like everything else; there is no
framework router, so no redirect and no plain-text answer. Uvicorn runs without access logs and
without its proxy-header rewriting: the client address is read (and truncated) by the ingest
itself and never logged. :class:`streaming.ingest.edge.EdgeProtocol` bounds the headers and
the connections; this module bounds the body (size and read time).
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from streaming.contracts.settings import IngestSettings, Settings
from streaming.ingest.edge import EDGE_STATE, EdgeProtocol, EdgeState
from streaming.ingest.http_contract import (
    HEALTH_PATH,
    HttpRequest,
    HttpResponse,
    IngestService,
    error_response,
)
from streaming.ingest.runtime import Runtime, build_runtime

CLIENT_CLOSED_REQUEST = 499
"""Counted (as nginx logs it) when a client disconnects before its request was read."""
logger = logging.getLogger(__name__)


class BodyTimeoutError(Exception):
    pass


async def read_body(request: Request, limit: int, timeout_s: float) -> bytes | None:
    """The raw body, or None as soon as it is known to exceed ``limit`` bytes.

    Raises BodyTimeoutError when the body is not complete within ``timeout_s``, and
    starlette's ClientDisconnect when the client goes away first.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
    except TimeoutError:
        raise BodyTimeoutError from None
    return b"".join(chunks)


async def _send(answer: HttpResponse, send: Send) -> None:
    headers = [(name.encode(), value.encode()) for name, value in answer.headers.items()]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


class IngestApp:
    """ASGI application; ``runtime_factory`` builds the producer and quarantine at startup."""

    def __init__(
        self,
        settings: Settings,
        runtime_factory: Callable[[Settings], Runtime] = build_runtime,
        *,
        freeze_at_startup: bool = False,
    ) -> None:
        self.settings = settings
        self.runtime_factory = runtime_factory
        self.runtime: Runtime | None = None
        self.freeze_at_startup = freeze_at_startup
        """Move every object alive once started out of the garbage collector's reach (what
        startup built lives as long as the process); for a process that serves only this."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    runtime = await asyncio.to_thread(self.runtime_factory, self.settings)
                except Exception as error:
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                self.runtime = runtime
                if self.freeze_at_startup:
                    gc.freeze()
                if "state" in scope:
                    scope["state"][EDGE_STATE] = EdgeState(
                        self.settings.ingest, runtime.service.metrics
                    )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.runtime is not None:
                    await asyncio.to_thread(self.runtime.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.runtime is None:
            answer = error_response(
                503, "starting", "the ingest is starting", **{"retry-after": "1"}
            )
            await _send(answer, send)
            return
        service = self.runtime.service
        try:
            answer = await self._answer(service, Request(scope, receive))
        except ClientDisconnect:
            service.metrics.count_response(CLIENT_CLOSED_REQUEST)
            return
        except Exception:
            logger.exception("the ingest failed to answer a request")
            service.metrics.count_response(500)
            answer = error_response(500, "internal_error", "the ingest failed; send it again")
        await _send(answer, send)

    async def _answer(self, service: IngestService, request: Request) -> HttpResponse:
        limits: IngestSettings = self.settings.ingest
        body = b""
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                raw = await read_body(request, limits.max_body_bytes, limits.body_timeout_s)
            except BodyTimeoutError:
                service.metrics.count_response(408)
                message = f"the body did not arrive within {limits.body_timeout_s:g} s"
                return error_response(408, "request_timeout", message, connection="close")
            if raw is None:
                service.metrics.count_response(413)
                message = f"the request body is larger than {limits.max_body_bytes} bytes"
                return error_response(413, "body_too_large", message)
            body = raw
        http_request = HttpRequest(
            method=request.method,
            path=request.url.path,
            headers=request.headers,
            body=body,
            peer_ip=request.client.host if request.client else None,
            forwarded_for=request.headers.getlist("x-forwarded-for"),
        )
        if http_request.path.rstrip("/") == HEALTH_PATH:  # may ask the stream: off the loop
            outcome = await asyncio.to_thread(service.start, http_request)
        else:
            outcome = service.start(http_request)
        if isinstance(outcome, HttpResponse):
            return outcome
        await asyncio.gather(*(asyncio.wrap_future(future) for future in outcome.futures))
        return outcome.finish()


def create_app(
    settings: Settings,
    runtime_factory: Callable[[Settings], Runtime] = build_runtime,
    *,
    freeze_at_startup: bool = False,
) -> IngestApp:
    return IngestApp(settings, runtime_factory, freeze_at_startup=freeze_at_startup)


def uvicorn_config(
    app: IngestApp | str, host: str, port: int, limits: IngestSettings | None = None
) -> dict[str, Any]:
    limits = limits or IngestSettings()
    return {
        "app": app,
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": EdgeProtocol,
        "ws": "none",
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "log_level": "warning",
        "lifespan": "on",
        "timeout_keep_alive": limits.keep_alive_timeout_s,
        "backlog": max(2048, limits.max_connections),
    }


APP_FACTORY = "streaming.ingest.server:app_from_settings"
"""What each worker of :func:`serve` imports and calls to build its application."""


def app_from_settings() -> IngestApp:
    from streaming.contracts.settings import get_settings

    return create_app(get_settings(), freeze_at_startup=True)


def serve(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    app_factory: str = APP_FACTORY,
) -> None:
    """``settings.ingest.workers`` processes on one port; each builds its application with
    ``app_factory`` (an import string) from the settings it reads itself."""
    import uvicorn

    _ = settings.hmac_key  # created once here, not raced for by the workers
    config = uvicorn_config(
        app_factory,
        host or settings.ingest.host,
        port or settings.ingest.port,
        settings.ingest,
    )
    uvicorn.run(**config, factory=True, workers=settings.ingest.workers)
