"""The local alert reader on the real local stream: HTTP ingest → Kinesis engine → alerts.

A webhook receiver on 127.0.0.1 answers 500 for a while, clients re-send events, and the reader
is killed mid-way: every matching event ends up delivered, once per ``alert_id`` after dedup.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from conftest import aws_settings_at, free_port
from realtime_support import client_event, live_ingest, wait_until
from typer.testing import CliRunner

from clickstream_cli.main import app as cli
from streaming.alerts.reader import AlertReader, reader_status_path
from streaming.alerts.sinks import alert_log_path, dead_letter_path, read_json_lines
from streaming.contracts.settings import AlertSettings, LocalAwsSettings, Settings

MATCHING = 40
PURCHASES = 10
"""Of the matching events, purchases (half of them postbacks without a session)."""
PAYOUT_RULE = "high_payout_click"
THRESHOLD = 1000
PURCHASE_RULE = "large_purchase"
LARGE_PURCHASE = 50_000


@dataclass
class Receiver:
    """A webhook endpoint: answers 500 to the first ``failures`` requests, then 200."""

    failures: int
    delay_s: float = 0.0
    answered_500: int = 0
    taken: list[str] = field(default_factory=list)
    keys_match: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, body: bytes, key: str | None) -> int:
        document = orjson.loads(body)
        with self.lock:
            if self.answered_500 < self.failures:
                self.answered_500 += 1
                return 500
            self.taken.append(document["alert_id"])
            self.keys_match &= key == document["alert_id"]
            return 200


@contextmanager
def webhook_receiver(receiver: Receiver) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            if receiver.delay_s:
                threading.Event().wait(receiver.delay_s)
            status = receiver.handle(body, self.headers.get("idempotency-key"))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _with_alerts(settings: Settings, url: str, attempts: int = 8) -> Settings:
    alerts = AlertSettings(
        webhook_url=url, webhook_attempts=attempts, backoff_base_s=0.02, backoff_cap_s=0.2
    )
    return settings.model_copy(update={"alerts": alerts})


def _purchase(revenue_cents: int, session: str | None) -> dict[str, Any]:
    """A purchase (ingest_event 1-1-0); without a session, an affiliate network's postback."""
    event = client_event(country_session=session or "postback")
    event.pop("ctx")
    if session is None:
        event.pop("session")
    return event | {
        "schema_version": "1.1.0",
        "event_type": "purchase",
        "purchase": {
            "order_id": f"o-{event['event_id'][:8]}",
            "revenue_cents": revenue_cents,
            "currency": "EUR",
        },
    }


