"""The local AWS endpoint: idempotent `up`, `status`, `down` without leftovers, local only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from aws_fixtures import CLI, free_port, local_settings, process_environment, put_records

from streaming.aws_clients import client
from streaming.local_aws import (
    LocalAws,
    LocalAwsError,
    answers,
    ensure_resources,
    local_aws_running,
    pid_alive,
)
from streaming.settings import Settings


def _clickstream(settings: Settings, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *arguments],
        env=process_environment(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_up_twice_reuses_the_server_and_down_leaves_nothing(tmp_path: Path) -> None:
    settings = local_settings(tmp_path / "home", free_port())
    first = _clickstream(settings, "local", "up")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("started")
    local = LocalAws(settings)
    pid = local.running_pid()
    assert pid is not None and pid_alive(pid)
    try:
        second = _clickstream(settings, "local", "up")
        assert second.returncode == 0, second.stderr
        assert second.stdout.startswith("reusing")
        assert local.running_pid() == pid

        streams = client(settings, "kinesis").list_streams()["StreamNames"]
        assert streams == [settings.stream_name]
        queues = client(settings, "sqs").list_queues()["QueueUrls"]
        assert [url.rsplit("/", 1)[-1] for url in queues] == [settings.dlq_name]
        summary = client(settings, "kinesis").describe_stream_summary(
            StreamName=settings.stream_name
        )["StreamDescriptionSummary"]
        assert summary["OpenShardCount"] == settings.local_aws.stream_shards == 2

        status = _clickstream(settings, "local", "status")
        assert status.returncode == 0
        assert f"up (pid {pid})" in status.stdout
        assert f"stream {settings.stream_name}: ACTIVE, 2 open shards" in status.stdout
        assert settings.dlq_name in status.stdout
    finally:
        down = _clickstream(settings, "local", "down")
    assert down.returncode == 0
    assert "stopped" in down.stdout
    assert not pid_alive(pid)
    assert not local.pidfile.exists()
    assert not answers(settings)
    assert local.status().answering is False
    log = (settings.log_dir / "local-aws.log").read_text()
    assert "POST /" not in log  # no per-request logging


def test_local_endpoint_is_refused_in_aws(tmp_path: Path) -> None:
    settings = Settings(env="aws", aws_account_id="111111111111", home=tmp_path)
    with pytest.raises(LocalAwsError, match="CLICKSTREAM_ENV=local only"):
        LocalAws(settings)
    with pytest.raises(LocalAwsError):
        ensure_resources(settings)
    environment = process_environment(local_settings(tmp_path, free_port())) | {
        "CLICKSTREAM_ENV": "aws",
        "CLICKSTREAM_AWS_ACCOUNT_ID": "111111111111",
    }
    result = subprocess.run(
        [*CLI, "local", "up"], env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "CLICKSTREAM_ENV=local only" in result.stderr


def test_a_restarted_server_has_lost_the_stream_and_up_creates_it_again(tmp_path: Path) -> None:
    settings = local_settings(tmp_path / "home", free_port())
    local = LocalAws(settings)
    with local_aws_running(settings):
        put_records(settings, [b'{"event_type":"page_view"}'])
        assert local.running_pid() is not None
    assert local.running_pid() is None
    assert not answers(settings)
    with local_aws_running(settings):
        kinesis = client(settings, "kinesis")
        shard = kinesis.list_shards(StreamName=settings.stream_name)["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(
            StreamName=settings.stream_name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        assert kinesis.get_records(ShardIterator=iterator)["Records"] == []


def test_resources_are_ensured_on_a_server_this_home_did_not_start(tmp_path: Path) -> None:
    owner = local_settings(tmp_path / "owner", free_port())
    with local_aws_running(owner):
        guest = local_settings(tmp_path / "guest", owner.local_aws.port, stage="guest")
        with local_aws_running(guest) as local:
            assert local.running_pid() is None  # reused, not started
            assert local.status().resources is not None
        assert answers(owner)  # the guest did not stop a server it did not start
        resources = ensure_resources(guest)
        assert resources.stream == "ACTIVE"
        assert resources.dlq_url is not None
        assert ensure_resources(guest) == resources
        streams = client(owner, "kinesis").list_streams()["StreamNames"]
        assert sorted(streams) == sorted([owner.stream_name, guest.stream_name])
