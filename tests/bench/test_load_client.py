"""The benchmark's load client against a small HTTP/1.1 server on a free port.

The server answers a batch the way the ingest does: ``accepted``, ``rejected`` and
``discarded`` counts for the events of the body. Here every event whose ``keep`` is false is
discarded, so the accepted total is known in advance.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from conftest import free_port

from bench.load_client import LoadError, encode_requests, run_load


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    status = 200
    lie_about_counts = False
    close_every = 0
    """Answer with ``connection: close`` on every n-th request of a connection (0: never)."""

    def setup(self) -> None:
        super().setup()
        self.answered = 0

    def do_POST(self) -> None:
        events = orjson.loads(self.rfile.read(int(self.headers["content-length"])))["events"]
        accepted = sum(1 for event in events if event["keep"])
        counts = {"accepted": accepted, "rejected": 0, "discarded": len(events) - accepted}
        if self.lie_about_counts:
            counts["discarded"] += 1
        body = orjson.dumps(counts | {"results": []})
        self.answered += 1
        closing = self.close_every and self.answered % self.close_every == 0
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        if closing:
            self.send_header("connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def small_server(**behaviour: object) -> Iterator[str]:
    handler = type("Handler", (_Handler,), behaviour)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/batch"
    finally:
        server.shutdown()
        server.server_close()


def bodies(batches: int, size: int) -> list[tuple[bytes, int]]:
    """Batches in which every third event is to be discarded."""
    made = []
    for batch in range(batches):
        events = [{"keep": (batch * size + index) % 3 != 0} for index in range(size)]
        made.append((orjson.dumps({"events": events}), size))
    return made


def test_the_accepted_counts_of_every_answer_are_summed() -> None:
    sent = bodies(40, 30)
    with small_server() as url:
        result = run_load(url, encode_requests(url, sent), connections=4)
    assert result.requests == 40
    assert result.events == 1200
    assert result.accepted == 800
    assert result.discarded == 400
    assert len(result.latencies_s) == 40
    assert result.wall_s > 0 and result.client_cpu_s > 0
    assert result.rate == pytest.approx(1200 / result.wall_s)


def test_a_connection_the_server_closes_is_opened_again() -> None:
    with small_server(close_every=3) as url:
        result = run_load(url, encode_requests(url, bodies(20, 6)), connections=2)
    assert result.accepted == 80


def test_an_answer_other_than_200_stops_the_load() -> None:
    with small_server(status=503) as url, pytest.raises(LoadError, match="answered 503"):
        run_load(url, encode_requests(url, bodies(2, 3)), connections=1)


def test_counts_that_do_not_add_up_to_the_events_sent_stop_the_load() -> None:
    with small_server(lie_about_counts=True) as url, pytest.raises(LoadError, match="3 events"):
        run_load(url, encode_requests(url, bodies(2, 3)), connections=1)


def test_a_request_is_encoded_once_whole() -> None:
    (request,) = encode_requests("http://127.0.0.1:9/v1/batch", [(b'{"events":[]}', 0)])
    head, body = request.data.split(b"\r\n\r\n")
    assert head.startswith(b"POST /v1/batch HTTP/1.1\r\nhost: 127.0.0.1:9\r\n")
    assert b"content-length: 13" in head
    assert body == b'{"events":[]}'
