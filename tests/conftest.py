"""Shared fixtures: a local AWS API (moto) on a free port, and settings pointing at it."""

from __future__ import annotations

import itertools
import logging
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from streaming.aws_clients import client
from streaming.settings import IngestSettings, LocalAwsSettings, Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient prefers another httpx package
    from starlette.testclient import TestClient

__all__ = ["TestClient", "aws_settings_at", "free_port"]

STREAM_SHARDS = 2
TEST_HMAC_SECRET = "test-hmac-secret"
_stages = itertools.count()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def moto_port() -> Iterator[int]:
    from moto.server import ThreadedMotoServer

    for name in ("werkzeug", "moto", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield port
    finally:
        server.stop()


def aws_settings_at(home: Path, port: int, **ingest: object) -> Settings:
    """Settings on the local AWS API with a stream and DLQ of their own (a fresh stage)."""
    settings = Settings(
        home=home,
        stage=f"t{next(_stages)}",
        local_aws=LocalAwsSettings(port=port),
        ingest=IngestSettings(hmac_secret=SecretStr(TEST_HMAC_SECRET), **ingest),  # type: ignore[arg-type]
    )
    kinesis = client(settings, "kinesis")
    kinesis.create_stream(StreamName=settings.stream_name, ShardCount=STREAM_SHARDS)
    kinesis.get_waiter("stream_exists").wait(
        StreamName=settings.stream_name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 100}
    )
    client(settings, "sqs").create_queue(QueueName=settings.dlq_name)
    return settings


@pytest.fixture
def aws_settings(tmp_path: Path, moto_port: int) -> Settings:
    return aws_settings_at(tmp_path / "home", moto_port)
