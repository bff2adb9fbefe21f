"""Privacy requests on a generated dirty day: export, then an erase killed (``kill -9``) after
every step and in the middle of two, run again each time, must leave no byte of the user
anywhere under the home (the local stream engine's store included), every other row as it was,
and aggregates equal to a full rebuild without the user."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import TEST_HMAC_SECRET, aws_settings_at, free_port, kinesis_engine
from stream_support import stream_records

from lakehouse.bronze_load import load_hour
from lakehouse.build import build_lake
from lakehouse.catalog import open_catalog
from lakehouse.engine import connect
from lakehouse.privacy.erase import HALT_VARIABLE, STEPS
from lakehouse.privacy.lake_tables import lake_tables
from lakehouse.privacy.subject import from_server_hash, request_subject_hash
from streaming.contracts.aws_clients import client
from streaming.contracts.landing import decode_records, landed_hours, landing_store
from streaming.contracts.settings import LocalAwsSettings, Settings
from streaming.enrichment import rekey_user_id_hash
from streaming.generator.config import TrafficConfig
from streaming.generator.sinks.landing import write_landing
from streaming.producer.dead_letters import DeadLetterQueue
from streaming.producer.records import StreamRecord
from streaming.realtime.store import EVENT_SCHEMA, RealtimeStore

START = datetime(2026, 11, 3, 12, tzinfo=UTC)
BIN = Path(sys.executable).parent
DBT_TABLES = ("lake.silver_events", "lake.silver_sessions", "lake.silver_user_segments")
_USER_HASH_IN_PAYLOAD = re.compile(r'"user_id_hash"\s*:\s*"([^"]+)"')
HALTS = (
    "stream",
    "tables-first",
    "tables",
    "landing-first",
    *(step for step in STEPS if step not in {"stream", "tables", "audit"}),
)
"""Where the erase kills itself on each run before the last: after every step but the audit,
and in the middle of the tables and the landing steps."""
OTHERS_ON_STREAM = 4

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@dataclass(frozen=True)
class Before:
    export: dict[str, Any]
    sql_counts: dict[str, int]
    other_rows: dict[str, list[str]]
    excluded: tuple[str, ...]
    """The user's hashes, event ids and session ids: a row naming none is another user's."""
    stream_store_held: bool
    """Whether the local stream engine's files held the user (in base64) before the erase."""


@dataclass(frozen=True)
class Erased:
    settings: Settings
    client_hash: str
    server_hash: str
    before: Before
    killed: list[subprocess.CompletedProcess[str]]
    resumed: subprocess.CompletedProcess[str]
    other_dead_letters: int


def _environment(settings: Settings) -> dict[str, str]:
    return os.environ | {
        "CLICKSTREAM_HOME": str(settings.home),
        "CLICKSTREAM_STAGE": settings.stage,
        "CLICKSTREAM_LOCAL_AWS__PORT": str(settings.local_aws.port),
        "CLICKSTREAM_LOCAL_AWS__KINESIS_PORT": str(settings.local_aws.kinesis_port),
        "CLICKSTREAM_INGEST__HMAC_SECRET": TEST_HMAC_SECRET,
    }


def _clickstream(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "clickstream"), *args],
        env=_environment(settings) | env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _quarantined_client_hashes(settings: Settings) -> set[str]:
    store = landing_store(settings)
    found = set()
    for landed in store.list(settings.landing_quarantine_prefix + "/"):
        for record in decode_records(store.get(landed.key)):
            found |= set(_USER_HASH_IN_PAYLOAD.findall(str(record.get("payload", ""))))
    return found


