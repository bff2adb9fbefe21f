from __future__ import annotations

import gzip
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from pyiceberg.expressions.visitors import inclusive_projection, manifest_evaluator

from lakehouse import bronze_duckdb, engine
from lakehouse.bronze_load import (
    BronzeLoadResult,
    load_bronze_hour,
    load_hour,
    load_quarantine_hour,
)
from lakehouse.catalog import open_catalog
from lakehouse.load_ledger import hour_filter
from lakehouse.tables import TABLE_PROPERTIES
from streaming.contracts.landing import (
    IngestHour,
    LocalLandingStore,
    bronze_key,
    decode_records,
    encode_records,
    landed_hours,
)
from streaming.contracts.settings import Settings
from streaming.generator.config import TrafficConfig
from streaming.generator.sinks.landing import write_landing

HOUR = datetime(2026, 11, 1, 0, tzinfo=UTC)
NEXT_HOUR = datetime(2026, 11, 1, 1, tzinfo=UTC)
LATE_ID = "00000000-0000-4000-8000-00000000late"
BAD_ID = "00000000-0000-4000-8000-0000000000bad"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two hours of landed traffic, generated once for the module."""
    home = tmp_path_factory.mktemp("generated")
    settings = Settings(home=home)
    config = TrafficConfig(events=4_000, seed=11, start=HOUR, days=2 / 24)
    write_landing(config, LocalLandingStore(settings.landing_dir), settings)
    return settings.landing_dir


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture
def store(generated: Path, tmp_path: Path) -> LocalLandingStore:
    """A private copy of the generated landing store: tests add objects to it."""
    root = tmp_path / "landing"
    shutil.copytree(generated, root)
    return LocalLandingStore(root)


def landed(store: LocalLandingStore, hour: datetime) -> dict[str, list[dict[str, Any]]]:
    """Records of the hour's bronze objects, by key."""
    marker = f"/ingest_dt={hour:%Y-%m-%d}/hour={hour:%H}/"
    return {
        item.key: decode_records(store.get(item.key))
        for item in store.list("bronze/")
        if marker in item.key
    }


def bronze_rows(settings: Settings) -> pa.Table:
    return open_catalog(settings).load_table("lake.bronze_events").scan().to_arrow()


def quarantine_rows(settings: Settings) -> list[dict[str, Any]]:
    table = open_catalog(settings).load_table("lake.quarantine_events")
    return table.scan().to_arrow().to_pylist()


def load(
    settings: Settings, store: LocalLandingStore, hour: datetime, **kw: Any
) -> BronzeLoadResult:
    return load_bronze_hour(settings, hour, store=store, **kw)


def canonical(table: pa.Table) -> list[bytes]:
    return sorted(orjson.dumps(row, default=str) for row in table.to_pylist())


def test_an_hour_loads_every_landed_line(settings: Settings, store: LocalLandingStore) -> None:
    objects = landed(store, HOUR)
    lines = sum(len(records) for records in objects.values())
    result = load(settings, store, HOUR)

    assert (result.objects, result.lines, result.loaded_rows) == (len(objects), lines, lines)
    assert result.quarantined_rows == 0 and not result.skipped
    rows = bronze_rows(settings)
    assert rows.num_rows == lines
    assert Counter(rows.column("source_object").to_pylist()) == {
        key: len(records) for key, records in objects.items()
    }
    catalog = open_catalog(settings)
    with engine.connect(settings, catalog) as conn:
        assert conn.execute("select count(*) from lake.bronze_events").fetchone() == (lines,)
        read_by_duckdb = conn.execute(
            'select source_object, event_id, ingest_ts, ts, "user".geo_country, '
            "session.utm.source, chart.control_value, chart.product_ids, "
            "affiliate.payout_cents from lake.bronze_events where ingest_dt = ?",
            [HOUR.date()],
        ).fetchall()
    read_by_pyiceberg = [
        (
            row["source_object"],
            row["event_id"],
            row["ingest_ts"],
            row["ts"],
            row["user"]["geo_country"],
            (row["session"] or {}).get("utm") and row["session"]["utm"]["source"],
            row["chart"] and row["chart"]["control_value"],
            row["chart"] and row["chart"]["product_ids"],
            row["affiliate"] and row["affiliate"]["payout_cents"],
        )
        for row in rows.to_pylist()
    ]
    assert sorted(read_by_duckdb, key=repr) == sorted(read_by_pyiceberg, key=repr)


