"""Generator → ``clickstream send`` → live uvicorn ingest → local Kinesis, read back."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import uvicorn
from conftest import aws_settings_at, free_port
from stream_support import dlq_bodies, quarantine_records, stream_payloads
from typer.testing import CliRunner

from clickstream_cli.main import app as cli
from streaming.contracts.schema_registry import INGEST_EVENT, UnknownSchemaError, default_registry
from streaming.contracts.settings import LocalAwsSettings, Settings, get_settings
from streaming.generator import TrafficConfig
from streaming.generator.sinks.http import send_file
from streaming.generator.sinks.jsonl import write_jsonl
from streaming.ingest.core import consent_off
from streaming.ingest.server import create_app, uvicorn_config

EVENTS = 4000


@pytest.fixture
def live_ingest(tmp_path: Path, local_aws: LocalAwsSettings) -> Iterator[tuple[Settings, str]]:
    settings = aws_settings_at(tmp_path / "home", local_aws)
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
        yield settings, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def generated_file(path: Path) -> list[bytes]:
    config = TrafficConfig(
        events=EVENTS, seed=23, start=datetime(2026, 11, 1, tzinfo=UTC), invalid_share=0.03
    )
    with path.open("wb") as handle:
        write_jsonl(config, handle)
    return path.read_bytes().splitlines()


def expected_outcome(payload: object) -> str:
    if isinstance(payload, dict) and consent_off(payload):
        return "discarded"
    if not isinstance(payload, dict) or len(orjson.dumps(payload)) > 32 * 1024:
        return "rejected"
    try:
        schema = default_registry().resolve(INGEST_EVENT, payload.get("schema_version"))
    except UnknownSchemaError:
        return "rejected"
    return "accepted" if schema.is_valid(payload) else "rejected"


def test_generated_traffic_through_http_lands_exactly_once(
    live_ingest: tuple[Settings, str], tmp_path: Path
) -> None:
    settings, url = live_ingest
    lines = generated_file(tmp_path / "events.jsonl")
    payloads = [orjson.loads(line) for line in lines]
    outcomes = Counter(expected_outcome(p) for p in payloads)
    assert outcomes["rejected"] > 0 and outcomes["discarded"] > 0
    advanced: list[int] = []
    report = send_file(lines, url, batch_size=100, concurrency=4, progress=advanced.append)
    assert report.http_errors == 0
    assert report.events_sent == sum(advanced) == len(lines)
    assert (report.accepted, report.rejected, report.discarded) == (
        outcomes["accepted"],
        outcomes["rejected"],
        outcomes["discarded"],
    )
    on_stream = stream_payloads(settings)
    assert len(on_stream) == outcomes["accepted"]
    client_ids = Counter(
        p["event_id"] for p in payloads if expected_outcome(p) == "accepted" and "event_id" in p
    )
    assigned = outcomes["accepted"] - sum(client_ids.values())
    stream_ids = Counter(p["event_id"] for p in on_stream)
    assert stream_ids & client_ids == client_ids  # each client id, as often as it was sent
    assigned_ids = stream_ids - client_ids
    assert sum(assigned_ids.values()) == assigned
    assert set(assigned_ids.values()) <= {1}
    quarantined = quarantine_records(settings)
    assert len(quarantined) == outcomes["rejected"]
    rejected_payloads = sorted(
        orjson.dumps(p) for p in payloads if expected_outcome(p) == "rejected"
    )
    assert sorted(q["payload"].encode() for q in quarantined) == rejected_payloads
    assert dlq_bodies(settings) == []
    consent_off_sessions = {
        (p.get("session") or {}).get("session_id")
        for p in payloads
        if expected_outcome(p) == "discarded"
    } - {None}
    assert not consent_off_sessions & {
        (p.get("session") or {}).get("session_id") for p in on_stream
    }


def test_send_and_dlq_replay_commands(
    live_ingest: tuple[Settings, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, url = live_ingest
    file = tmp_path / "few.jsonl"
    file.write_bytes(
        b'{"event_type":"page_view","ts":"2025-08-20T20:20:20Z","user":{"consent":{"analytics":true}}}\n'
        b'{"event_type":"nope","ts":"2025-08-20T20:20:20Z","user":{"consent":{"analytics":true}}}\n'
        b'{"event_type":"page_view","ts":"2025-08-20T20:20:20Z","user":{"consent":{"analytics":false}}}\n'
    )
    monkeypatch.setenv("CLICKSTREAM_HOME", str(settings.home))
    monkeypatch.setenv("CLICKSTREAM_STAGE", settings.stage)
    monkeypatch.setenv("CLICKSTREAM_LOCAL_AWS__PORT", str(settings.local_aws.port))
    monkeypatch.setenv("CLICKSTREAM_LOCAL_AWS__KINESIS_PORT", str(settings.local_aws.kinesis_port))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        sent = runner.invoke(cli, ["send", str(file), "--url", url, "--quiet", "--batch-size", "2"])
        assert sent.exit_code == 0, sent.output
        assert "accepted" in sent.output
        assert len(stream_payloads(settings)) == 1
        replayed = runner.invoke(cli, ["dlq", "replay"])
        assert replayed.exit_code == 0, replayed.output
        assert "replayed 0" in replayed.output
    finally:
        get_settings.cache_clear()


def test_generator_http_sink_is_answered_per_event(live_ingest: tuple[Settings, str]) -> None:
    """``clickstream generate --http``: per-session batches with the CDN's headers."""
    from streaming.generator.sinks.http import send_http

    settings, url = live_ingest
    config = TrafficConfig(events=600, seed=5, start=datetime(2026, 11, 1, tzinfo=UTC))
    summary = send_http(config, url, concurrency=4)
    sink = summary.sink
    assert sink["http_errors"] == 0
    assert sink["unacknowledged"] == 0
    assert sink["accepted"] + sink["rejected"] + sink["discarded"] == 600
    landed = stream_payloads(settings)
    assert len(landed) == sink["accepted"]
    assert all(record["privacy"]["source_ip_anonymized"] for record in landed)
    assert {record["source"] for record in landed} <= {"web", "server"}