def _choose_subject(settings: Settings) -> tuple[str, str]:
    """A user with quarantined payloads (kept as sent: the client hash) and the most events."""
    bronze = open_catalog(settings).load_table("lake.bronze_events").scan().to_arrow()
    users = bronze["user"].combine_chunks().field("user_id_hash").to_pylist()
    counts: dict[str, int] = {}
    for user in users:
        counts[user] = counts.get(user, 0) + 1
    candidates = [
        (counts.get(rekey_user_id_hash(client_hash, settings.hmac_key) or "", 0), client_hash)
        for client_hash in _quarantined_client_hashes(settings)
    ]
    events, client_hash = max(candidates)
    assert events > 0, "no quarantined user also has accepted events"
    server = rekey_user_id_hash(client_hash, settings.hmac_key)
    assert server is not None
    return client_hash, server


def _fill_realtime(settings: Settings, server_hash: str) -> None:
    """The real-time marts as the consumer leaves them: the user's events and others'."""
    bronze = open_catalog(settings).load_table("lake.bronze_events").scan().to_arrow()
    rows = []
    for number, row in enumerate(bronze.to_pylist()):
        user = row["user"]["user_id_hash"]
        if user != server_hash and number % 20:
            continue
        rows.append(
            {
                "event_id": row["event_id"],
                "event_type": row["event_type"],
                "ts": row["ts"],
                "ingest_ts": row["ingest_ts"],
                "arrive_ts": row["ts"],
                "shard_id": "shardId-000000000000",
                "sequence_number": str(number),
                "session_id": (row["session"] or {}).get("session_id"),
                "user_id_hash": user,
                "geo_country": row["user"]["geo_country"],
                "page_url": (row["ctx"] or {}).get("page_url"),
                "is_bot": row["is_bot"],
            }
        )
    store = RealtimeStore(settings)
    try:
        store.add([{name: row.get(name) for name in EVENT_SCHEMA.names} for row in rows])
        assert store.publish()
    finally:
        store.close()


def _fill_dead_letters(settings: Settings, server_hash: str) -> int:
    """Two dead letters of the user and three of others; the others' count."""
    queue = DeadLetterQueue.named(client(settings, "sqs"), settings.dlq_name)
    records = [
        StreamRecord(orjson.dumps({"event_id": f"e{n}", "user": {"user_id_hash": user}}), "s")
        for n, user in enumerate([server_hash, server_hash, "sha256:other", None, "sha256:x"])
    ]
    assert all(queue.send(records))
    return 3


def _fill_line_files(settings: Settings, server_hash: str) -> None:
    alerts = settings.home / "alerts"
    alerts.mkdir(parents=True, exist_ok=True)
    (alerts / "alerts.jsonl").write_bytes(
        orjson.dumps({"alert_id": "a1", "event": {"user": {"user_id_hash": server_hash}}})
        + b"\n"
        + orjson.dumps({"alert_id": "a2", "event": {"user": {"user_id_hash": "sha256:other"}}})
        + b"\n"
    )


def _fill_stream(settings: Settings, server_hash: str) -> None:
    """The user's records on the home's local stream, among others' not yet delivered."""
    users = [server_hash] * 3 + [f"sha256:{n:064x}" for n in range(OTHERS_ON_STREAM)]
    records = [
        {
            "Data": orjson.dumps({"event_id": f"s{n}", "user": {"user_id_hash": user}}),
            "PartitionKey": f"session-{n}",
        }
        for n, user in enumerate(users)
    ]
    answer = client(settings, "kinesis").put_records(
        StreamName=settings.stream_name, Records=records
    )
    assert answer["FailedRecordCount"] == 0


def _sql_counts(
    settings: Settings, tables: tuple[str, ...], server: str, tokens: list[str]
) -> dict[str, int]:
    """The subject's rows of each table, counted in SQL (independently of the erase's code)."""
    conn = connect(settings, open_catalog(settings))
    try:
        return {name: _sql_count(conn, name, server, tokens) for name in tables}
    finally:
        conn.close()