def test_struct_values_round_trip(settings: Settings, store: LocalLandingStore) -> None:
    load(settings, store, HOUR)
    rows = bronze_rows(settings).to_pylist()
    by_object = landed(store, HOUR)
    seen = Counter()
    for row in rows:
        sent = [
            record
            for record in by_object[row["source_object"]]
            if (record["event_id"], record["ingest_ts"]) == (row["event_id"], row["ingest_ts"])
        ]
        assert sent, row["event_id"]
        _matches(row, sent[0])
        seen[row["event_type"]] += 1
    assert set(seen) == {"page_view", "chart_interaction", "affiliate_click"}


def _matches(row: dict[str, Any], record: dict[str, Any]) -> None:
    ts = datetime.fromisoformat(record["ts"]).astimezone(UTC).replace(tzinfo=None)
    assert row["ts"] == ts
    for name in ("schema_version", "event_type", "ingest_ts", "source", "is_bot"):
        assert row[name] == record.get(name), name
    assert row["events_type"] == record["event_type"]
    for name in ("privacy", "user", "session", "ctx", "chart", "affiliate", "metadata"):
        _same(row[name], record.get(name), name)


def _same(stored: Any, sent: Any, where: str) -> None:
    if isinstance(stored, dict):
        assert isinstance(sent, dict), where
        for name, value in stored.items():
            _same(value, sent.get(name), f"{where}/{name}")
    elif isinstance(stored, list):
        assert len(stored) == len(sent), where
        for index, (value, original) in enumerate(zip(stored, sent, strict=True)):
            _same(value, original, f"{where}/{index}")
    elif isinstance(sent, bool | int | float) and isinstance(stored, str):
        assert stored == orjson.dumps(sent).decode(), where  # chart.control_value
    else:
        assert stored == sent, where


def test_partitions_are_event_type_ingest_date_and_hour(
    settings: Settings, store: LocalLandingStore
) -> None:
    load(settings, store, HOUR)
    load(settings, store, NEXT_HOUR)
    table = open_catalog(settings).load_table("lake.bronze_events")
    assert [field.name for field in table.spec().fields] == ["events_type", "ingest_dt", "hour"]
    partitions = {
        (task.file.partition[0], task.file.partition[2]) for task in table.scan().plan_files()
    }
    assert {hour for _, hour in partitions} == {"00", "01"}
    assert {event_type for event_type, _ in partitions} == {
        "page_view",
        "chart_interaction",
        "affiliate_click",
    }


def test_a_rerun_over_the_same_objects_is_a_no_op(
    settings: Settings, store: LocalLandingStore
) -> None:
    first = load(settings, store, HOUR)
    before = canonical(bronze_rows(settings))
    again = load(settings, store, HOUR)
    assert again.skipped
    assert again.snapshot_id == first.snapshot_id
    assert (again.objects, again.lines, again.loaded_rows) == (
        first.objects,
        first.lines,
        first.loaded_rows,
    )
    assert canonical(bronze_rows(settings)) == before


def test_a_late_object_replaces_the_hour_exactly(
    settings: Settings, store: LocalLandingStore
) -> None:
    load(settings, store, HOUR)
    _, records = next(iter(landed(store, HOUR).items()))
    late_key = bronze_key(settings, records[0]["event_type"], HOUR.replace(minute=59), LATE_ID)
    store.put(late_key, encode_records(records[:3]))
    objects = landed(store, HOUR)
    lines = sum(len(records) for records in objects.values())

    result = load(settings, store, HOUR)
    assert not result.skipped and result.loaded_rows == lines
    rows = bronze_rows(settings)
    assert rows.num_rows == lines
    assert Counter(rows.column("source_object").to_pylist()) == {
        key: len(records) for key, records in objects.items()
    }
    assert load(settings, store, HOUR).skipped


def _bad_object(settings: Settings, good: dict[str, Any]) -> tuple[str, bytes]:
    lines = [
        orjson.dumps(good),
        b'{"event_id": "broken", ',
        orjson.dumps(good | {"ts": "yesterday", "event_id": "bad-ts"}),
        orjson.dumps(good | {"affiliate": {"payout_cents": "abc"}, "event_id": "bad-payout"}),
        b"[1, 2, 3]",
        orjson.dumps(good | {"chart": {"control_value": 2.5}, "event_id": "numeric-control"}),
        orjson.dumps(good | {"chart": {"control_value": True}, "event_id": "boolean-control"}),
    ]
    key = bronze_key(settings, good["event_type"], HOUR.replace(minute=58), BAD_ID)
    return key, gzip.compress(b"\n".join(lines) + b"\n")


