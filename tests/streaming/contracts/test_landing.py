from __future__ import annotations

import gzip
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streaming.contracts.landing import (
    LocalLandingStore,
    bronze_key,
    decode_records,
    encode_lines,
    encode_records,
    quarantine_key,
    quarantine_record,
)
from streaming.contracts.settings import Settings

BRONZE_KEY = re.compile(
    r"^bronze/events_type=(page_view|chart_interaction|affiliate_click)/"
    r"ingest_dt=\d{4}-\d{2}-\d{2}/hour=\d{2}/"
    r"clickstream-dev-bronze-delivery-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}\.gz$"
)
OBJECT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CLICKSTREAM_HOME", str(tmp_path / "home"))
    return Settings()


def test_bronze_keys_follow_the_firehose_layout(settings: Settings) -> None:
    arrival = datetime(2026, 11, 22, 23, 59, 58, tzinfo=UTC)
    key = bronze_key(settings, "page_view", arrival, OBJECT_ID)
    assert BRONZE_KEY.match(key), key
    assert "/ingest_dt=2026-11-22/hour=23/" in key
    assert key.endswith(f"-2026-11-22-23-59-58-{OBJECT_ID}.gz")


def test_partitions_are_in_utc(settings: Settings) -> None:
    from datetime import timedelta, timezone

    arrival = datetime(2026, 11, 23, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert "/ingest_dt=2026-11-22/hour=23/" in bronze_key(settings, "page_view", arrival, "x")
    assert quarantine_key(settings, arrival, "x").startswith(
        "quarantine/ingest_dt=2026-11-22/hour=23/"
    )


def test_records_round_trip_as_gzip_ndjson() -> None:
    records = [{"event_id": "a", "n": 1}, {"event_id": "b", "nested": {"x": [1, 2]}}]
    body = encode_records(records)
    assert (
        gzip.decompress(body) == b'{"event_id":"a","n":1}\n{"event_id":"b","nested":{"x":[1,2]}}\n'
    )
    assert decode_records(body) == records
    assert encode_records(records) == body  # no timestamp in the gzip header


def test_local_store_writes_atomically_and_lists_only_complete_objects(tmp_path: Path) -> None:
    store = LocalLandingStore(tmp_path)
    (tmp_path / "bronze" / "x").mkdir(parents=True)
    (tmp_path / "bronze" / "x" / ".in-flight.part").write_bytes(b"partial")
    store.put("bronze/x/one.gz", b"1")
    store.put("bronze/y/two.gz", b"22")
    store.put("quarantine/three.gz", b"333")
    listed = [(item.key, item.size) for item in store.list("bronze")]
    assert listed == [("bronze/x/one.gz", 1), ("bronze/y/two.gz", 2)]
    assert store.get("quarantine/three.gz") == b"333"
    leftovers = sorted(path.name for path in tmp_path.rglob("*.part"))
    assert leftovers == [".in-flight.part"]  # only the foreign temp file; puts leave none


def test_quarantine_record_keeps_reasons_and_caps_the_payload() -> None:
    raw = b'{"event_type":"nope","padding":"' + b"x" * 100 + b'"}'
    record = quarantine_record(
        raw,
        [{"path": "/event_type", "keyword": "enum", "message": "not allowed"}],
        received_at_ms=5,
        source="web",
        kind="schema_violation",
        payload_cap=32,
    )
    assert record["payload"] == raw[:32].decode()
    assert record["payload_truncated"] is True
    assert record["payload_bytes"] == len(raw)
    assert record["reasons"][0]["path"] == "/event_type"
    assert record["kind"] == "schema_violation"


def test_s3_store_behaves_like_the_local_one(emulated_aws: None) -> None:
    import boto3

    from streaming.contracts.landing import S3LandingStore

    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="landing")
    store = S3LandingStore(client, "landing")
    body = encode_records([{"event_id": "a"}])
    store.put("bronze/x/one.gz", body)
    store.put("quarantine/two.gz", b"2")
    assert [(item.key, item.size) for item in store.list("bronze/")] == [
        ("bronze/x/one.gz", len(body))
    ]
    assert decode_records(store.get("bronze/x/one.gz")) == [{"event_id": "a"}]
    head = client.head_object(Bucket="landing", Key="bronze/x/one.gz")
    assert "ContentEncoding" not in head  # a .gz object, not transparently compressed


@pytest.mark.parametrize(("durable", "syncs"), [(True, 1), (False, 0)])
def test_a_local_store_syncs_each_object_unless_told_the_data_can_be_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool, syncs: int
) -> None:
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    store = LocalLandingStore(tmp_path, durable=durable)
    store.put("bronze/a.gz", encode_lines([b'{"a":1}']))
    assert len(synced) == syncs
    assert decode_records(store.get("bronze/a.gz")) == [{"a": 1}]
    assert [item.key for item in store.list("bronze/")] == ["bronze/a.gz"]
