"""The local real-time consumer: HTTP ingest → Kinesis (moto) → rt.* marts in DuckDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from conftest import aws_settings_at
from realtime_support import client_event, live_ingest, running_consumer, wait_until
from typer.testing import CliRunner

from clickstream_cli.main import app as cli
from lakehouse.query import query
from streaming.contracts.settings import LocalAwsSettings, Settings, get_settings
from streaming.realtime.consumer import RealtimeConsumer
from streaming.realtime.store import open_realtime, published_path

ROOT = Path(__file__).resolve().parents[3]


def _post(url: str, events: list[dict]) -> dict:
    response = httpx.post(f"{url}/v1/batch", json={"events": events}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _count(settings: Settings, sql: str) -> int:
    return query(settings, sql).column(0)[0].as_py() or 0


def test_events_sent_over_http_appear_in_the_rt_marts(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    settings = aws_settings_at(tmp_path / "home", local_aws)
    now = datetime.now(UTC)
    repeated = client_event(ts=now - timedelta(minutes=2))
    events = [
        *(
            client_event(ts=now - timedelta(seconds=n), country_session=f"s{n % 3}")
            for n in range(20)
        ),
        client_event("chart_interaction", ts=now),
        client_event("affiliate_click", ts=now, payout_cents=250),
        client_event("affiliate_click", ts=now, payout_cents=100, page="/compare/erp"),
        repeated,
        client_event(ts=now - timedelta(hours=3)),  # a late event: counted in its own minute
    ]
    with live_ingest(settings) as url, running_consumer(settings):
        assert _post(url, events)["accepted"] == len(events)
        assert _post(url, [repeated])["accepted"] == 1  # a client re-send, same event_id
        expected = len(events)
        wait_until(lambda: published_path(settings).exists())
        wait_until(lambda: _count(settings, "select count(*) from rt.events") == expected)
        # queries run while the consumer keeps publishing
        per_type = {
            row["event_type"]: row["n"]
            for row in query(
                settings, "select event_type, sum(events) as n from rt.events_per_minute group by 1"
            ).to_pylist()
        }
        assert per_type == {"page_view": 22, "chart_interaction": 1, "affiliate_click": 2}
        payout = query(
            settings, "select sum(clicks), sum(payout_cents) from rt.affiliate_per_minute"
        )
        assert list(payout.to_pylist()[0].values()) == [2, 350]
        active = {
            row["window_minutes"]: row
            for row in query(settings, "select * from rt.active_users").to_pylist()
        }
        assert active[60]["events"] == expected - 1  # the late event is three hours old
        assert active[5]["active_sessions"] == 3  # s0, s1, s2
        top = query(settings, "select * from rt.top_pages_last_hour order by page_rank")
        assert top.to_pylist()[0]["page_url"] == "https://www.example.com/compare/crm"
        series = query(settings, "select sum(events) from rt.last_hour_per_minute")
        assert series.column(0)[0].as_py() == expected - 1
        sources = query(settings, "select utm_source, events from rt.by_source_last_hour")
        assert sources.to_pylist() == [{"utm_source": "newsletter", "events": expected - 1}]
        countries = query(settings, "select sum(events) from rt.by_country_last_hour")
        assert countries.column(0)[0].as_py() == expected - 1
        raw = _count(settings, "select count(*) from rt.mv_events_min")
        assert raw == expected  # locally the re-send is dropped on arrival
    checkpoints = settings.checkpoint_dir / "realtime" / settings.stream_name
    assert sorted(path.name for path in checkpoints.glob("*.json")) == [
        "shardId-000000000000.json",
        "shardId-000000000001.json",
    ]
    assert not (settings.checkpoint_dir / "delivery").exists()


def test_restart_resumes_from_checkpoints_and_dedups(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    settings = aws_settings_at(tmp_path / "home", local_aws)
    first = [client_event(country_session=f"s{n}") for n in range(30)]
    with live_ingest(settings) as url:
        _post(url, first)
        report = RealtimeConsumer(settings, poll_seconds=0.01).run(once=True)
        assert (report.records_read, report.events_stored) == (30, 30)
        _post(url, [first[0], first[1], client_event()])  # two re-sends and one new event
        again = RealtimeConsumer(settings, poll_seconds=0.01).run(once=True)
    assert again.records_read == 3  # only what came after the checkpoints
    assert (again.events_stored, again.duplicates_dropped) == (1, 2)
    # checkpoints lost: everything is read again, and nothing is counted twice
    for path in (settings.checkpoint_dir / "realtime").rglob("*.json"):
        path.unlink()
    replay = RealtimeConsumer(settings, poll_seconds=0.01).run(once=True)
    assert (replay.records_read, replay.events_stored) == (33, 0)
    with open_realtime(settings) as conn:
        assert conn.execute("select count(*) from rt.events").fetchone() == (31,)


def test_a_reader_holding_the_snapshot_does_not_stop_the_consumer(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    settings = aws_settings_at(tmp_path / "home", local_aws)
    with live_ingest(settings) as url, running_consumer(settings) as consumer:
        wait_until(lambda: published_path(settings).exists())
        with open_realtime(settings) as held:
            for round_number in range(1, 4):
                _post(url, [client_event() for _ in range(5)])
                wait_until(
                    lambda n=round_number: (
                        _count(settings, "select count(*) from rt.events") == 5 * n
                    )
                )
            # the held connection still sees its own, consistent snapshot
            assert held.execute("select count(*) from rt.events").fetchone() == (0,)
        assert consumer.report.events_stored == 15


def test_cli_query_and_rt_top_read_the_marts(
    tmp_path: Path, local_aws: LocalAwsSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = aws_settings_at(tmp_path / "home", local_aws)
    with live_ingest(settings) as url:
        _post(url, [client_event(country_session=f"s{n}") for n in range(7)])
        _post(url, [client_event(page="/compare/erp")])
    monkeypatch.setenv("CLICKSTREAM_HOME", str(settings.home))
    monkeypatch.setenv("CLICKSTREAM_STAGE", settings.stage)
    monkeypatch.setenv("CLICKSTREAM_LOCAL_AWS__PORT", str(local_aws.port))
    monkeypatch.setenv("CLICKSTREAM_LOCAL_AWS__KINESIS_PORT", str(local_aws.kinesis_port))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        consumed = runner.invoke(cli, ["rt", "consume", "--once"])
        assert consumed.exit_code == 0, consumed.output
        assert orjson.loads(consumed.output.strip().splitlines()[-1])["events_stored"] == 8
        result = runner.invoke(
            cli,
            ["query", "select sum(events)::bigint as n from rt.events_per_minute", "-f", "json"],
        )
        assert result.exit_code == 0, result.output
        assert orjson.loads(result.output) == {"n": 8}
        frame = runner.invoke(cli, ["rt", "top", "--once"])
        assert frame.exit_code == 0, frame.output
        assert "top pages" in frame.output and "/compare/crm" in frame.output
        assert "consumer stopped" in frame.output
        rendered = runner.invoke(cli, ["rt", "sql"])
        assert "CREATE MATERIALIZED VIEW rt.mv_events_min" in rendered.output
    finally:
        get_settings.cache_clear()


def test_the_module_runs_as_a_supervised_process(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    settings = aws_settings_at(tmp_path / "home", local_aws)
    environment = os.environ | {
        "CLICKSTREAM_STAGE": settings.stage,
        "CLICKSTREAM_LOCAL_AWS__PORT": str(local_aws.port),
        "CLICKSTREAM_LOCAL_AWS__KINESIS_PORT": str(local_aws.kinesis_port),
        "CLICKSTREAM_INGEST__HMAC_SECRET": "x",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "streaming.realtime", "--home", str(settings.home)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "realtime consumer ready" in line:
                break
        else:
            pytest.fail("".join(lines))
        status = orjson.loads((settings.realtime_dir / "consumer.json").read_bytes())
        assert status["state"] == "running" and status["pid"] == process.pid
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    status = orjson.loads((settings.realtime_dir / "consumer.json").read_bytes())
    assert status["state"] == "stopped"