@pytest.mark.parametrize("engine_name", ["duckdb", "arrow"])
def test_bad_data_is_quarantined_and_the_rest_loads(
    settings: Settings, store: LocalLandingStore, engine_name: str
) -> None:
    objects = landed(store, HOUR)
    good_lines = sum(len(records) for records in objects.values())
    good = next(iter(objects.values()))[0]
    bad_key, bad_body = _bad_object(settings, good)
    store.put(bad_key, bad_body)
    corrupt_key = bronze_key(settings, "page_view", HOUR.replace(minute=57), BAD_ID)
    store.put(corrupt_key, b"\x1f\x8b\x08\x00 not gzip at all")

    result = load(settings, store, HOUR, engine=engine_name)

    assert result.quarantined_rows == 5  # the corrupt object and four bad lines
    assert result.loaded_rows == good_lines + 3
    assert result.lines == result.loaded_rows + result.quarantined_rows
    rows = bronze_rows(settings)
    assert rows.num_rows == result.loaded_rows
    loaded_ids = {row["event_id"] for row in rows.to_pylist() if row["source_object"] == bad_key}
    assert loaded_ids == {good["event_id"], "numeric-control", "boolean-control"}
    controls = {
        row["event_id"]: row["chart"]["control_value"]
        for row in rows.to_pylist()
        if row["event_id"] in ("numeric-control", "boolean-control")
    }
    assert controls == {"numeric-control": "2.5", "boolean-control": "true"}

    quarantined = {
        (row["source_object"], row["line_number"]): row for row in quarantine_rows(settings)
    }
    assert set(quarantined) == {(corrupt_key, None)} | {(bad_key, line) for line in (2, 3, 4, 5)}
    kinds = {place: row["kind"] for place, row in quarantined.items()}
    assert kinds[(corrupt_key, None)] == "corrupt_object"
    assert kinds[(bad_key, 2)] == "malformed_json"
    assert kinds[(bad_key, 3)] == "bad_field"
    assert kinds[(bad_key, 4)] == "bad_field"
    assert kinds[(bad_key, 5)] == "not_an_object"
    assert "/ts" in quarantined[(bad_key, 3)]["reasons"]
    assert "/affiliate/payout_cents" in quarantined[(bad_key, 4)]["reasons"]
    assert quarantined[(bad_key, 4)]["event_id"] == "bad-payout"
    assert all(row["stage"] == "bronze_load" for row in quarantined.values())
    ledger = open_catalog(settings).load_table("lake.bronze_load_ledger").scan().to_arrow()
    entries = {row["object_key"]: row for row in ledger.to_pylist()}
    assert entries[bad_key]["lines"] == 7
    assert (entries[bad_key]["loaded_rows"], entries[bad_key]["quarantined_rows"]) == (3, 4)
    assert entries[corrupt_key]["quarantined_rows"] == 1
    for entry in entries.values():
        assert entry["lines"] == entry["loaded_rows"] + entry["quarantined_rows"]


def test_a_fixed_object_replaces_its_quarantined_lines(
    settings: Settings, store: LocalLandingStore
) -> None:
    good = next(iter(landed(store, HOUR).values()))[0]
    bad_key, bad_body = _bad_object(settings, good)
    store.put(bad_key, bad_body)
    assert load(settings, store, HOUR).quarantined_rows == 4
    store.put(bad_key, encode_records([good]))
    result = load(settings, store, HOUR)
    assert result.quarantined_rows == 0
    assert quarantine_rows(settings) == []
    assert bronze_rows(settings).num_rows == result.loaded_rows == result.lines