def _sql_count(
    conn: duckdb.DuckDBPyConnection, identifier: str, server: str, tokens: list[str]
) -> int:
    columns = conn.execute(f"describe {identifier}").to_arrow_table().to_pylist()
    terms = []
    for column in columns:
        name, kind = column["column_name"], column["column_type"]
        if name.endswith("user_id_hash"):
            terms.append(f"\"{name}\" = '{server}'")
        elif kind.startswith("STRUCT") and "user_id_hash" in kind:
            terms.append(f"\"{name}\".user_id_hash = '{server}'")
        elif kind == "VARCHAR":
            terms += [f"contains(\"{name}\", '{token}')" for token in tokens]
    if not terms:
        return 0
    found = conn.execute(f"select count(*) from {identifier} where {' or '.join(terms)}")
    row = found.fetchone()
    return int(row[0]) if row else 0


def _rows_text(rows: pa.Table) -> list[str]:
    return [orjson.dumps(row, default=str).decode() for row in rows.to_pylist()]


def _other_rows(settings: Settings, identifier: str, excluded: list[str]) -> list[str]:
    """Every row of the table that mentions none of ``excluded``, sorted."""
    rows = open_catalog(settings).load_table(identifier).scan().to_arrow()
    return sorted(text for text in _rows_text(rows) if not any(t in text for t in excluded))


def _digest(rows: list[str]) -> str:
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def _subject_keys(settings: Settings, server: str) -> list[str]:
    """The user's event and session ids: rows of aggregates that are the user's name none."""
    bronze = open_catalog(settings).load_table("lake.bronze_events").scan().to_arrow()
    keys = set()
    for row in bronze.to_pylist():
        if row["user"]["user_id_hash"] == server:
            keys.add(row["event_id"])
            if (row["session"] or {}).get("session_id"):
                keys.add(row["session"]["session_id"])
    return sorted(keys)


SIX_HOURS = TrafficConfig(events=1_500, seed=11, start=START, days=0.25, invalid_share=0.02)
"""Six hours of traffic, with more invalid events than by default: quarantined users."""


@pytest.fixture(scope="module")
def erased(
    tmp_path_factory: pytest.TempPathFactory, local_aws: LocalAwsSettings
) -> Iterator[Erased]:
    yield from erased_after(SIX_HOURS, tmp_path_factory, local_aws)


def erased_after(
    config: TrafficConfig, tmp_path_factory: pytest.TempPathFactory, local_aws: LocalAwsSettings
) -> Iterator[Erased]:
    """The lake of ``config``'s traffic, exported and erased; the home's own local stream
    engine runs throughout (its store under the home), as in ``make dev``."""
    home = tmp_path_factory.mktemp("privacy") / "home"
    ports = LocalAwsSettings(port=local_aws.port, kinesis_port=free_port())
    home.mkdir(parents=True)
    with kinesis_engine(ports, home):  # its store in <home>/kinesis
        yield _erased(home, ports, config)


def _erased(home: Path, ports: LocalAwsSettings, config: TrafficConfig) -> Erased:
    settings = aws_settings_at(home, ports)
    write_landing(config, landing_store(settings), settings, workers=1)
    for hour in landed_hours(settings):
        load_hour(settings, hour)
    build_lake(settings, run_tests=False, capture=True)
    client_hash, server = _choose_subject(settings)
    _fill_realtime(settings, server)
    others = _fill_dead_letters(settings, server)
    _fill_line_files(settings, server)
    _fill_stream(settings, server)

    tokens = [server.removeprefix("sha256:"), client_hash.removeprefix("sha256:")]
    excluded = tokens + _subject_keys(settings, server)
    tables = tuple(lake_tables(open_catalog(settings), settings))
    export_path = settings.home.parent / "export.json"
    exported = _clickstream(
        settings, "privacy", "export", "--client-hash", client_hash, "--out", str(export_path)
    )
    assert exported.returncode == 0, exported.stderr
    before = Before(
        export=json.loads(export_path.read_text()),
        sql_counts=_sql_counts(settings, tables, server, tokens),
        other_rows={name: _other_rows(settings, name, excluded) for name in tables},
        excluded=tuple(excluded),
        stream_store_held=any(
            _holds(path.read_bytes(), _searched_forms(tokens))
            for path in (settings.home / "kinesis").rglob("*")
            if path.is_file()
        ),
    )
    export_path.unlink()

    killed = [
        _clickstream(
            settings, "privacy", "erase", "--client-hash", client_hash, **{HALT_VARIABLE: halt}
        )
        for halt in HALTS
    ]
    resumed = _clickstream(settings, "privacy", "erase", "--user-hash", server)
    return Erased(settings, client_hash, server, before, killed, resumed, others)


