"""The traffic generator: deterministic, exact, realistic and dirty in the proportions asked."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from typer.testing import CliRunner

from clickstream_cli.commands.generate import generate as generate_command
from streaming.contracts.landing import LocalLandingStore, decode_records
from streaming.contracts.schema_registry import (
    INGEST_EVENT,
    PRODUCER_EVENT,
    UnknownSchemaError,
    default_registry,
)
from streaming.contracts.settings import Settings
from streaming.enrichment import is_bot_user_agent, rekey_user_id_hash
from streaming.generator import (
    INVALID_KINDS,
    GeneratedEvent,
    GenerationSummary,
    TrafficConfig,
    generate,
    generate_segments,
    generate_slices,
)
from streaming.generator.determinism import apportion
from streaming.generator.sinks.http import MAX_BATCH_EVENTS, batches, send_http
from streaming.generator.sinks.jsonl import write_jsonl
from streaming.generator.sinks.landing import segments_key, write_landing
from streaming.generator.summary import Tally

START = datetime(2026, 11, 1, tzinfo=UTC)
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SHARES = {
    "consent_off": 0.03,
    "bot": 0.02,
    "duplicate_of_earlier": 0.01,
    "late": 0.01,
    "sessionless": 0.01,
}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CLIENT_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
BRONZE_KEY = re.compile(
    r"^bronze/events_type=(page_view|chart_interaction|affiliate_click)/"
    r"ingest_dt=\d{4}-\d{2}-\d{2}/hour=\d{2}/"
    r"clickstream-dev-bronze-delivery-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}\.gz$"
)
QUARANTINE_KEY = re.compile(
    r"^quarantine/ingest_dt=\d{4}-\d{2}-\d{2}/hour=\d{2}/"
    r"clickstream-dev-bronze-delivery-1-[0-9-]{19}-[0-9a-f-]{36}\.gz$"
)


def _ts_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def _is_valid(payload: Any) -> bool:
    version = payload.get("schema_version") if isinstance(payload, dict) else None
    try:
        return default_registry().resolve(INGEST_EVENT, version).is_valid(payload)
    except UnknownSchemaError:
        return False


# --- one pass over a day of 200k events, reduced to what the tests look at ---------------------


@dataclass
class DayFacts:
    events: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    invalid_kinds: Counter[str] = field(default_factory=Counter)
    valid_but_rejected: list[dict[str, Any]] = field(default_factory=list)
    invalid_but_accepted: list[dict[str, Any]] = field(default_factory=list)
    event_types: Counter[str] = field(default_factory=Counter)
    chart_value_types: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    hours: Counter[int] = field(default_factory=Counter)
    missing_viewer_country: int = 0
    bad_ids_or_ts: int = 0
    first_payload_digest: dict[str, bytes] = field(default_factory=dict)
    duplicates_without_earlier: int = 0
    duplicates_differing: int = 0
    late_delays_ms: list[int] = field(default_factory=list)
    late_crossing_midnight: int = 0
    on_time_max_delay_ms: int = 0
    sessionless_problems: int = 0
    server_times_by_user: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    bot_user_agents: set[str] = field(default_factory=set)
    human_user_agents: set[str] = field(default_factory=set)
    session_days: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    consent_off_with_analytics: int = 0
    payouts: list[int] = field(default_factory=list)
    utm_sessions: set[str] = field(default_factory=set)
    ipv6_clients: int = 0
    summary: GenerationSummary | None = None


@pytest.fixture(scope="module")
def day() -> DayFacts:
    facts = DayFacts()
    config = TrafficConfig(events=200_000, seed=11, start=START)
    tally = Tally()
    for output in generate_slices(config, workers=2):
        tally += output.tally
        for event in output.events:
            _observe(facts, event)
    facts.summary = GenerationSummary.from_tally(config, tally)
    return facts


def _observe(facts: DayFacts, event: GeneratedEvent) -> None:
    payload = event.payload
    facts.events += 1
    for label in SHARES:
        facts.labels[label] += getattr(event, label)
    valid = _is_valid(payload)
    session = payload.get("session")
    if isinstance(session, dict) and isinstance(session.get("session_id"), str):
        facts.session_days[session["session_id"]].add(event.ts_ms // DAY_MS)
    if event.invalid_kind is not None:
        facts.invalid_kinds[event.invalid_kind] += 1
        if valid:
            facts.invalid_but_accepted.append(payload)
        return
    if not valid:
        facts.valid_but_rejected.append(payload)
    facts.event_types[payload["event_type"]] += 1
    facts.hours[(event.ts_ms // HOUR_MS) % 24] += 1
    facts.missing_viewer_country += event.viewer_country is None
    facts.ipv6_clients += ":" in event.client_ip
    if not UUID.match(payload["event_id"]) or not TS.match(payload["ts"]):
        facts.bad_ids_or_ts += 1
    digest = hashlib.sha256(orjson.dumps(payload)).digest()
    if event.duplicate_of_earlier:
        earlier = facts.first_payload_digest.get(payload["event_id"])
        facts.duplicates_without_earlier += earlier is None
        facts.duplicates_differing += earlier is not None and earlier != digest
    else:
        facts.first_payload_digest.setdefault(payload["event_id"], digest)
    _observe_delivery(facts, event)
    _observe_content(facts, event)


def _observe_delivery(facts: DayFacts, event: GeneratedEvent) -> None:
    payload = event.payload
    delay = event.arrival_ms - _ts_ms(payload["ts"])
    if event.late:
        facts.late_delays_ms.append(delay)
        facts.late_crossing_midnight += event.arrival_ms // DAY_MS != event.ts_ms // DAY_MS
    elif not event.duplicate_of_earlier:
        facts.on_time_max_delay_ms = max(facts.on_time_max_delay_ms, delay)
    session_id = (payload.get("session") or {}).get("session_id")
    user_hash = payload["user"].get("user_id_hash")
    if event.sessionless:
        facts.sessionless_problems += (
            session_id is not None or not user_hash or event.source != "server"
        )
        if not event.duplicate_of_earlier:
            facts.server_times_by_user[user_hash].append(event.ts_ms)
    else:
        facts.sessionless_problems += session_id is None or event.source != "web"


def _observe_content(facts: DayFacts, event: GeneratedEvent) -> None:
    payload = event.payload
    session_id = (payload.get("session") or {}).get("session_id")
    if session_id is not None and "utm" in payload["session"]:
        facts.utm_sessions.add(session_id)
    agent = payload["ctx"]["user_agent"]
    (facts.bot_user_agents if event.bot else facts.human_user_agents).add(agent)
    consent = payload["user"]["consent"]
    facts.consent_off_with_analytics += event.consent_off and consent["analytics"] is not False
    if payload["event_type"] == "chart_interaction":
        value = payload["chart"]["control_value"]
        facts.chart_value_types[payload["chart"]["action"]].add(type(value).__name__)
    if payload["event_type"] == "affiliate_click":
        facts.payouts.append(payload["affiliate"]["payout_cents"])


def test_config_is_validated_with_clear_errors() -> None:
    with pytest.raises(ValueError, match="bot_share must be in"):
        TrafficConfig(events=10, seed=1, start=START, bot_share=1.0)
    with pytest.raises(ValueError, match="events must be an integer >= 0"):
        TrafficConfig(events=-1, seed=1, start=START)
    with pytest.raises(ValueError, match="days must be > 0"):
        TrafficConfig(events=10, seed=1, start=START, days=0)
    with pytest.raises(ValueError, match=r"at most 3660 \(ten years\), got 1e\+308"):
        TrafficConfig(events=10, seed=1, start=START, days=1e308)
    with pytest.raises(ValueError, match="start must be 1970-01-01 or later"):
        TrafficConfig(events=10, seed=1, start=datetime(1, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="the traffic must end by 9999-01-01"):
        TrafficConfig(events=10, seed=1, start=datetime(9999, 12, 31, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        TrafficConfig(events=10, seed=1, start=datetime(2026, 11, 1))
    with pytest.raises(ValueError, match="must stay below 1"):
        TrafficConfig(
            events=10,
            seed=1,
            start=START,
            consent_off_share=0.5,
            bot_share=0.3,
            sessionless_share=0.3,
        )


def test_apportionment_is_exact_and_proportional() -> None:
    assert apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(apportion(1_000_003, [5, 7, 11, 0, 2])) == 1_000_003
    assert apportion(0, [3, 4]) == [0, 0]


@pytest.mark.parametrize("events", [0, 1, 7, 1_001, 25_013])
def test_exactly_the_requested_number_of_events(events: int) -> None:
    buffer = io.BytesIO()
    summary = write_jsonl(TrafficConfig(events=events, seed=3, start=START), buffer)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == events == summary.events
    assert all(line.startswith(b"{") for line in lines)


def test_a_run_of_one_slice_is_written_by_this_process_whatever_the_workers(
    tmp_path: Path,
) -> None:
    config = TrafficConfig(events=1, seed=3, start=START, days=0.001)
    with (tmp_path / "one.jsonl").open("wb") as out:
        summary = write_jsonl(config, out, workers=2)
    assert summary.events == 1
    assert (tmp_path / "one.jsonl").read_bytes().count(b"\n") == 1


def test_the_cli_output_is_byte_identical_across_runs_and_worker_counts(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(generate_command)
    runner = CliRunner()

    def run(name: str, *options: str) -> bytes:
        out = tmp_path / name
        arguments = ["--events", "30000", "--start", "2026-11-01", "--out", str(out), "--quiet"]
        result = runner.invoke(app, [*arguments, *options])
        assert result.exit_code == 0, result.output
        return out.read_bytes()

    one_worker = run("w1.jsonl", "--seed", "7", "--workers", "1")
    two_workers = run("w2.jsonl", "--seed", "7", "--workers", "2")
    again = run("again.jsonl", "--seed", "7", "--workers", "2")
    other_seed = run("seed8.jsonl", "--seed", "8", "--workers", "2")
    assert one_worker == two_workers == again
    assert one_worker.count(b"\n") == 30_000
    assert other_seed != one_worker
    assert other_seed.count(b"\n") == 30_000

    before = datetime.now(UTC).date().isoformat()
    without_start = tmp_path / "default-start.jsonl"
    result = runner.invoke(
        app, ["--events", "300", "--seed", "7", "--out", str(without_start), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    # the default start is today, midnight UTC (either side of a midnight passing meanwhile)
    days = sorted({before, datetime.now(UTC).date().isoformat()})
    starts = [run(f"{day}.jsonl", "--events", "300", "--start", day) for day in days]
    assert without_start.read_bytes() in starts

    rejected = runner.invoke(app, ["--events", "10", "--out", "-", "--landing"])
    assert rejected.exit_code == 2
    assert "exactly one output" in rejected.output


def test_library_payloads_are_the_lines_written() -> None:
    config = TrafficConfig(events=3_000, seed=5, start=START)
    buffer = io.BytesIO()
    write_jsonl(config, buffer)
    lines = buffer.getvalue().splitlines()
    assert [orjson.dumps(event.payload) for event in generate(config)] == lines


def test_each_kind_of_dirt_has_its_share(day: DayFacts) -> None:
    assert day.events == 200_000
    for label, share in SHARES.items():
        assert day.labels[label] / day.events == pytest.approx(share, rel=0.05), label
    assert sum(day.invalid_kinds.values()) == round(0.005 * 200_000)


def test_valid_events_validate_and_invalid_ones_do_not(day: DayFacts) -> None:
    assert day.valid_but_rejected == []
    assert day.invalid_but_accepted == []
    assert set(day.invalid_kinds) == set(INVALID_KINDS)
    assert min(day.invalid_kinds.values()) >= 80  # the kinds take turns
    assert day.bad_ids_or_ts == 0


def test_duplicates_repeat_an_earlier_event_exactly(day: DayFacts) -> None:
    assert day.labels["duplicate_of_earlier"] > 0
    assert day.duplicates_without_earlier == 0
    assert day.duplicates_differing == 0


def test_late_events_arrive_hours_after_they_happened(day: DayFacts) -> None:
    assert day.late_delays_ms
    assert min(day.late_delays_ms) >= HOUR_MS
    assert max(day.late_delays_ms) <= 6 * HOUR_MS
    assert day.late_crossing_midnight > 0
    assert day.on_time_max_delay_ms < 10_000


def test_sessionless_events_are_server_side_bursts_per_user(day: DayFacts) -> None:
    assert day.sessionless_problems == 0
    gaps = [
        later - earlier
        for times in day.server_times_by_user.values()
        for earlier, later in zip(sorted(times), sorted(times)[1:], strict=False)
    ]
    assert any(gap > 30 * 60_000 for gap in gaps)
    assert any(gap < 30 * 60_000 for gap in gaps)


def test_bots_are_recognisable_and_people_are_not(day: DayFacts) -> None:
    assert len(day.bot_user_agents) >= 5
    assert all(is_bot_user_agent(agent) for agent in day.bot_user_agents)
    assert len(day.human_user_agents) >= 20
    assert not any(is_bot_user_agent(agent) for agent in day.human_user_agents)


def test_content_is_realistic(day: DayFacts) -> None:
    assert set(day.event_types) == {"page_view", "chart_interaction", "affiliate_click"}
    assert day.event_types["page_view"] > day.event_types["chart_interaction"]
    assert day.event_types["chart_interaction"] > day.event_types["affiliate_click"] > 0
    assert day.chart_value_types["toggle"] == {"bool"}
    assert day.chart_value_types["sort"] == {"str"}
    assert day.chart_value_types["filter"] >= {"str", "int"}
    assert day.chart_value_types["compare_expand"] == {"str", "NoneType"}
    assert day.chart_value_types["compare_collapse"] <= {"str", "NoneType"}
    assert 0 in day.payouts and max(day.payouts) > 1000 and min(day.payouts) >= 0
    assert day.consent_off_with_analytics == 0
    assert 0.005 < day.missing_viewer_country / day.events < 0.02
    assert day.ipv6_clients > 0
    assert 0.1 < len(day.utm_sessions) / len(day.session_days) < 0.5


def test_some_sessions_span_midnight(day: DayFacts) -> None:
    spanning = [days for days in day.session_days.values() if len(days) > 1]
    assert spanning
    assert day.summary is not None
    assert day.summary.sessions_spanning_midnight == len(spanning)
    # a session whose only event had its session_id retyped by a violation is not seen here
    unseen = day.summary.sessions - len(day.session_days)
    assert 0 <= unseen <= day.invalid_kinds["wrong_type"]
    assert day.summary.events == day.events


def test_traffic_follows_the_time_of_day(day: DayFacts) -> None:
    peak = max(day.hours.values())
    trough = min(day.hours.values())
    assert peak > 3 * trough
    assert max(day.hours, key=day.hours.__getitem__) in range(12, 19)  # UTC afternoon


def test_segment_change_log_is_consistent() -> None:
    config = TrafficConfig(events=20_000, seed=4, start=START, days=3)
    rows = list(generate_segments(config))
    assert rows == list(generate_segments(config))
    assert [row["as_of_ts"] for row in rows] == sorted(row["as_of_ts"] for row in rows)
    member: dict[tuple[str, str], bool] = {}
    actions = Counter()
    for row in rows:
        key = (row["user_id_hash"], row["segment_key"])
        assert CLIENT_HASH.match(row["user_id_hash"])
        assert row["segment_key"] in {
            "price_sensitive",
            "returning",
            "b2b",
            "deal_hunter",
            "newsletter",
        }
        if row["action"] == "enter":
            assert not member.get(key, False), row
            member[key] = True
        else:
            assert row["action"] == "leave"
            assert member.get(key, False), row
            member[key] = False
        actions[row["action"], row["as_of_ts"] >= "2026-11-01"] += 1
    assert actions["enter", False] > 1000  # the snapshot before the run
    assert actions["enter", True] > 0 and actions["leave", True] > 0
    generated_users = {
        event.payload["user"]["user_id_hash"] for event in generate(config) if not event.bot
    }
    assert generated_users & {row["user_id_hash"] for row in rows}


# --- landing ---------------------------------------------------------------------------------


def _landing_settings(home: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CLICKSTREAM_HOME", str(home))
    monkeypatch.setenv("CLICKSTREAM_INGEST__HMAC_SECRET", "generator-test-secret")
    return Settings()


def _tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_landing_matches_what_the_ingest_and_firehose_would_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = TrafficConfig(events=6_000, seed=21, start=START)
    settings = _landing_settings(tmp_path / "home", monkeypatch)
    store = LocalLandingStore(settings.landing_dir)
    summary = write_landing(config, store, settings, workers=2)
    generated = list(generate(config))

    valid_ids = Counter(
        event.payload["event_id"]
        for event in generated
        if event.invalid_kind is None and not event.consent_off
    )
    invalid_payloads = Counter(orjson.dumps(e.payload) for e in generated if e.invalid_kind)
    consent_off_ids = {e.payload["event_id"] for e in generated if e.consent_off}
    client_ips = {event.client_ip for event in generated}
    client_hashes = {
        event.payload["user"]["user_id_hash"]
        for event in generated
        if isinstance(event.payload.get("user"), dict) and "user_id_hash" in event.payload["user"]
    }

    producer = default_registry().get(PRODUCER_EVENT, "1.0.0")
    landed_ids: Counter[str] = Counter()
    quarantined: Counter[bytes] = Counter()
    bronze_text = []
    everything = []
    for item in store.list():
        body = store.get(item.key)
        text = gzip.decompress(body)
        everything.append(text)
        if item.key.startswith("bronze/"):
            assert BRONZE_KEY.match(item.key), item.key
            bronze_text.append(text)
            event_type = item.key.split("/")[1].removeprefix("events_type=")
            for record in decode_records(body):
                assert producer.is_valid(record), producer.issues(record)
                assert record["event_type"] == event_type
                assert (
                    f"hour={datetime.fromtimestamp(record['ingest_ts'] / 1000, UTC):%H}/"
                    in item.key
                )
                landed_ids[record["event_id"]] += 1
        elif item.key.startswith("quarantine/"):
            assert QUARANTINE_KEY.match(item.key), item.key
            for record in decode_records(body):
                assert record["kind"] in ("schema_violation", "unsupported_version")
                assert record["reasons"]
                quarantined[record["payload"].encode()] += 1
        else:
            assert item.key == segments_key(config)

    assert landed_ids == valid_ids
    assert quarantined == invalid_payloads
    assert summary.sink["discarded_consent_off"] == sum(e.consent_off for e in generated)
    blob = b"\n".join(everything)
    assert not any(event_id.encode() in blob for event_id in consent_off_ids)
    assert not any(ip.encode() in blob for ip in client_ips)
    bronze_blob = b"\n".join(bronze_text)
    assert not any(client.encode() in bronze_blob for client in client_hashes)
    rekeyed = rekey_user_id_hash(next(iter(client_hashes)), settings.hmac_key)
    assert rekeyed is not None and rekeyed.encode() in bronze_blob

    segments = decode_records(store.get(segments_key(config)))
    assert segments and all(row["user_id_hash"] not in client_hashes for row in segments)
    assert {row["user_id_hash"] for row in segments} & set(
        re.findall(r'"user_id_hash":"(sha256:[0-9a-f]{64})"', bronze_blob.decode())
    )

    again = _landing_settings(tmp_path / "again", monkeypatch)
    write_landing(config, LocalLandingStore(again.landing_dir), again, workers=1)
    assert _tree(again.landing_dir) == _tree(settings.landing_dir)


# --- HTTP --------------------------------------------------------------------------------------


@dataclass
class _Received:
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def _ingest_app(received: _Received) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def batch(request: Request) -> JSONResponse:
        body = orjson.loads(await request.body())
        received.bodies.append(body)
        received.headers.append(dict(request.headers))
        events = body["events"]
        if events[0].get("event_id", "").startswith("f"):
            return JSONResponse({"error": "unavailable"}, status_code=503)
        valid = [event for event in events if _is_valid(event)]
        discarded = sum(event["user"]["consent"]["analytics"] is False for event in valid)
        return JSONResponse(
            {
                "accepted": len(valid) - discarded,
                "rejected": len(events) - len(valid),
                "discarded": discarded,
            }
        )

    return Starlette(routes=[Route("/v1/batch", batch, methods=["POST"])])


@pytest.fixture
def ingest_server() -> Iterator[tuple[str, _Received]]:
    import uvicorn

    received = _Received()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(_ingest_app(received), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "test ingest did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", received
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_http_sink_posts_batches_per_client_with_cdn_headers(
    ingest_server: tuple[str, _Received],
) -> None:
    url, received = ingest_server
    config = TrafficConfig(events=1_500, seed=9, start=START)
    generated = list(generate(config))
    summary = send_http(config, url, workers=1, concurrency=4, api_key="server-key")

    sent = [event for body in received.bodies for event in body["events"]]
    assert len(sent) == len(generated) == summary.sink["events_sent"]
    assert Counter(orjson.dumps(e) for e in sent) == Counter(
        orjson.dumps(e.payload) for e in generated
    )
    by_line: dict[bytes, GeneratedEvent] = {}
    for event in generated:  # a re-send has the same bytes as its original, and the same client
        by_line.setdefault(orjson.dumps(event.payload), event)
    expected = Counter()
    for body, headers in zip(received.bodies, received.headers, strict=True):
        events = [by_line[orjson.dumps(payload)] for payload in body["events"]]
        first = events[0]
        assert 1 <= len(events) <= MAX_BATCH_EVENTS
        assert headers["content-type"] == "application/json"
        assert {e.client_ip for e in events} == {headers["x-forwarded-for"]}
        assert headers.get("cloudfront-viewer-country") == first.viewer_country
        assert (headers.get("x-api-key") == "server-key") == (first.source == "server")
        assert [e.arrival_ms for e in events] == sorted(e.arrival_ms for e in events)
        sessions = {
            (e.payload.get("session") or {}).get("session_id") or e.payload["user"]["user_id_hash"]
            for e in events
        }
        assert len(sessions) == 1
        if first.payload.get("event_id", "").startswith("f"):
            expected["http_errors"] += 1
            continue
        valid = [e for e in events if e.invalid_kind is None]
        expected["rejected"] += len(events) - len(valid)
        expected["discarded"] += sum(e.consent_off for e in valid)
        expected["accepted"] += sum(not e.consent_off for e in valid)
    for name in ("accepted", "rejected", "discarded", "http_errors"):
        assert summary.sink[name] == expected[name], name
    assert expected["http_errors"] > 0 and expected["accepted"] > 0
    assert summary.sink["requests"] == len(received.bodies)


def test_batches_keep_each_client_together_and_stay_small() -> None:
    config = TrafficConfig(events=2_000, seed=2, start=START)
    events = list(generate(config))
    grouped = batches(events, max_events=3)
    assert sum(len(batch.events) for batch in grouped) == len(events)
    assert max(len(batch.events) for batch in grouped) == 3
    assert all(len({e.client_ip for e in batch.events}) == 1 for batch in grouped)


def test_http_sink_counts_per_event_answers_and_transport_errors() -> None:
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        events = orjson.loads(request.content)["events"]
        return httpx.Response(207, json={"results": [{"status": "accepted"} for _ in events]})

    config = TrafficConfig(events=500, seed=1, start=START)
    summary = send_http(config, "http://ingest.test", transport=httpx.MockTransport(answer))
    assert summary.sink["accepted"] == 500 and summary.sink["http_errors"] == 0

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    failed = send_http(config, "http://ingest.test", transport=httpx.MockTransport(refuse))
    assert failed.sink["failed_events"] == 500
    assert failed.sink["http_errors"] == failed.sink["requests"] > 0


def test_rate_limit_paces_the_requests() -> None:
    import httpx

    config = TrafficConfig(events=300, seed=1, start=START)
    transport = httpx.MockTransport(lambda request: httpx.Response(202, json={"accepted": 1}))
    began = time.monotonic()
    summary = send_http(config, "http://ingest.test", rate=1_000, transport=transport)
    assert summary.sink["events_sent"] == 300
    assert time.monotonic() - began >= 0.25