def test_the_ingest_rejections_load_into_quarantine(
    settings: Settings, store: LocalLandingStore
) -> None:
    marker = f"/ingest_dt={HOUR:%Y-%m-%d}/hour={HOUR:%H}/"
    landed_records = [
        (item.key, record)
        for item in store.list("quarantine/")
        if marker in item.key
        for record in decode_records(store.get(item.key))
    ]
    assert landed_records, "the generator lands invalid traffic in quarantine"

    result = load_quarantine_hour(settings, HOUR, store=store)
    assert result.loaded_rows == result.lines == len(landed_records)
    rows = quarantine_rows(settings)
    assert {row["stage"] for row in rows} == {"ingest"}
    assert sorted((row["source_object"], row["payload"], row["kind"]) for row in rows) == sorted(
        (key, record["payload"], record["kind"]) for key, record in landed_records
    )
    for row in rows:
        assert orjson.loads(row["reasons"]), row
        assert row["kind"] in ("schema_violation", "unsupported_version")
        assert row["ingest_dt"] == HOUR.date() and row["hour"] == "00"
    again = load_quarantine_hour(settings, HOUR, store=store)
    assert again.skipped and again.snapshot_id == result.snapshot_id


def test_the_bronze_load_and_the_ingest_rejections_share_quarantine(
    settings: Settings, store: LocalLandingStore
) -> None:
    good = next(iter(landed(store, HOUR).values()))[0]
    bad_key, bad_body = _bad_object(settings, good)
    store.put(bad_key, bad_body)
    bronze, ingest = load_hour(settings, HOUR, store=store)
    assert bronze.quarantined_rows == 4 and ingest.loaded_rows > 0
    load(settings, store, HOUR, force=True)
    stages = Counter(row["stage"] for row in quarantine_rows(settings))
    assert stages == {"ingest": ingest.loaded_rows, "bronze_load": 4}


def test_both_engines_load_identical_rows(tmp_path: Path, store: LocalLandingStore) -> None:
    good = next(iter(landed(store, HOUR).values()))[0]
    bad_key, bad_body = _bad_object(Settings(home=tmp_path), good)
    store.put(bad_key, bad_body)
    loaded = {}
    for name in ("duckdb", "arrow"):
        settings = Settings(home=tmp_path / name)
        load(settings, store, HOUR, engine=name)
        loaded[name] = canonical(bronze_rows(settings))
    assert len(loaded["duckdb"]) > 1000
    assert loaded["duckdb"] == loaded["arrow"]


def test_an_s3_landing_store_loads_through_the_arrow_engine(
    tmp_path: Path, store: LocalLandingStore, emulated_aws: None
) -> None:
    import boto3

    from streaming.contracts.landing import S3LandingStore

    local = Settings(home=tmp_path / "local")
    load(local, store, HOUR)
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="landing")
    s3_store = S3LandingStore(client, "landing")
    for item in store.list("bronze/"):
        s3_store.put(item.key, store.get(item.key))
    remote = Settings(home=tmp_path / "remote")
    result = load_bronze_hour(remote, HOUR, store=s3_store)
    assert load_bronze_hour(remote, HOUR, store=s3_store).skipped
    assert result.loaded_rows == result.lines > 1000
    assert canonical(bronze_rows(remote)) == canonical(bronze_rows(local))


def test_small_chunks_load_the_same_rows_and_leave_no_scratch(
    tmp_path: Path, store: LocalLandingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = Settings(home=tmp_path / "whole")
    load(whole, store, HOUR)
    monkeypatch.setattr(bronze_duckdb, "CHUNK_BYTES", 1)  # one object per chunk
    scratch = tmp_path / "scratch"  # of its own: the default is shared by every load
    chunked = Settings(home=tmp_path / "chunked", duckdb={"scratch_dir": scratch})
    result = load(chunked, store, HOUR)

    assert result.objects > 3
    assert canonical(bronze_rows(chunked)) == canonical(bronze_rows(whole))
    assert scratch.is_dir()
    assert not any(scratch.iterdir())


def test_scratch_is_in_memory_when_there_is_room_else_under_the_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=tmp_path / "home")
    monkeypatch.setattr(bronze_duckdb, "MEMORY_SCRATCH", tmp_path / "shm")
    (tmp_path / "shm").mkdir()
    monkeypatch.setattr(bronze_duckdb, "MEMORY_SCRATCH_ROOM", 1)
    assert bronze_duckdb.Scratch.of(settings).folder.parent == tmp_path / "shm"
    monkeypatch.setattr(bronze_duckdb, "MEMORY_SCRATCH_ROOM", 2**62)
    assert bronze_duckdb.Scratch.of(settings).folder == settings.duckdb_dir / "scratch"
    chosen = Settings(home=tmp_path / "home", duckdb={"scratch_dir": tmp_path / "chosen"})
    assert bronze_duckdb.Scratch.of(chosen).folder == tmp_path / "chosen"


