"""Faults of the local stream: nothing acknowledged is lost, nothing is duplicated after dedup.

Each case runs the real local stack (the Kinesis engine, moto, the HTTP ingest, delivery and the
real-time consumer as processes, supervised as ``make dev`` runs them), sends traffic over HTTP,
and ``kill -9``s one process while the traffic flows. The supervisor restarts it; every event the
ingest answered 2xx must land in the landing store (bronze) and reach the real-time marts, each
exactly once after dedup by ``event_id``. A last case answers bursts of GetRecords calls with
HTTP 500 through a proxy in front of the engine.
"""

from __future__ import annotations

import http.client
import itertools
import os
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aws_fixtures import free_port, free_ports, landed_ids, local_settings, put_events
from realtime_support import client_event, wait_until

from streaming.contracts.aws_clients import client
from streaming.contracts.settings import IngestSettings, LocalAwsSettings, Settings
from streaming.delivery import Delivery
from streaming.follower import read_follower_status
from streaming.ingest.runtime import kinesis_producer
from streaming.local_aws import LocalAws, ensure_resources, local_aws_running
from streaming.local_stack import LocalStack
from streaming.producer.dead_letters import DeadLetterQueue, replay_dead_letters
from streaming.realtime.store import open_realtime

EVENTS = 6_000
BATCH = 100
KILL_AFTER_ACKED = 1_500
SETTLE_SECONDS = 180.0


@dataclass
class Traffic:
    """A client that sends batches until each is answered 2xx, as an SDK retries."""

    url: str
    sent: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    failed_requests: int = 0
    refused: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=30) as http:
            for _ in range(EVENTS // BATCH):
                batch = [client_event(country_session=f"s{n % 97}") for n in range(BATCH)]
                self.sent.update(event["event_id"] for event in batch)
                for _attempt in range(600):
                    try:
                        answer = http.post(f"{self.url}/v1/batch", json={"events": batch})
                    except httpx.HTTPError:
                        answer = None
                    if answer is not None and 400 <= answer.status_code < 500:
                        self.refused.append(answer.text)
                        self.done.set()
                        return
                    if answer is not None and answer.status_code == 200:
                        results = answer.json()["results"]
                        self.acknowledged.update(
                            result["event_id"]
                            for result in results
                            if result["status"] == "accepted"
                        )
                        break
                    self.failed_requests += 1
                    self.done.wait(0.1)
        self.done.set()


def _stack_settings(home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = local_settings(home, stage="faults", ingest=IngestSettings(port=free_port()))
    for name, value in {
        "CLICKSTREAM_ENV": "local",
        "CLICKSTREAM_HOME": str(home),
        "CLICKSTREAM_STAGE": "faults",
        "CLICKSTREAM_LOCAL_AWS__PORT": str(settings.local_aws.port),
        "CLICKSTREAM_LOCAL_AWS__KINESIS_PORT": str(settings.local_aws.kinesis_port),
        "CLICKSTREAM_INGEST__PORT": str(settings.ingest.port),
    }.items():
        monkeypatch.setenv(name, value)
    return settings


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    settings = _stack_settings(tmp_path / "home", monkeypatch)
    notices: list[str] = []
    stack = LocalStack(settings, delivery_buffer_seconds=1.0, on_notice=notices.append)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def _victim_pid(stack: LocalStack, victim: str) -> int:
    if victim == "kinesis":
        pid = LocalAws(stack.settings).kinesis.running_pid()
        assert pid is not None
        return pid
    (service,) = [service for service in stack.services if service.name == victim]
    assert service.process is not None
    return service.process.pid


def _restarted(stack: LocalStack, victim: str, old_pid: int) -> bool:
    if victim == "kinesis":
        return LocalAws(stack.settings).kinesis.running_pid() not in (None, old_pid)
    return stack.restarts.get(victim, 0) >= 1


def _replay_dead_letters(settings: Settings) -> int:
    """What `clickstream dlq replay` does, for records the ingest dead-lettered while the
    stream was gone."""
    dlq = DeadLetterQueue.named(client(settings, "sqs"), settings.dlq_name)
    producer = kinesis_producer(settings, with_dead_letters=False)
    try:
        report = replay_dead_letters(dlq, producer)
    finally:
        producer.close()
    assert report.failed == report.unreadable == 0
    return report.replayed


def _realtime_ids(settings: Settings) -> Counter[str]:
    with open_realtime(settings) as conn:
        rows = conn.execute("select event_id from rt.events").fetchall()
    return Counter(row[0] for row in rows)


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["kinesis", "ingest", "delivery", "realtime"])
def test_kill_9_of_one_process_loses_nothing_acknowledged(stack: LocalStack, victim: str) -> None:
    settings = stack.settings
    traffic = Traffic(settings.ingest_url)
    sender = threading.Thread(target=traffic.run, daemon=True)
    sender.start()
    wait_until(
        lambda: traffic.refused or len(traffic.acknowledged) >= KILL_AFTER_ACKED, SETTLE_SECONDS
    )
    assert not traffic.refused
    pid = _victim_pid(stack, victim)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: _restarted(stack, victim, pid), SETTLE_SECONDS, pause=0.2)
    sender.join(timeout=SETTLE_SECONDS)
    assert traffic.done.is_set(), "the traffic never finished"
    assert not traffic.refused

    replayed = _replay_dead_letters(settings)
    wait_until(lambda: set(landed_ids(settings)) >= traffic.acknowledged, SETTLE_SECONDS, pause=0.5)
    wait_until(lambda: set(_realtime_ids(settings)) >= traffic.acknowledged, SETTLE_SECONDS)

    landed = landed_ids(settings)
    realtime = _realtime_ids(settings)
    lost = traffic.acknowledged - set(landed)
    unknown = set(landed) - traffic.sent
    duplicated_after_dedup = sum(count - 1 for count in Counter(set(landed)).values())
    print(
        f"\nkill -9 {victim}: sent {len(traffic.sent):,}, acknowledged "
        f"{len(traffic.acknowledged):,}, landed {len(set(landed)):,} distinct "
        f"({sum(landed.values()):,} copies), lost {len(lost)}, duplicated after dedup "
        f"{duplicated_after_dedup}, real time {len(realtime):,} distinct "
        f"(max copies {max(realtime.values())}), failed requests {traffic.failed_requests}, "
        f"replayed from the DLQ {replayed}"
    )
    assert lost == set()
    assert unknown == set()
    assert duplicated_after_dedup == 0
    assert set(realtime) >= traffic.acknowledged
    assert set(realtime.values()) == {1}  # the marts dedup by event_id
    assert len(traffic.acknowledged) > KILL_AFTER_ACKED  # traffic flowed across the kill