def _traffic() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Matching affiliate clicks and large purchases among clicks and purchases below their
    thresholds and page views; and the client re-sends of some matching ones (same event_id)."""
    clicks = [
        client_event("affiliate_click", payout_cents=THRESHOLD + n, country_session=f"s{n % 7}")
        for n in range(MATCHING - PURCHASES)
    ]
    purchases = [
        _purchase(LARGE_PURCHASE + n, f"s{n % 7}" if n % 2 else None) for n in range(PURCHASES)
    ]
    others = [
        client_event("affiliate_click", payout_cents=THRESHOLD - 1, country_session="s1"),
        _purchase(LARGE_PURCHASE - 1, "s2"),
        *(client_event(country_session=f"s{n % 7}") for n in range(20)),
    ]
    matching = clicks + purchases
    return matching + others, matching[::4]


def _post(url: str, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 25):
        answer = httpx.post(f"{url}/v1/batch", json={"events": events[start : start + 25]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == len(events[start : start + 25])


def _expected(events: list[dict[str, Any]]) -> set[str]:
    clicks = {
        f"{PAYOUT_RULE}:{event['event_id']}"
        for event in events
        if event.get("affiliate", {}).get("payout_cents", 0) >= THRESHOLD
    }
    purchases = {
        f"{PURCHASE_RULE}:{event['event_id']}"
        for event in events
        if event.get("purchase", {}).get("revenue_cents", 0) >= LARGE_PURCHASE
    }
    return clicks | purchases


@contextmanager
def running_reader(settings: Settings) -> Iterator[AlertReader]:
    stop = threading.Event()
    reader = AlertReader(settings, poll_seconds=0.02)
    failures: list[BaseException] = []

    def target() -> None:
        try:
            reader.run(stop=stop)
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield reader
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the alert reader did not stop"
        assert not failures, failures


def test_n_matching_events_with_resends_and_a_failing_webhook_give_n_alerts(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    receiver = Receiver(failures=5)
    with webhook_receiver(receiver) as hook:
        settings = _with_alerts(aws_settings_at(tmp_path / "home", local_aws), hook)
        events, resent = _traffic()
        expected = _expected(events)
        assert len(expected) == MATCHING
        with live_ingest(settings) as url, running_reader(settings) as reader:
            _post(url, events)
            _post(url, resent)  # the same event ids again: new stream records
            wait_until(lambda: set(receiver.taken) == expected, seconds=60)
            wait_until(lambda: reader.report.records_read == len(events) + len(resent))
    assert receiver.answered_500 == 5
    assert sorted(receiver.taken) == sorted(expected)  # none lost, none repeated
    assert receiver.keys_match
    logged = read_json_lines(alert_log_path(settings))
    assert sorted(document["alert_id"] for document in logged) == sorted(expected)
    assert {document["rule"] for document in logged} == {PAYOUT_RULE, PURCHASE_RULE}
    assert all(min(document["fields"].values()) >= THRESHOLD for document in logged)
    assert read_json_lines(dead_letter_path(settings)) == []
    report = reader.report
    assert (report.alerts_delivered, report.duplicates_skipped) == (MATCHING, len(resent))
    assert report.webhook_retries == 5
    status = orjson.loads(reader_status_path(settings).read_bytes())
    assert status["state"] == "stopped"

    listed = CliRunner().invoke(
        cli,
        ["alerts", "list", "--limit", "3", "--rule", PAYOUT_RULE],
        env={"CLICKSTREAM_HOME": str(settings.home)},
    )
    assert listed.exit_code == 0, listed.output
    lines = [orjson.loads(line) for line in listed.output.splitlines()]
    payout = [document["alert_id"] for document in logged if document["rule"] == PAYOUT_RULE]
    assert [line["alert_id"] for line in lines] == payout[-3:]


def test_a_webhook_that_keeps_failing_sends_alerts_to_the_dead_letter_file(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    receiver = Receiver(failures=10_000)
    with webhook_receiver(receiver) as hook:
        settings = _with_alerts(aws_settings_at(tmp_path / "home", local_aws), hook, attempts=2)
        events = [client_event("affiliate_click", payout_cents=THRESHOLD) for _ in range(3)]
        with live_ingest(settings) as url:
            _post(url, events)
        report = AlertReader(settings, poll_seconds=0.01).run(once=True)
    dead = read_json_lines(dead_letter_path(settings))
    assert sorted(document["alert_id"] for document in dead) == sorted(_expected(events))
    assert {document["reason"] for document in dead} == {"HTTP 500 after 2 attempt(s)"}
    assert (report.alerts_delivered, report.dead_lettered, receiver.answered_500) == (3, 3, 6)
    assert len(read_json_lines(alert_log_path(settings))) == 3
    # read again from the checkpoints: nothing new, nothing delivered twice
    again = AlertReader(settings, poll_seconds=0.01).run(once=True)
    assert (again.records_read, again.alerts_delivered) == (0, 0)


def _reader_process(settings: Settings, hook: str) -> subprocess.Popen[bytes]:
    environment = os.environ | {
        "CLICKSTREAM_HOME": str(settings.home),
        "CLICKSTREAM_STAGE": settings.stage,
        "CLICKSTREAM_LOCAL_AWS__PORT": str(settings.local_aws.port),
        "CLICKSTREAM_LOCAL_AWS__KINESIS_PORT": str(settings.local_aws.kinesis_port),
        "CLICKSTREAM_ALERTS__WEBHOOK_URL": hook,
        "CLICKSTREAM_ALERTS__BACKOFF_BASE_S": "0.02",
    }
    clickstream = str(Path(sys.executable).with_name("clickstream"))
    log = (settings.home.parent / "alerts-reader.log").open("ab")
    return subprocess.Popen([clickstream, "alerts", "run"], stdout=log, stderr=log, env=environment)


def test_a_reader_killed_mid_way_loses_no_alert(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    receiver = Receiver(failures=0, delay_s=0.03)
    with webhook_receiver(receiver) as hook:
        settings = aws_settings_at(tmp_path / "home", local_aws)
        events, resent = _traffic()
        expected = _expected(events)
        with live_ingest(settings) as url:
            _post(url, events + resent)
        first = _reader_process(settings, hook)
        try:
            wait_until(lambda: len(receiver.taken) >= MATCHING // 3, seconds=60)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
            assert len(set(receiver.taken)) < MATCHING  # killed before it was done
            second = _reader_process(settings, hook)
            wait_until(lambda: set(receiver.taken) == expected, seconds=60)
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0
        finally:
            for process in (first, second if "second" in locals() else None):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
    repeated = Counter(receiver.taken) - Counter(set(receiver.taken))
    assert sum(repeated.values()) <= 1  # at most the alert in hand when the reader died
    logged = {document["alert_id"] for document in read_json_lines(alert_log_path(settings))}
    assert logged == expected


@pytest.fixture(autouse=True)
def _quiet_loggers() -> None:
    import logging

    for name in ("botocore", "urllib3", "httpx", "streaming.follower"):
        logging.getLogger(name).setLevel(logging.WARNING)
