"""The real-time Redshift SQL executed, not only parsed: the streaming view and the minute marts,
transpiled to DuckDB (tests/redshift_execution.py), over stream records shaped as the Kinesis
external schema presents them, equal the local consumer's marts for the same records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pytest

from streaming.contracts.landing import decode_records, landing_store
from streaming.contracts.settings import Settings
from streaming.delivery.records import BRONZE, route
from streaming.follower.readers import ShardRecord
from streaming.generator.config import TrafficConfig
from streaming.generator.sinks.landing import write_landing
from streaming.realtime.consumer import event_row
from streaming.realtime.local_sql import MARTS
from streaming.realtime.store import RealtimeStore, open_realtime
from tests.athena_execution import first_differences, normalised_rows, rows_hash
from tests.redshift_execution import STREAM_COLUMNS, redshift_on_duckdb, to_duckdb

SHARDS = ("shardId-000000000000", "shardId-000000000001")
# Events this close to the edge of a "last N minutes" window could fall either side of it
# between the two queries; the sample keeps none there.
EDGE = timedelta(minutes=2)


def _payloads(home: Path, now: datetime) -> list[dict[str, object]]:
    """The last hour of generated traffic as the ingest wrote it to the stream, in arrival order."""
    settings = Settings(home=home)
    start = (now - timedelta(minutes=57)).replace(second=0, microsecond=0)
    config = TrafficConfig(events=1_500, seed=31, start=start, days=50 / 1440)
    store = landing_store(settings)
    write_landing(config, store, settings, workers=1)
    payloads = [
        record
        for landed in store.list(settings.landing_bronze_prefix + "/")
        for record in decode_records(store.get(landed.key))
    ]
    return sorted(payloads, key=lambda payload: (payload["ingest_ts"], payload["event_id"]))


def _outside_window_edges(payload: dict[str, object], now: datetime) -> bool:
    ts = datetime.fromisoformat(str(payload["ts"]).replace("Z", "+00:00"))
    edges = (now - timedelta(minutes=60), now - timedelta(minutes=5), now)
    return all(abs(ts - edge) > EDGE for edge in edges)


def _stream_records(payloads: list[dict[str, object]]) -> list[ShardRecord]:
    """Each payload on the shard of its session, arriving when it was ingested; every 50th is
    re-sent a second later (a producer retry: same event, new record)."""
    records = []
    sent = [*payloads, *payloads[::50]]
    for number, payload in enumerate(sent):
        session = payload.get("session") or {}
        key = str(session.get("session_id") or payload["event_id"])  # type: ignore[union-attr]
        arrival = datetime.fromtimestamp(int(payload["ingest_ts"]) / 1000, UTC)  # type: ignore[call-overload]
        if number >= len(payloads):
            arrival += timedelta(seconds=1)
        records.append(
            ShardRecord(
                shard_id=SHARDS[hash(key) % len(SHARDS)],
                sequence_number=f"{49_000_000_000 + number:056d}",
                partition_key=key,
                data=orjson.dumps(payload),
                arrival=arrival,
            )
        )
    return sorted(records, key=lambda record: (record.arrival, record.sequence_number))


def _external_schema_rows(records: list[ShardRecord]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "approximate_arrival_timestamp": record.arrival.replace(tzinfo=None),
                "partition_key": record.partition_key,
                "shard_id": record.shard_id,
                "sequence_number": record.sequence_number,
                "kinesis_data": record.data,
            }
            for record in records
        ],
        schema=STREAM_COLUMNS,
    )


@pytest.fixture(scope="module")
def marts(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, tuple[pa.Table, pa.Table]]]:
    now = datetime.now(UTC)
    payloads = [
        payload
        for payload in _payloads(tmp_path_factory.mktemp("rt-landing"), now)
        if _outside_window_edges(payload, now)
    ]
    records = _stream_records(payloads)
    settings = Settings(home=tmp_path_factory.mktemp("rt-local"))
    rows = []
    for record in records:
        routed = route(record)
        if routed.partition.kind == BRONZE and (row := event_row(record, routed.record)):
            rows.append(row)
    store = RealtimeStore(settings)
    store.add(rows)
    store.publish()
    store.close()
    redshift = redshift_on_duckdb(settings, _external_schema_rows(records))
    schema = settings.redshift.rt_schema
    with open_realtime(settings) as local:
        yield {
            mart: (
                local.execute(f"select * from rt.{mart}").fetch_arrow_table(),
                redshift.execute(f"select * from {schema}.{mart}").fetch_arrow_table(),
            )
            for mart in (*MARTS, "events")
        }
    redshift.close()


def test_every_real_time_mart_equals_the_local_consumers(
    marts: dict[str, tuple[pa.Table, pa.Table]],
) -> None:
    failures = []
    for mart in MARTS:
        local, redshift = marts[mart]
        assert local.num_rows > 0, mart
        assert set(local.column_names) == set(redshift.column_names), mart
        local_rows = normalised_rows(local, local.column_names)
        redshift_rows = normalised_rows(redshift, local.column_names)
        if rows_hash(local_rows) != rows_hash(redshift_rows):
            failures.append(
                f"{mart}: {len(local_rows)} local rows, {len(redshift_rows)} redshift rows\n  "
                + "\n  ".join(first_differences(local_rows, redshift_rows))
            )
    assert not failures, "\n".join(failures)


def test_the_events_view_keeps_one_copy_per_event_with_every_field(
    marts: dict[str, tuple[pa.Table, pa.Table]],
) -> None:
    local, redshift = marts["events"]
    assert local.num_rows == redshift.num_rows > 0
    columns = [name for name in local.column_names if name != "arrive_ts"]
    assert normalised_rows(local, columns) == normalised_rows(redshift, columns)
    nested = [
        redshift.column(name).null_count < redshift.num_rows
        for name in ("session_id", "user_id_hash", "page_url", "utm_source", "affiliate_target")
    ]
    assert all(nested)  # nested paths read something (not only the first path element)


def test_json_extract_path_text_reads_the_whole_path() -> None:
    """sqlglot writes JSON_EXTRACT_PATH_TEXT(t, 'a', 'b') for DuckDB as t ->> 'a': the rewrite
    keeps every path element and TRUE's null for invalid JSON."""
    sql = to_duckdb(
        "SELECT JSON_EXTRACT_PATH_TEXT(FROM_VARBYTE(data, 'utf-8'), 'session', 'utm', 'source', "
        "TRUE) AS source, CAN_JSON_PARSE(data) AS valid FROM records"
    )
    connection = duckdb.connect()
    connection.execute("CREATE TABLE records (data BLOB)")
    connection.execute(
        'INSERT INTO records VALUES (encode(\'{"session": {"utm": {"source": "news"}}}\')), '
        "(encode('{\"session\": {}}')), (encode('{not json'))"
    )
    assert connection.execute(sql).fetchall() == [("news", True), (None, True), (None, False)]
