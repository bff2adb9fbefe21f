"""Shared helpers for tests against a local AWS endpoint on a free port chosen at runtime."""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from streaming.contracts.aws_clients import client
from streaming.contracts.landing import LocalLandingStore, decode_records
from streaming.contracts.settings import LocalAwsSettings, Settings
from streaming.local_aws import local_aws_running

CLI = [sys.executable, "-m", "clickstream_cli.main"]
EVENT_TYPES = ("page_view", "chart_interaction", "affiliate_click")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_ports() -> LocalAwsSettings:
    """Ports of the local AWS servers (moto, the Kinesis engine), free right now."""
    return LocalAwsSettings(port=free_port(), kinesis_port=free_port())


def local_settings(
    home: Path,
    local_aws: LocalAwsSettings | None = None,
    stage: str = "dev",
    **overrides: Any,
) -> Settings:
    return Settings(
        env="local",
        home=home,
        stage=stage,
        local_aws=local_aws or free_ports(),
        **overrides,
    )


def process_environment(settings: Settings) -> dict[str, str]:
    """Environment of a subprocess that resolves to ``settings``."""
    return os.environ | {
        "CLICKSTREAM_ENV": "local",
        "CLICKSTREAM_HOME": str(settings.home),
        "CLICKSTREAM_STAGE": settings.stage,
        "CLICKSTREAM_LOCAL_AWS__PORT": str(settings.local_aws.port),
        "CLICKSTREAM_LOCAL_AWS__KINESIS_PORT": str(settings.local_aws.kinesis_port),
        "CLICKSTREAM_LOCAL_AWS__STREAM_SHARDS": str(settings.local_aws.stream_shards),
    }


@pytest.fixture(scope="module")
def local_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The local AWS servers for the whole module, stopped afterwards."""
    settings = local_settings(tmp_path_factory.mktemp("endpoint"))
    with local_aws_running(settings):
        yield settings


def events(count: int, *, first: int = 0) -> list[dict[str, Any]]:
    """Producer-like events of every type, each with a unique id and a session key."""
    return [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": EVENT_TYPES[index % len(EVENT_TYPES)],
            "session": {"session_id": f"session-{index % 37}"},
            "ctx": {"page_url": f"https://example.com/compare/{index}", "padding": "x" * 200},
            "n": index,
        }
        for index in range(first, first + count)
    ]


def put_records(settings: Settings, records: list[bytes], keys: list[str] | None = None) -> None:
    kinesis = client(settings, "kinesis")
    keys = keys or [f"key-{index}" for index in range(len(records))]
    entries = [{"Data": data, "PartitionKey": key} for data, key in zip(records, keys, strict=True)]
    for start in range(0, len(entries), 500):
        batch = entries[start : start + 500]
        response = kinesis.put_records(StreamName=settings.stream_name, Records=batch)
        assert response["FailedRecordCount"] == 0


def put_events(settings: Settings, batch: list[dict[str, Any]]) -> None:
    put_records(
        settings,
        [orjson.dumps(event) for event in batch],
        [event["session"]["session_id"] for event in batch],
    )


def landed(settings: Settings, prefix: str = "") -> dict[str, list[dict[str, Any]]]:
    store = LocalLandingStore(settings.landing_dir)
    return {item.key: decode_records(store.get(item.key)) for item in store.list(prefix)}


def landed_ids(settings: Settings) -> Counter[str]:
    return Counter(
        record["event_id"]
        for records in landed(settings, settings.landing_bronze_prefix).values()
        for record in records
    )
