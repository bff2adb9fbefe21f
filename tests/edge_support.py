"""A live ingest server (uvicorn with the edge protocol) in a thread, and raw HTTP exchanges
with it: whatever bytes a hostile client sends, read back with h11 as a client would."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import h11
import orjson
import uvicorn
from conftest import free_port

from streaming.contracts.settings import Settings
from streaming.ingest.server import create_app, uvicorn_config

READ_TIMEOUT_S = 60.0
"""Only a safety net: every exchange ends when the server answers or closes."""


@contextmanager
def live_server(settings: Settings) -> Iterator[int]:
    """``clickstream ingest serve``'s server and application on a free port of 127.0.0.1."""
    port = free_port()
    config = uvicorn_config(create_app(settings), "127.0.0.1", port, settings.ingest)
    server = uvicorn.Server(uvicorn.Config(**config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the ingest did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class Answer:
    status: int | None = None
    """None: the connection ended without an answer."""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    closed: bool = False
    """The server closed the connection after answering (or without answering)."""
    reset: bool = False

    def json(self) -> Any:
        return orjson.loads(self.body)


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT_S)


def send_in_background(sock: socket.socket, data: bytes) -> threading.Thread:
    """Sends like a client that does not wait to be answered (errors once refused are fine)."""

    def send() -> None:
        with suppress(OSError):
            sock.sendall(data)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def read_answer(sock: socket.socket, method: str = "POST", *, until_closed: bool = False) -> Answer:
    """The next answer on ``sock``; with ``until_closed``, also waits for the server's FIN.

    A ``connection: close`` answer is always followed to the end of the connection.
    """
    parser = h11.Connection(our_role=h11.CLIENT)
    parser.send(h11.Request(method=method, target="/", headers=[("host", "ingest")]))
    parser.send(h11.EndOfMessage())
    answer = Answer()
    complete = False
    while True:
        if complete and not (until_closed or answer.headers.get("connection") == "close"):
            return answer
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            answer.reset = True
            answer.closed = True
            return answer
        if not data:
            answer.closed = True
            if not complete:
                parser.receive_data(b"")
                _drain(parser, answer)
            return answer
        if complete:
            continue  # bytes after the answer: a client would not read them
        parser.receive_data(data)
        complete = _drain(parser, answer)


def read_answers(sock: socket.socket, count: int) -> list[Answer]:
    """The next ``count`` answers on ``sock``, as a client that sent ``count`` requests at once
    (pipelined) reads them: in order, each from where the last one ended."""
    answers: list[Answer] = []
    unread = b""
    while len(answers) < count:
        parser = h11.Connection(our_role=h11.CLIENT)
        parser.send(h11.Request(method="POST", target="/", headers=[("host", "ingest")]))
        parser.send(h11.EndOfMessage())
        answer = Answer()
        data = unread
        while True:
            if data:
                parser.receive_data(data)
                if _drain(parser, answer):
                    break
            data = sock.recv(65536)
            if not data:
                answer.closed = True
                return [*answers, answer]
        unread = parser.trailing_data[0]
        answers.append(answer)
    return answers


def _drain(parser: h11.Connection, answer: Answer) -> bool:
    while True:
        try:
            event = parser.next_event()
        except h11.RemoteProtocolError:
            return False
        if event is h11.NEED_DATA or event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
            return False
        if isinstance(event, h11.Response):
            answer.status = event.status_code
            answer.headers = {name.decode(): value.decode() for name, value in event.headers}
        elif isinstance(event, h11.Data):
            answer.body += bytes(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return True


def exchange(port: int, request: bytes, method: str = "POST") -> Answer:
    """Send ``request`` on a new connection and read the answer."""
    with connect(port) as sock:
        sender = send_in_background(sock, request)
        answer = read_answer(sock, method)
        sender.join(timeout=READ_TIMEOUT_S)
        return answer


def http_request(
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    content_length: bool = True,
) -> bytes:
    """An HTTP/1.1 request as bytes (headers exactly as given, Host first)."""
    lines = [f"{method} {path} HTTP/1.1", "host: ingest"]
    all_headers = {"content-type": "application/json"} if body else {}
    all_headers |= headers or {}
    if content_length and body and "transfer-encoding" not in all_headers:
        all_headers.setdefault("content-length", str(len(body)))
    lines += [f"{name}: {value}" for name, value in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
