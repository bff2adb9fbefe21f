"""A lean HTTP/1.1 load client for the ingest benchmarks.

Every request is encoded once, before the clock starts: the request line, the headers and the
body as one ``bytes``, written whole to a kept-alive connection. Each connection sends its next
request when the previous answer is complete (no pipelining); answers are parsed with
httptools, every status is checked and every answer's ``accepted``, ``rejected`` and
``discarded`` counts are read and checked against the events the request carried. The client's
own CPU time (``time.process_time`` of its process) is measured with the wall clock, so a
report can say how much of the machine the load took from the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools
import orjson
import uvloop

HEADERS = {"content-type": "application/json", "x-forwarded-for": "203.0.113.77"}


class LoadError(RuntimeError):
    """The server answered something other than a complete 200 for every event sent."""


@dataclass(frozen=True)
class Request:
    data: bytes
    """The whole request: request line, headers and body."""
    events: int


@dataclass
class LoadResult:
    requests: int = 0
    events: int = 0
    accepted: int = 0
    rejected: int = 0
    discarded: int = 0
    wall_s: float = 0.0
    client_cpu_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Events per wall-clock second."""
        return self.events / self.wall_s

    @property
    def client_cpu_s_per_1000_events(self) -> float:
        return self.client_cpu_s / self.events * 1000


def encode_requests(
    url: str, bodies: Sequence[tuple[bytes, int]], headers: dict[str, str] | None = None
) -> list[Request]:
    """``(body, events in it)`` pairs as complete ``POST`` requests to ``url``."""
    parts = urlsplit(url)
    head = [f"host: {parts.netloc}", *(f"{k}: {v}" for k, v in (headers or HEADERS).items())]
    prefix = f"POST {parts.path or '/'} HTTP/1.1\r\n" + "\r\n".join(head)
    return [
        Request(f"{prefix}\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body, events)
        for body, events in bodies
    ]


class _Connection(asyncio.Protocol):
    """One kept-alive connection; :meth:`exchange` sends a request and waits for its answer."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.body: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(LoadError(f"the server's answer is not valid HTTP: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(LoadError("the server closed the connection before answering"))

    def on_body(self, chunk: bytes) -> None:
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        if self.answer is not None and not self.answer.done():
            status = self.parser.get_status_code()
            self.answer.set_result((status, b"".join(self.body), self.parser.should_keep_alive()))

    def _fail(self, error: LoadError) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(error)

    async def exchange(self, data: bytes) -> tuple[int, bytes, bool]:
        assert self.transport is not None
        self.body = []
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.answer

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _connect(host: str, port: int) -> _Connection:
    _, connection = await asyncio.get_running_loop().create_connection(_Connection, host, port)
    return connection


def _check(status: int, body: bytes, events: int, result: LoadResult) -> None:
    if status != 200:
        raise LoadError(f"the ingest answered {status}: {body[:300]!r}")
    counts = orjson.loads(body)
    accepted, rejected, discarded = counts["accepted"], counts["rejected"], counts["discarded"]
    if accepted + rejected + discarded != events:
        raise LoadError(
            f"{events} events sent, but {accepted} accepted + {rejected} rejected + "
            f"{discarded} discarded"
        )
    result.accepted += accepted
    result.rejected += rejected
    result.discarded += discarded


async def _load(url: str, requests: Sequence[Request], connections: int) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pending = list(reversed(requests))
    result = LoadResult(requests=len(requests), events=sum(r.events for r in requests))
    opened = list(await asyncio.gather(*(_connect(host, port) for _ in range(connections))))

    async def reconnect() -> _Connection:
        opened.append(await _connect(host, port))
        return opened[-1]

    async def send_all(connection: _Connection) -> None:
        while pending:
            request = pending.pop()
            if connection.closed:
                connection = await reconnect()
            sent = time.perf_counter()
            status, body, keep_alive = await connection.exchange(request.data)
            result.latencies_s.append(time.perf_counter() - sent)
            _check(status, body, request.events, result)
            if not keep_alive:
                connection.close()
                connection = await reconnect()

    cpu_before, wall_before = time.process_time(), time.perf_counter()
    try:
        await asyncio.gather(*(send_all(connection) for connection in opened[:connections]))
    finally:
        for connection in opened:
            connection.close()
    result.wall_s = time.perf_counter() - wall_before
    result.client_cpu_s = time.process_time() - cpu_before
    return result


def run_load(url: str, requests: Sequence[Request], connections: int = 16) -> LoadResult:
    """Sends every request over ``connections`` connections (uvloop); raises LoadError when
    any answer is not a 200 whose counts add up to the events its request carried."""
    return uvloop.run(_load(url, requests, connections))