def test_sent_events_are_delivered_to_the_landing_store_exactly(
    live_ingest: tuple[Settings, str], tmp_path: Path
) -> None:
    """HTTP ingest → Kinesis → Firehose-equivalent delivery → landing: the landed bronze objects
    hold exactly the accepted events, quarantine exactly the rejected ones, and no landed byte
    holds a client's raw IP."""
    from streaming.contracts.landing import decode_records, landing_store
    from streaming.delivery.service import deliver

    settings, url = live_ingest
    lines = generated_file(tmp_path / "events.jsonl")
    payloads = [orjson.loads(line) for line in lines]
    outcomes = Counter(expected_outcome(p) for p in payloads)
    report = send_file(lines, url, batch_size=100, concurrency=4)
    assert (report.accepted, report.rejected, report.discarded) == (
        outcomes["accepted"],
        outcomes["rejected"],
        outcomes["discarded"],
    )
    delivered = deliver(settings, once=True, buffer_seconds=0.5)
    assert delivered.error_records == 0

    store = landing_store(settings)
    bronze_ids: Counter[str] = Counter()
    raw_bytes = b""
    for landed in store.list(settings.landing_bronze_prefix + "/"):
        body = store.get(landed.key)
        records = decode_records(body)
        assert all(landed.key.startswith(f"bronze/events_type={r['event_type']}/") for r in records)
        bronze_ids.update(r["event_id"] for r in records)
        raw_bytes += b"\n".join(orjson.dumps(r) for r in records)
    stream_ids = Counter(p["event_id"] for p in stream_payloads(settings))
    assert bronze_ids == stream_ids
    assert sum(bronze_ids.values()) == outcomes["accepted"]
    assert len(quarantine_records(settings)) == outcomes["rejected"]
    for quarantined in store.list(settings.landing_quarantine_prefix + "/"):
        raw_bytes += store.get(quarantined.key)
    # the file's events carry no forwarding headers: the ingest saw the sender's own address
    assert b"127.0.0.1" not in raw_bytes
    assert b'"source_ip_anonymized":"127.0.0.0"' in raw_bytes


def test_generate_posts_its_traffic_to_the_ingest(live_ingest: tuple[Settings, str]) -> None:
    settings, url = live_ingest
    result = CliRunner().invoke(
        cli,
        ["generate", "--events", "300", "--seed", "5", "--http", url, "--workers", "1", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    on_stream = stream_payloads(settings)
    assert 0 < len(on_stream) <= 300
    assert {payload["event_type"] for payload in on_stream} <= {
        "page_view",
        "chart_interaction",
        "affiliate_click",
    }
