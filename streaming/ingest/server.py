"""The ingest as an ASGI application (Starlette), served by uvicorn.

Routes: ``POST /v1/events``, ``POST /v1/batch`` (and their CORS preflights), ``GET /healthz``,
``GET /metrics``. Uvicorn runs without access logs and without its proxy-header rewriting: the
client address is read (and truncated) by the ingest itself and never logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streaming.ingest.http_contract import (
    BATCH_PATH,
    EVENTS_PATH,
    HEALTH_PATH,
    METRICS_PATH,
    HttpRequest,
    HttpResponse,
    IngestService,
    error_response,
)
from streaming.ingest.runtime import Runtime, build_runtime
from streaming.settings import Settings


async def read_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _response(answer: HttpResponse) -> Response:
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


def create_app(
    settings: Settings, runtime_factory: Callable[[Settings], Runtime] = build_runtime
) -> Starlette:
    """The application; ``runtime_factory`` builds the producer and quarantine at startup."""
    state: dict[str, Runtime] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        runtime = await asyncio.to_thread(runtime_factory, settings)
        state["runtime"] = runtime
        try:
            yield
        finally:
            await asyncio.to_thread(runtime.close)

    async def endpoint(request: Request) -> Response:
        service: IngestService = state["runtime"].service
        body = b""
        if request.method == "POST":
            raw = await read_body(request, settings.ingest.max_body_bytes)
            if raw is None:
                limit = settings.ingest.max_body_bytes
                answer = error_response(
                    413, "body_too_large", f"the request body is larger than {limit} bytes"
                )
                service.metrics.count_response(413)
                return _response(answer)
            body = raw
        outcome = service.start(
            HttpRequest(
                method=request.method,
                path=request.url.path,
                headers=request.headers,
                body=body,
                peer_ip=request.client.host if request.client else None,
            )
        )
        if isinstance(outcome, HttpResponse):
            return _response(outcome)
        await asyncio.gather(*(asyncio.wrap_future(future) for future in outcome.futures))
        return _response(outcome.finish())

    methods = ["POST", "OPTIONS", "GET", "PUT", "DELETE", "PATCH"]
    routes = [
        Route(EVENTS_PATH, endpoint, methods=methods),
        Route(BATCH_PATH, endpoint, methods=methods),
        Route(HEALTH_PATH, endpoint, methods=["GET"]),
        Route(METRICS_PATH, endpoint, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def uvicorn_config(app: Starlette | str, host: str, port: int) -> dict[str, object]:
    return {
        "app": app,
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "log_level": "warning",
        "lifespan": "on",
    }


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    app = create_app(settings)
    uvicorn.run(**uvicorn_config(app, host or settings.ingest.host, port or settings.ingest.port))  # type: ignore[arg-type]