def test_export_holds_exactly_the_users_rows(erased: Erased) -> None:
    counts = erased.before.export["counts"]["tables"]
    expected = {name: count for name, count in erased.before.sql_counts.items() if count}
    assert counts == expected
    assert {"lake.bronze_events", "lake.quarantine_events", "lake.silver_events"} <= set(counts)
    assert erased.before.export["counts"]["landing"] >= counts["lake.bronze_events"]
    assert erased.before.export["counts"]["realtime"] > 0
    assert erased.before.export["counts"]["files"] == 1
    assert erased.before.export["counts"]["dead_letters"] == 2


def test_an_erase_killed_after_every_step_resumes_to_completion(erased: Erased) -> None:
    assert [run.returncode for run in erased.killed] == [-9] * len(HALTS), [
        run.stderr for run in erased.killed
    ]
    assert erased.resumed.returncode == 0, erased.resumed.stderr
    assert "resumed and complete" in erased.resumed.stdout
    assert not (erased.settings.home / "privacy").exists() or not any(
        (erased.settings.home / "privacy").iterdir()
    )
    again = _clickstream(erased.settings, "privacy", "erase", "--client-hash", erased.client_hash)
    assert again.returncode == 0, again.stderr
    assert "0 rows from 0 tables, 0 landing objects" in again.stdout


def test_the_request_is_audited_without_personal_data(erased: Erased) -> None:
    settings = erased.settings
    rows = open_catalog(settings).load_table("lake.privacy_requests").scan().to_arrow()
    first = sorted(rows.to_pylist(), key=lambda row: row["requested_at"])[0]
    assert first["subject_hash"] == request_subject_hash(
        settings, from_server_hash(erased.server_hash)
    )
    removed = json.loads(first["rows_removed"])
    assert removed["lake.bronze_events"] == erased.before.sql_counts["lake.bronze_events"]
    assert removed["lake.quarantine_events"] == erased.before.sql_counts["lake.quarantine_events"]
    assert first["objects_rewritten"] > 0
    assert first["dead_letters_removed"] == 2
    assert first["stream_records_removed"] == 3
    assert first["completed_at"] >= first["requested_at"]
    text = json.dumps(rows.to_pylist(), default=str)
    assert erased.server_hash.removeprefix("sha256:") not in text


def _avro_blocks(data: bytes) -> Iterator[bytes]:
    """The decoded blocks of an Avro object container file (null or deflate codec)."""

    def long(position: int) -> tuple[int, int]:
        shift = result = 0
        while True:
            byte = data[position]
            position += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1), position

    def text(position: int) -> tuple[bytes, int]:
        size, position = long(position)
        return data[position : position + size], position + size

    assert data[:4] == b"Obj\x01"
    position, meta = 4, {}
    while True:
        count, position = long(position)
        if count == 0:
            break
        if count < 0:
            count = -count
            _, position = long(position)
        for _ in range(count):
            key, position = text(position)
            value, position = text(position)
            meta[key] = value
    codec = meta.get(b"avro.codec", b"null")
    position += 16
    while position < len(data):
        _, position = long(position)
        size, position = long(position)
        block = data[position : position + size]
        position += size + 16
        yield zlib.decompress(block, -15) if codec == b"deflate" else block


