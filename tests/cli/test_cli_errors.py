"""Every wrong invocation of ``clickstream`` answers with one line on stderr and an exit code:
2 for a wrong argument or setting, 1 for what the command works on failing. Nothing runs: each
case has a home of its own and ports where nothing listens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import free_port

CLICKSTREAM = Path(sys.executable).with_name("clickstream")
USAGE, RUNTIME = 2, 1
DEAD_INGEST = "{dead_url}"


@dataclass(frozen=True)
class Case:
    args: list[str]
    code: int
    says: str
    env: dict[str, str] = field(default_factory=dict)


CASES = {
    "alert rule with a text threshold": Case(
        ["alerts", "list"],
        USAGE,
        "'gt' needs a number value",
        {
            "CLICKSTREAM_ALERTS__RULES": '[{"name": "r", "event_type": "purchase", "conditions":'
            ' [{"field": "purchase.revenue_cents", "op": "gt", "value": "lots"}]}]'
        },
    ),
    "alerts of an unknown rule": Case(
        ["alerts", "list", "--rule", "nope"], USAGE, "no alert rule named 'nope'"
    ),
    "alert reader without rules": Case(
        ["alerts", "run"], USAGE, "no alert rules", {"CLICKSTREAM_ALERTS__RULES": "[]"}
    ),
    "alert reader without a stream": Case(
        ["alerts", "run", "--once"], RUNTIME, "cannot read stream clickstream-dev-events"
    ),
    "privacy request naming nobody": Case(
        ["privacy", "erase"], USAGE, "exactly one of --user-hash or --client-hash"
    ),
    "privacy request with a hash that is not one": Case(
        ["privacy", "export", "--client-hash", "bob@example.com"],
        USAGE,
        "--client-hash must be a SHA-256 hex digest",
    ),
    "unknown environment": Case(
        ["config"],
        USAGE,
        "CLICKSTREAM_ENV: 'prod' is not one of local, aws",
        {"CLICKSTREAM_ENV": "prod"},
    ),
    "aws without an account": Case(
        ["config"], USAGE, "CLICKSTREAM_AWS_ACCOUNT_ID is required", {"CLICKSTREAM_ENV": "aws"}
    ),
    "port not a number": Case(
        ["config"], USAGE, "CLICKSTREAM_INGEST__PORT: 'abc'", {"CLICKSTREAM_INGEST__PORT": "abc"}
    ),
    "docs port out of range": Case(
        ["config"], USAGE, "CLICKSTREAM_DOCS_PORT: '0'", {"CLICKSTREAM_DOCS_PORT": "0"}
    ),
    "impossible start date": Case(
        ["config"],
        USAGE,
        "CLICKSTREAM_ORCHESTRATION__START_DATE: '2026-13-01'",
        {"CLICKSTREAM_ORCHESTRATION__START_DATE": "2026-13-01"},
    ),
    "project name aws refuses": Case(
        ["query", "select 1"],
        USAGE,
        "project and stage must be lowercase",
        {"CLICKSTREAM_PROJECT": "Bad_Name"},
    ),
    "query on aws": Case(
        ["query", "select 1"],
        USAGE,
        "use Athena on aws",
        {"CLICKSTREAM_ENV": "aws", "CLICKSTREAM_AWS_ACCOUNT_ID": "111122223333"},
    ),
    "unknown command": Case(["frobnicate"], USAGE, "No such command 'frobnicate'"),
    "query without SQL": Case(["query"], USAGE, "give either SQL to run or --tables"),
    "query with SQL and --tables": Case(["query", "--tables", "select 1"], USAGE, "either SQL"),
    "unknown output format": Case(["query", "-f", "xml", "select 1"], USAGE, "'xml' is not one of"),
    "bad SQL": Case(["query", "selec 1"], USAGE, 'syntax error at or near "selec"'),
    "query of an empty lake": Case(
        ["query", "select * from lake.silver_events"], RUNTIME, "the lake is empty"
    ),
    "hour not an hour": Case(
        ["lake", "load", "--hour", "yesterday"], USAGE, "'yesterday' is not an hour"
    ),
    "impossible min date": Case(
        ["lake", "build", "--min-date", "2026-13-01", "--max-date", "2026-12-01"],
        USAGE,
        "'2026-13-01' is not a date",
    ),
    "window backwards": Case(
        ["lake", "build", "--min-date", "2026-12-02", "--max-date", "2026-12-01"],
        USAGE,
        "--min-date 2026-12-02 is after --max-date 2026-12-01",
    ),
    "half a window": Case(["lake", "build", "--min-date", "2026-12-01"], USAGE, "give both"),
    "build of an empty lake": Case(["lake", "build"], RUNTIME, "lake.bronze_events does not exist"),
    "send a missing file": Case(["send", "missing.jsonl"], USAGE, "missing.jsonl is not a file"),
    "segment feed missing": Case(["lake", "segments", "feed.jsonl"], USAGE, "is not a file"),
    "segment feed with a bad action": Case(
        ["lake", "segments", "events.jsonl"], USAGE, "line 1: user_id_hash must be"
    ),
    "send to a dead ingest": Case(
        ["send", "events.jsonl", "--url", DEAD_INGEST], RUNTIME, "Connection refused"
    ),
    "send to a bad URL": Case(
        ["send", "events.jsonl", "--url", "nope"], USAGE, "'nope' is not an http"
    ),
    "batch size too large": Case(
        ["send", "events.jsonl", "--batch-size", "501"], USAGE, "--batch-size"
    ),
    "generate to two outputs": Case(
        ["generate", "--out", "-", "--landing"], USAGE, "choose exactly one output"
    ),
    "generate from yesterday": Case(
        ["generate", "--start", "yesterday", "--out", "-"], USAGE, "'yesterday' is not 'now'"
    ),
    "generate over no time": Case(
        ["generate", "--days", "0", "--out", "-"], USAGE, "days must be > 0"
    ),
    "generate negative events": Case(
        ["generate", "--events", "-5", "--out", "-"], USAGE, "--events"
    ),
    "rate without http": Case(
        ["generate", "--rate", "5", "--out", "-"], USAGE, "--rate paces --http only"
    ),
    "live stream with days": Case(
        ["generate", "--http", DEAD_INGEST, "--start", "now", "--rate", "5", "--days", "1"],
        USAGE,
        "drop --days",
    ),
    "generate to a dead ingest": Case(
        ["generate", "--events", "10", "--http", DEAD_INGEST], RUNTIME, "Connection refused"
    ),
    "local status with nothing running": Case(
        ["local", "status"], RUNTIME, "the local AWS servers are not all up"
    ),
    "dlq replay with nothing running": Case(["dlq", "replay"], RUNTIME, "clickstream local up"),
    "ingest with nothing running": Case(["ingest", "serve"], RUNTIME, "is not available"),
    "delivery with nothing running": Case(["deliver", "--once"], RUNTIME, "cannot read stream"),
    "real-time consumer with nothing running": Case(
        ["rt", "consume", "--once"], RUNTIME, "cannot read stream"
    ),
    "live view without marts": Case(["rt", "top", "--once"], RUNTIME, "no real-time marts"),
    "delivery buffer of zero": Case(
        ["deliver", "--buffer-seconds", "0"], USAGE, "--buffer-seconds"
    ),
    "docs port out of range on the command line": Case(
        ["docs", "--port", "70000"], USAGE, "--port"
    ),
    "dev outside the project": Case(["dev", "--no-stack"], USAGE, "run from the project root"),
}


def clickstream(
    args: list[str], home: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("CLICKSTREAM_")
    }
    environment |= {
        "CLICKSTREAM_HOME": str(home / "home"),
        "DAGSTER_HOME": str(home / "dagster"),
        "CLICKSTREAM_INGEST__PORT": str(free_port()),
        "CLICKSTREAM_LOCAL_AWS__PORT": str(free_port()),
        "CLICKSTREAM_LOCAL_AWS__KINESIS_PORT": str(free_port()),
        "CLICKSTREAM_DOCS_PORT": str(free_port()),
        "COLUMNS": "100",
        **env,
    }
    return subprocess.run(
        [str(CLICKSTREAM), *args],
        cwd=home,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_wrong_invocation_says_what_is_wrong_in_one_line(case: Case, tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text('{"event_type": "page_view"}\n')
    dead_url = f"http://127.0.0.1:{free_port()}"
    args = [arg.replace(DEAD_INGEST, dead_url) for arg in case.args]
    result = clickstream(args, tmp_path, case.env)
    lines = result.stderr.rstrip("\n").split("\n")
    assert result.returncode == case.code, result.stderr
    assert len(lines) == 1 and lines[0].strip(), result.stderr
    assert "Traceback" not in result.stderr
    assert case.says in lines[0]


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 25


def test_debug_adds_the_traceback(tmp_path: Path) -> None:
    result = clickstream(["--debug", "config"], tmp_path, {"CLICKSTREAM_ENV": "prod"})
    assert result.returncode == USAGE
    assert "Traceback (most recent call last)" in result.stderr
    last = result.stderr.rstrip().splitlines()[-1]
    assert last.startswith("error: CLICKSTREAM_ENV: 'prod' is not one of local, aws")


def test_tables_of_an_empty_lake_say_how_to_fill_it(tmp_path: Path) -> None:
    result = clickstream(["query", "--tables"], tmp_path, {})
    assert result.returncode == 0
    assert result.stdout == ""
    assert "the lake has no tables yet" in result.stderr
    assert "clickstream lake load" in result.stderr


def test_tables_are_listed_with_their_rows(tmp_path: Path) -> None:
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    from lakehouse.catalog import open_catalog
    from streaming.contracts.settings import Settings

    settings = Settings(home=tmp_path / "home")
    settings.warehouse_dir.mkdir(parents=True)
    catalog = open_catalog(settings)
    catalog.create_namespace_if_not_exists("lake")
    catalog.create_table(("lake", "visits"), Schema(NestedField(1, "n", LongType())))
    result = clickstream(["query", "--tables"], tmp_path, {})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["lake.visits", "0", "rows"]


def test_rows_wider_than_the_terminal_are_shown_one_block_per_row(tmp_path: Path) -> None:
    sql = "select repeat('x', 120) as wide, 2 as narrow"
    result = clickstream(["query", sql], tmp_path, {})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["-[ row 1 ]", f"wide   | {'x' * 120}", "narrow | 2"]


def test_a_segment_feed_lands_where_the_sensor_finds_it(tmp_path: Path) -> None:
    feed = tmp_path / "segments.jsonl"
    change = {"user_id_hash": "u1", "segment_key": "b2b", "as_of_ts": "2026-11-20T10:00:00Z"}
    feed.write_text(
        json.dumps(change | {"action": "enter"}) + "\n" + json.dumps(change | {"action": "leave"})
    )
    result = clickstream(["lake", "segments", str(feed)], tmp_path, {})
    assert result.returncode == 0, result.stderr
    [landed] = (tmp_path / "home" / "landing" / "reference" / "user_segments").iterdir()
    assert landed.name.endswith("-segments.jsonl.gz")
    assert "landed 2 segment change(s)" in result.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(change | {"action": "join"}) + "\n")
    refused = clickstream(["lake", "segments", str(bad)], tmp_path, {})
    assert refused.returncode == USAGE
    assert "line 1: action must be one of enter, leave, got 'join'" in refused.stderr
