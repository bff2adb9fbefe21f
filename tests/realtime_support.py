"""Shared pieces of the real-time tests: a live ingest, client events, a running consumer."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn
from conftest import free_port

from streaming.contracts.settings import Settings
from streaming.ingest.server import create_app, uvicorn_config
from streaming.realtime.consumer import RealtimeConsumer


@contextmanager
def live_ingest(settings: Settings) -> Iterator[str]:
    """The HTTP ingest on a free port, writing to the settings' stream; yields its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(**uvicorn_config(create_app(settings), "127.0.0.1", port))
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the ingest did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextmanager
def running_consumer(settings: Settings, refresh_seconds: float = 0.1) -> Iterator[Any]:
    """The consumer in a thread, stopped through its stop event; yields the consumer."""
    stop = threading.Event()
    consumer = RealtimeConsumer(settings, refresh_seconds=refresh_seconds, poll_seconds=0.05)
    failures: list[BaseException] = []

    def target() -> None:
        try:
            consumer.run(stop=stop)
        except BaseException as error:  # surfaced in the test thread
            failures.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the consumer did not stop"
        assert not failures, failures


def client_event(
    event_type: str = "page_view",
    *,
    ts: datetime | None = None,
    event_id: str | None = None,
    page: str = "/compare/crm",
    country_session: str = "s1",
    payout_cents: int = 250,
) -> dict[str, Any]:
    """A valid client event (ingest_event 1-0-0) with consent."""
    moment = (ts or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event: dict[str, Any] = {
        "schema_version": "1.0.0",
        "event_type": event_type,
        "event_id": event_id or str(uuid.uuid4()),
        "ts": moment,
        "user": {"user_id_hash": f"sha256:{country_session}", "consent": {"analytics": True}},
        "session": {"session_id": country_session, "utm": {"source": "newsletter"}},
        "ctx": {"page_url": f"https://www.example.com{page}"},
    }
    if event_type == "chart_interaction":
        event["chart"] = {"action": "sort", "control_id": "plan-price"}
    if event_type == "affiliate_click":
        event["affiliate"] = {"link_id": "l1", "target": "hubspot", "payout_cents": payout_cents}
    return event


def wait_until(condition: Any, seconds: float = 20.0, pause: float = 0.05) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(pause)