def _decoded(path: Path) -> bytes:
    """A file's bytes as readable text: decompressed, Parquet and Avro and DuckDB decoded."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        return raw + gzip.decompress(raw)
    if path.suffix == ".parquet":
        return raw + orjson.dumps(pq.read_table(path).to_pylist(), default=str)
    if raw[:4] == b"Obj\x01":
        return raw + b"".join(_avro_blocks(raw))
    if path.suffix == ".duckdb":
        conn = duckdb.connect(str(path), read_only=True)
        try:
            tables = conn.execute(
                "select table_name from information_schema.tables where table_type = 'BASE TABLE'"
            ).fetchall()
            rows = [conn.execute(f'select * from "{name}"').fetchall() for (name,) in tables]
        finally:
            conn.close()
        return raw + repr(rows).encode()
    return raw


def _searched_forms(tokens: Iterable[str]) -> list[bytes]:
    """Each hex token as it is and base64-encoded at each of the three byte alignments (the
    local stream engine stores record data in base64): the characters only the token decides."""
    forms = []
    for token in tokens:
        raw = token.encode()
        forms.append(raw)
        for shift in range(3):
            encoded = base64.b64encode(b"\0" * shift + raw)
            forms.append(encoded[4 if shift else 0 : (len(raw) + shift) // 3 * 4])
    return forms


def _holds(data: bytes, forms: list[bytes]) -> bool:
    return any(form in data for form in forms)


def test_no_byte_of_the_user_is_left_under_the_home(erased: Erased) -> None:
    forms = _searched_forms(
        [erased.server_hash.removeprefix("sha256:"), erased.client_hash.removeprefix("sha256:")]
    )
    assert erased.before.stream_store_held, "the search would not have seen the stream's records"
    searched = 0
    for path in sorted(erased.settings.home.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        searched += 1
        assert not _holds(_decoded(path), forms), path
    assert searched > 100


def test_the_local_stream_keeps_only_other_users_records(erased: Erased) -> None:
    remaining = stream_records(erased.settings)
    forms = _searched_forms([erased.server_hash.removeprefix("sha256:")])
    assert len(remaining) == OTHERS_ON_STREAM
    assert not any(_holds(data, forms) for data in remaining)


def test_every_other_row_is_unchanged(erased: Erased) -> None:
    settings = erased.settings
    tokens = [
        erased.server_hash.removeprefix("sha256:"),
        erased.client_hash.removeprefix("sha256:"),
    ]
    excluded = list(erased.before.excluded)
    held = tuple(erased.before.export["counts"]["tables"])
    assert set(_sql_counts(settings, held, erased.server_hash, tokens).values()) == {0}
    for name in [*held, "mart.fact_funnel"]:
        now, then = _other_rows(settings, name, excluded), erased.before.other_rows[name]
        if _digest(now) != _digest(then):
            changed = sorted(set(now) ^ set(then))[:4]
            pytest.fail(f"{name}: {len(now)} rows now, {len(then)} before; e.g. {changed}")
    queue = DeadLetterQueue.named(client(settings, "sqs"), settings.dlq_name)
    attributes = queue.client.get_queue_attributes(
        QueueUrl=queue.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert int(attributes["Attributes"]["ApproximateNumberOfMessages"]) == erased.other_dead_letters
    lines = (settings.home / "alerts" / "alerts.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["alert_id"] for line in lines] == ["a2"]


def test_aggregates_equal_a_full_rebuild_without_the_user(erased: Erased) -> None:
    settings = erased.settings
    catalog = open_catalog(settings)
    built = [
        name
        for name in lake_tables(catalog, settings)
        if name in DBT_TABLES or name.startswith(f"{settings.mart_namespace}.")
    ]
    after_erase = {
        name: sorted(_rows_text(catalog.load_table(name).scan().to_arrow())) for name in built
    }
    build_lake(settings, run_tests=False, capture=True)
    catalog = open_catalog(settings)
    for name in built:
        rebuilt = sorted(_rows_text(catalog.load_table(name).scan().to_arrow()))
        assert rebuilt == after_erase[name], name


def test_rewritten_landing_objects_are_not_taken_for_new_arrivals(erased: Erased) -> None:
    for hour in landed_hours(erased.settings):
        bronze, quarantine = load_hour(erased.settings, hour)
        assert bronze.skipped, hour
        assert quarantine.skipped or quarantine.objects == 0, hour
