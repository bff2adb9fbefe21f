"""The privacy erase's ``stream`` step on a local stream engine that is not running: started
for the step, the subject's records deleted, stopped again; a malformed request refused."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import orjson
from conftest import free_port
from stream_support import stream_records

from lakehouse.privacy.local_stream import erase_from_local_stream
from lakehouse.privacy.subject import from_server_hash
from streaming.contracts.aws_clients import client
from streaming.contracts.settings import LocalAwsSettings, Settings
from streaming.local_aws import ERASE_RECORDS_PATH, LocalAws


def _settings(home: Path) -> Settings:
    ports = LocalAwsSettings(port=free_port(), kinesis_port=free_port())
    return Settings(home=home, stage="erase", local_aws=ports)


def test_a_stopped_engine_is_started_for_the_step_and_stopped_again(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    user = f"sha256:{secrets.token_hex(32)}"
    others = [f"sha256:{secrets.token_hex(32)}" for _ in range(5)]
    engine = LocalAws(settings).kinesis
    engine.start()
    try:
        kinesis = client(settings, "kinesis")
        kinesis.create_stream(StreamName=settings.stream_name, ShardCount=2)
        kinesis.get_waiter("stream_exists").wait(StreamName=settings.stream_name)
        kinesis.put_records(
            StreamName=settings.stream_name,
            Records=[
                {"Data": orjson.dumps({"user": {"user_id_hash": hash_}}), "PartitionKey": str(n)}
                for n, hash_ in enumerate([user, *others, user])
            ],
        )
    finally:
        engine.stop()
    assert not engine.answers()

    assert erase_from_local_stream(settings, from_server_hash(user)) == 2
    assert not engine.answers()

    engine.start()
    try:
        remaining = [
            orjson.loads(data)["user"]["user_id_hash"] for data in stream_records(settings)
        ]
        assert sorted(remaining) == sorted(others)
    finally:
        engine.stop()


def test_a_home_without_a_stream_store_has_nothing_to_erase(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    user = from_server_hash(f"sha256:{secrets.token_hex(32)}")
    assert erase_from_local_stream(settings, user) == 0
    assert not settings.local_stream_dir.exists()


def test_the_engine_refuses_a_malformed_erase_request(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    engine = LocalAws(settings).kinesis
    engine.start()
    try:
        url = f"{engine.endpoint}{ERASE_RECORDS_PATH}"
        for body in (b"not json", b'{"tokens": []}', b'{"tokens": ["short"]}'):
            answer = httpx.post(url, content=body)
            assert answer.status_code == 400, answer.text
            assert answer.json()["message"]
    finally:
        engine.stop()
