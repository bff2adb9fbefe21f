"""Every wrong invocation of ``clickstream`` answers with one line on stderr and an exit code:
2 for a wrong argument or setting, 1 for what the command works on failing. Nothing runs: each
case has a home of its own and ports where nothing listens."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import free_port

CLICKSTREAM = Path(sys.executable).with_name("clickstream")
USAGE, RUNTIME = 2, 1
DEAD_INGEST = "{dead_url}"


SETTING = " (set it in the environment or in .env)"
READ_ONLY = (
    "the query console only reads (SELECT, FROM, DESCRIBE, SHOW, SUMMARIZE, PIVOT ... IN, EXPLAIN)"
)


@dataclass(frozen=True)
class Case:
    args: list[str]
    code: int
    says: str
    env: dict[str, str] = field(default_factory=dict)
    whole_line: bool = False
    """``says`` is the whole line on stderr, not a part of it."""


def exactly(args: list[str], code: int, line: str, env: dict[str, str] | None = None) -> Case:
    return Case(args, code, line, env or {}, whole_line=True)


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
    "settings error beside a secret": exactly(
        ["config"],
        USAGE,
        "error: CLICKSTREAM_INGEST__TRUSTED_PROXIES: 'notacidr' does not appear to be an IPv4 or "
        "IPv6 network" + SETTING,
        {
            "CLICKSTREAM_INGEST__HMAC_SECRET": "supersecret",
            "CLICKSTREAM_INGEST__TRUSTED_PROXIES": '["notacidr"]',
        },
    ),
    "api keys not JSON": exactly(
        ["config"],
        USAGE,
        'error: CLICKSTREAM_INGEST__API_KEYS: expected a JSON list, e.g. ["a-long-random-key"]'
        + SETTING,
        {"CLICKSTREAM_INGEST__API_KEYS": "s3cr3t-key"},
    ),
    "alert rule without an event type": exactly(
        ["config"],
        USAGE,
        "error: CLICKSTREAM_ALERTS__RULES: [0].event_type is missing" + SETTING,
        {"CLICKSTREAM_ALERTS__RULES": '[{"name": "x"}]'},
    ),
    "alert rules not JSON": exactly(
        ["config"],
        USAGE,
        "error: CLICKSTREAM_ALERTS__RULES: expected a JSON list, e.g. "
        '[{"name": "big_order", "event_type": "purchase", "conditions": []}]' + SETTING,
        {"CLICKSTREAM_ALERTS__RULES": "notjson"},
    ),
    "allowed origins not JSON": exactly(
        ["config"],
        USAGE,
        "error: CLICKSTREAM_INGEST__ALLOWED_ORIGINS: expected a JSON list, e.g. "
        '["https://shop.example"]' + SETTING,
        {"CLICKSTREAM_INGEST__ALLOWED_ORIGINS": "notjson"},
    ),
    "trusted proxies not JSON": exactly(
        ["config"],
        USAGE,
        'error: CLICKSTREAM_INGEST__TRUSTED_PROXIES: expected a JSON list, e.g. ["10.0.0.0/8"]'
        + SETTING,
        {"CLICKSTREAM_INGEST__TRUSTED_PROXIES": "10.0.0.0/8"},
    ),
    "ingest port out of range": exactly(
        ["config"],
        USAGE,
        "error: CLICKSTREAM_INGEST__PORT: '99999': input should be less than or equal to 65535"
        + SETTING,
        {"CLICKSTREAM_INGEST__PORT": "99999"},
    ),
    "ingest port out of range on the command line": exactly(
        ["ingest", "serve", "--port", "70000"],
        USAGE,
        "error: Invalid value for '--port': Input should be less than or equal to 65535 "
        "(see `clickstream ingest serve --help`)",
    ),
    "negative body limit": exactly(
        ["config"],
        USAGE,
        "error: CLICKSTREAM_INGEST__MAX_BODY_BYTES: '-1': input should be greater than or equal "
        "to 1" + SETTING,
        {"CLICKSTREAM_INGEST__MAX_BODY_BYTES": "-1"},
    ),
    "batches of no events": exactly(
        ["config"],
        USAGE,
        "error: CLICKSTREAM_INGEST__MAX_BATCH_EVENTS: '0': input should be greater than or equal "
        "to 1" + SETTING,
        {"CLICKSTREAM_INGEST__MAX_BATCH_EVENTS": "0"},
    ),
    "refresh cron not a cron": exactly(
        ["config"],
        USAGE,
        "error: CLICKSTREAM_ORCHESTRATION__LAKE_REFRESH_CRON: 'not a cron': expected a cron of "
        "5 fields: minute hour day month weekday" + SETTING,
        {"CLICKSTREAM_ORCHESTRATION__LAKE_REFRESH_CRON": "not a cron"},
    ),
    "webhook not a URL": exactly(
        ["config"],
        USAGE,
        "error: CLICKSTREAM_ALERTS__WEBHOOK_URL: expected an http:// or https:// URL" + SETTING,
        {"CLICKSTREAM_ALERTS__WEBHOOK_URL": "notaurl"},
    ),
    "home a file": exactly(
        ["config"],
        USAGE,
        "error: CLICKSTREAM_HOME: 'events.jsonl': is not a directory" + SETTING,
        {"CLICKSTREAM_HOME": "events.jsonl"},
    ),
    "home empty": exactly(
        ["config"],
        USAGE,
        "error: CLICKSTREAM_HOME: must not be empty: give a directory, or unset it for "
        "./.clickstream" + SETTING,
        {"CLICKSTREAM_HOME": ""},
    ),
    "query of empty SQL": exactly(
        ["query", ""], USAGE, 'error: the SQL is empty: give a query, e.g. "select 1", or --tables'
    ),
    "query of blank SQL": exactly(
        ["query", "   "],
        USAGE,
        'error: the SQL is empty: give a query, e.g. "select 1", or --tables',
    ),
    "query that deletes": exactly(
        ["query", "delete from lake.bronze_events"],
        USAGE,
        f"error: query refused: DELETE is not a read statement; {READ_ONLY}",
    ),
    "query that drops": exactly(
        ["query", "drop table lake.bronze_events"],
        USAGE,
        f"error: query refused: DROP is not a read statement; {READ_ONLY}",
    ),
    "query that attaches the marts writable": exactly(
        ["query", "detach rt; attach 'home/realtime/rt.duckdb' as rw; delete from rw._events"],
        USAGE,
        f"error: query refused: DETACH is not a read statement; {READ_ONLY}",
    ),
    "query that writes a file": exactly(
        ["query", "select 1; copy (select 1) to 'out.csv'"],
        USAGE,
        f"error: query refused: COPY is not a read statement; {READ_ONLY}",
    ),
    "query that explains a write by running it": exactly(
        ["query", "explain analyze delete from lake.bronze_events"],
        USAGE,
        f"error: query refused: DELETE is not a read statement; {READ_ONLY}",
    ),
    "generate over endless days": exactly(
        ["generate", "--days", "1e308", "--out", "-"],
        USAGE,
        "error: Invalid value: invalid traffic config: days must be > 0 (at least one "
        "millisecond) and at most 3660 (ten years), got 1e+308 (see `clickstream generate --help`)",
    ),
    "generate past the year 9999": exactly(
        ["generate", "--start", "9999-12-31", "--out", "-"],
        USAGE,
        "error: Invalid value: invalid traffic config: the traffic must end by 9999-01-01, got 1 "
        "day(s) from 9999-12-31T00:00:00+00:00 (see `clickstream generate --help`)",
    ),
    "generate before 1970": exactly(
        ["generate", "--start", "0001-01-01", "--out", "-"],
        USAGE,
        "error: Invalid value: invalid traffic config: start must be 1970-01-01 or later, got "
        "0001-01-01T00:00:00+00:00 (see `clickstream generate --help`)",
    ),
    "hour a day": exactly(
        ["lake", "load", "--hour", "2026-11-30"],
        USAGE,
        "error: Invalid value for --hour: '2026-11-30' is not an hour like 2026-11-01T05 "
        "(YYYY-MM-DDTHH in UTC, no minutes) (see `clickstream lake load --help`)",
    ),
    "hour with minutes": exactly(
        ["lake", "load", "--hour", "2026-11-30T05:30"],
        USAGE,
        "error: Invalid value for --hour: '2026-11-30T05:30' is not an hour like 2026-11-01T05 "
        "(YYYY-MM-DDTHH in UTC, no minutes) (see `clickstream lake load --help`)",
    ),
    "min date not a date": exactly(
        ["lake", "build", "--min-date", "notadate"],
        USAGE,
        "error: Invalid value for --min-date: 'notadate' is not a date like 2026-11-01 "
        "(see `clickstream lake build --help`)",
    ),
    "live view of too many pages": exactly(
        ["rt", "top", "--once", "--pages", "99999999999999999999"],
        USAGE,
        "error: Invalid value for '--pages': Input should be less than or equal to 1000 "
        "(see `clickstream rt top --help`)",
    ),
    "api key that cannot be a header": exactly(
        ["send", "events.jsonl", "--api-key", "a\nb"],
        USAGE,
        "error: --api-key must be printable ASCII without spaces (the key is not shown)",
    ),
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
    if case.whole_line:
        assert lines[0] == case.says
    else:
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


def test_a_binary_env_file_is_named(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"\xff\xfe\x00binary")
    result = clickstream(["config"], tmp_path, {})
    assert result.returncode == USAGE
    assert result.stderr == (
        f"error: {tmp_path.resolve() / '.env'} is not UTF-8 text (invalid start byte at byte 0); "
        "it holds CLICKSTREAM_* settings as NAME=value lines\n"
    )


def test_the_ingest_refuses_a_port_in_use_before_it_says_it_serves(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = clickstream(["ingest", "serve"], tmp_path, {"CLICKSTREAM_INGEST__PORT": str(port)})
    assert result.returncode == RUNTIME
    assert result.stderr == (
        f"error: port {port} is in use: choose another with --port or CLICKSTREAM_INGEST__PORT\n"
    )


class _NoSuchEndpoint(http.server.BaseHTTPRequestHandler):
    """Answers every request as the ingest answers an unknown path."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        message = f"no such endpoint: {self.path}"
        body = json.dumps({"error": {"code": "not_found", "message": message}}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def log_message(self, *_: object) -> None:
        return None


@pytest.fixture
def no_such_endpoint() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoSuchEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_sending_to_an_endpoint_says_the_url_is_the_base(
    tmp_path: Path, no_such_endpoint: str
) -> None:
    (tmp_path / "events.jsonl").write_text('{"event_type": "page_view"}\n')
    url = f"{no_such_endpoint}/v1/batch"
    result = clickstream(
        ["send", "events.jsonl", "--url", url, "--quiet"],
        tmp_path,
        {"CLICKSTREAM_INGEST__PORT": "8780"},
    )
    assert result.returncode == RUNTIME
    assert result.stderr.splitlines()[-1] == (
        "error: 1 of 1 events were not taken in, the last because of: HTTP 404: no such "
        "endpoint: /v1/batch/v1/batch (--url is the ingest's base URL, e.g. "
        "http://127.0.0.1:8780: /v1/batch is added to it)"
    )


def test_a_dbt_selection_that_fails_or_matches_nothing_says_so_in_one_line(
    tmp_path: Path,
) -> None:
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    from lakehouse.catalog import open_catalog
    from streaming.contracts.settings import Settings

    settings = Settings(home=tmp_path / "home")
    settings.warehouse_dir.mkdir(parents=True)
    catalog = open_catalog(settings)
    catalog.create_namespace_if_not_exists("lake")
    catalog.create_table(("lake", "bronze_events"), Schema(NestedField(1, "n", LongType())))

    crashed = clickstream(["lake", "build", "--select", "/abs/path"], tmp_path, {})
    assert crashed.returncode == RUNTIME, crashed.stderr
    assert "Running with dbt=" in crashed.stdout
    assert "Traceback" not in crashed.stdout + crashed.stderr
    assert crashed.stderr.splitlines()[-1] == (
        "error: dbt build --select /abs/path failed: Non-relative patterns are unsupported"
    )
    debugged = clickstream(["--debug", "lake", "build", "--select", "/abs/path"], tmp_path, {})
    assert "dbt's traceback:" in debugged.stderr
    assert "NotImplementedError: Non-relative patterns are unsupported" in debugged.stderr

    nothing = clickstream(["lake", "build", "--select", "nonexistent+"], tmp_path, {})
    assert nothing.returncode == USAGE, nothing.stderr
    assert "built in" not in nothing.stdout
    assert nothing.stderr.splitlines()[-1] == (
        "error: --select nonexistent+ matches no enabled model or test: nothing was built"
    )
