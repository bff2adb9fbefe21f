"""Shared fixtures: the local AWS servers on free ports, and settings pointing at them."""

from __future__ import annotations

import itertools
import logging
import os
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

# The tests' data sets carry fixed dates from October 2026 on; the partitions must reach them
# (unset, they would start at the first day landed in the home the definitions load with).
os.environ.setdefault("CLICKSTREAM_ORCHESTRATION__START_DATE", "2026-10-01")

from lakehouse.dbt_invocation import process_environment
from streaming.contracts.aws_clients import client
from streaming.contracts.settings import IngestSettings, LocalAwsSettings, Settings, get_settings
from streaming.local_aws import answers, kinesis_engine_command

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient prefers another httpx package
    from starlette.testclient import TestClient

__all__ = ["EMULATED_AWS_REGION", "TestClient", "aws_settings_at", "free_port", "kinesis_engine"]

STREAM_SHARDS = 2
TEST_HMAC_SECRET = "test-hmac-secret"
_stages = itertools.count()


@pytest.fixture(autouse=True)
def _settings_read_afresh() -> Iterator[None]:
    """No test sees the settings another test's environment left cached."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@contextmanager
def home_environment(home: Path) -> Iterator[None]:
    """``CLICKSTREAM_HOME`` and ``DAGSTER_HOME`` under ``home`` inside the block (Dagster finds
    its instance through the environment); restored after."""
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    with process_environment(
        {"CLICKSTREAM_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    ):
        yield


EMULATED_AWS_REGION = "us-east-1"


@pytest.fixture
def emulated_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """AWS APIs emulated in this process (moto) for the test, with credentials that reach
    nothing else and the region ``EMULATED_AWS_REGION``."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": EMULATED_AWS_REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAwsSettings]:
    """The local AWS servers for the whole session: moto (SQS, STS, Glue, ...) and the local
    Kinesis engine with its records on disk, each on a free port of 127.0.0.1."""
    from moto.server import ThreadedMotoServer

    for name in ("werkzeug", "moto", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    ports = LocalAwsSettings(port=free_port(), kinesis_port=free_port())
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=ports.port, verbose=False)
    server.start()
    try:
        with kinesis_engine(ports, tmp_path_factory.mktemp("kinesis")):
            yield ports
    finally:
        server.stop()


@contextmanager
def kinesis_engine(ports: LocalAwsSettings, data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The local Kinesis engine as a child process, stopped afterwards."""
    settings = Settings(home=data_dir, local_aws=ports)
    log = (data_dir / "kinesis.log").open("ab")
    process = subprocess.Popen(
        kinesis_engine_command(settings), stdout=log, stderr=log, start_new_session=True
    )
    try:
        while not answers(settings, "kinesis"):
            assert process.poll() is None, (data_dir / "kinesis.log").read_text()
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def aws_settings_at(home: Path, local_aws: LocalAwsSettings, **ingest: object) -> Settings:
    """Settings on the local AWS APIs with a stream and DLQ of their own (a fresh stage)."""
    settings = Settings(
        home=home,
        stage=f"t{os.getpid()}-{next(_stages)}",
        local_aws=local_aws,
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
def aws_settings(tmp_path: Path, local_aws: LocalAwsSettings) -> Settings:
    return aws_settings_at(tmp_path / "home", local_aws)