# --- 5xx bursts between a reader and the engine ------------------------------------------------


class FaultyProxy(ThreadingHTTPServer):
    """Forwards Kinesis calls to the engine, answering every ``period``-th run of ``burst``
    GetRecords calls with HTTP 500 instead."""

    daemon_threads = True

    def __init__(self, engine_port: int, *, burst: int, period: int) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.engine_port = engine_port
        self.burst = burst
        self.period = period
        self.calls = itertools.count()
        self.injected = 0
        self.lock = threading.Lock()

    def inject(self) -> bool:
        with self.lock:
            call = next(self.calls)
            failing = call % self.period < self.burst
            self.injected += failing
            return failing


class _ProxyHandler(BaseHTTPRequestHandler):
    server: FaultyProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        target = self.headers.get("x-amz-target", "")
        if target.endswith(".GetRecords") and self.server.inject():
            self._answer(500, b'{"__type":"InternalFailure","message":"injected"}', {})
            return
        engine = http.client.HTTPConnection("127.0.0.1", self.server.engine_port, timeout=30)
        headers = {name: value for name, value in self.headers.items() if name != "Host"}
        engine.request("POST", self.path, body, headers)
        answer = engine.getresponse()
        self._answer(answer.status, answer.read(), dict(answer.getheaders()))
        engine.close()

    def _answer(self, status: int, body: bytes, headers: dict[str, Any]) -> None:
        self.send_response(status)
        self.send_header("content-type", headers.get("Content-Type", "application/x-amz-json-1.1"))
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_bursts_of_5xx_on_get_records_are_retried_without_loss_or_repeat(
    tmp_path: Path,
) -> None:
    ports = free_ports()
    direct = local_settings(tmp_path / "home", ports)
    with local_aws_running(direct):
        ensure_resources(direct)
        proxy = FaultyProxy(ports.kinesis_port, burst=4, period=7)
        serving = threading.Thread(target=proxy.serve_forever, daemon=True)
        serving.start()
        through_proxy = local_settings(
            tmp_path / "home",
            LocalAwsSettings(port=ports.port, kinesis_port=proxy.server_address[1]),
        )
        batch = [
            {"event_id": str(uuid.uuid4()), "event_type": "page_view", "session": {}, "n": n}
            for n in range(3_000)
        ]
        for start in range(0, len(batch), 500):
            put_events_with_keys(direct, batch[start : start + 500])
        delivery = Delivery(through_proxy, buffer_seconds=0.2, poll_seconds=0.01)
        runner = threading.Thread(target=delivery.run, daemon=True)
        runner.start()
        try:
            wait_until(lambda: len(landed_ids(direct)) >= len(batch), SETTLE_SECONDS, pause=0.2)
        finally:
            delivery.stop()
            runner.join(timeout=60)
            proxy.shutdown()
        status = read_follower_status(direct, "delivery")
    landed = landed_ids(direct)
    assert landed == Counter(event["event_id"] for event in batch)  # none lost, none twice
    assert proxy.injected > 0
    assert status is not None
    assert sum(shard["retries"] for shard in status["shards"]) >= proxy.injected > 0
    assert not runner.is_alive()


def put_events_with_keys(settings: Settings, events: list[dict[str, Any]]) -> None:
    for n, event in enumerate(events):
        event["session"] = {"session_id": f"session-{n % 31}"}
    put_events(settings, events)