def test_scratch_left_by_a_load_that_died_is_cleared(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", duckdb={"scratch_dir": tmp_path / "scratch"})
    stale, current = tmp_path / "scratch" / "inflate-old", tmp_path / "scratch" / "inflate-new"
    for folder in (stale, current):
        (folder / "bronze").mkdir(parents=True)
    old = time.time() - bronze_duckdb.STALE_SCRATCH_S - 60
    os.utime(stale, (old, old))
    bronze_duckdb.Scratch.of(settings)
    assert not stale.exists()
    assert current.exists()


def test_a_record_landed_under_another_type_keeps_its_own_partition(
    settings: Settings, store: LocalLandingStore
) -> None:
    """The delivery lands each record under its own event type; should one arrive under
    another, bronze still partitions it by the type the record carries."""
    good = next(
        records[0]
        for records in landed(store, HOUR).values()
        if records[0]["event_type"] == "page_view"
    )
    key = bronze_key(settings, "affiliate_click", HOUR.replace(minute=59), BAD_ID)
    store.put(key, encode_records([good | {"event_id": "misfiled"}]))

    result = load(settings, store, HOUR)

    assert result.quarantined_rows == 0 and result.loaded_rows == result.lines
    table = open_catalog(settings).load_table("lake.bronze_events")
    partitions = {
        task.file.partition[0]
        for task in table.scan(row_filter="event_id == 'misfiled'").plan_files()
    }
    assert "page_view" in partitions
    misfiled = table.scan(row_filter="event_id == 'misfiled'").to_arrow().to_pylist()
    assert [(row["events_type"], row["source_object"]) for row in misfiled] == [("page_view", key)]


@pytest.mark.parametrize(
    "cut_bytes",
    [
        pytest.param(lambda second: len(second) // 2, id="inside-the-data"),
        pytest.param(lambda second: len(second) - 4, id="inside-the-trailer"),
    ],
)
def test_an_object_cut_off_inside_a_gzip_member_is_quarantined_whole(
    settings: Settings, store: LocalLandingStore, cut_bytes: Callable[[bytes], int]
) -> None:
    good = next(iter(landed(store, HOUR).values()))[0]
    whole = encode_records([good | {"event_id": "first"}])
    second = encode_records([good | {"event_id": "second"}])
    key = bronze_key(settings, good["event_type"], HOUR.replace(minute=56), BAD_ID)
    store.put(key, whole + second[: cut_bytes(second)])

    result = load(settings, store, HOUR)

    assert result.lines == result.loaded_rows + result.quarantined_rows
    rows = quarantine_rows(settings)
    assert [(row["source_object"], row["kind"]) for row in rows] == [(key, "corrupt_object")]
    assert "first" not in {row["event_id"] for row in bronze_rows(settings).to_pylist()}


def test_an_hourly_load_reads_the_newest_manifests_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Merged into manifests of bounded size, a day of hourly loads leaves manifests of
    consecutive hours: the next hour's replacement is planned from the newest of them, not from
    one manifest of every file."""
    monkeypatch.setitem(TABLE_PROPERTIES, "commit.manifest.target-size-bytes", str(16 * 1024))
    settings = Settings(home=tmp_path / "home")
    config = TrafficConfig(events=2_400, seed=5, start=HOUR, days=1)
    write_landing(config, LocalLandingStore(settings.landing_dir), settings)
    hours = landed_hours(settings)
    assert len(hours) >= 20
    catalog = open_catalog(settings)
    for hour in hours:
        load_hour(settings, hour, catalog=catalog)

    table = catalog.load_table("lake.bronze_events")
    spec, schema = table.spec(), table.schema()
    manifests = table.current_snapshot().manifests(table.io)
    newest = hour_filter(IngestHour.of(hours[-1]))
    holds_newest = manifest_evaluator(spec, schema, inclusive_projection(schema, spec)(newest))
    assert len(manifests) >= 6
    assert sum(map(holds_newest, manifests)) <= 3
    landed_lines = sum(
        len(decode_records(LocalLandingStore(settings.landing_dir).get(item.key)))
        for item in LocalLandingStore(settings.landing_dir).list("bronze/")
    )
    assert table.scan().count() == landed_lines
