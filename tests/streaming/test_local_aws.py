"""The local AWS servers: idempotent `up`, `status`, `down` without leftovers, local only, and a
stream whose records outlive its engine."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from aws_fixtures import CLI, local_settings, process_environment, put_records
from stream_support import stream_records

from streaming.contracts.aws_clients import client
from streaming.contracts.settings import Settings
from streaming.local_aws import (
    LocalAws,
    LocalAwsError,
    answers,
    ensure_resources,
    local_aws_running,
    pid_alive,
)


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
    settings = local_settings(tmp_path / "home")
    first = _clickstream(settings, "local", "up")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("started")
    local = LocalAws(settings)
    pids = {server.name: server.running_pid() for server in local.servers}
    assert all(pid is not None and pid_alive(pid) for pid in pids.values()), pids
    try:
        second = _clickstream(settings, "local", "up")
        assert second.returncode == 0, second.stderr
        assert second.stdout.startswith("reusing")
        assert {server.name: server.running_pid() for server in local.servers} == pids

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
        for name, pid in pids.items():
            assert f"local {name} server" in status.stdout
            assert f"up (pid {pid})" in status.stdout
        assert f"stream {settings.stream_name}: ACTIVE, 2 open shards" in status.stdout
        assert settings.dlq_name in status.stdout
    finally:
        down = _clickstream(settings, "local", "down")
    assert down.returncode == 0
    assert down.stdout.count("stopped") == 2
    assert not any(pid_alive(pid) for pid in pids.values() if pid)
    assert not any(server.pidfile.exists() for server in local.servers)
    assert not answers(settings, "kinesis")
    assert not answers(settings, "sqs")
    assert local.status().answering is False
    log = (settings.log_dir / "moto.log").read_text()
    assert "POST /" not in log  # no per-request logging


def test_local_endpoint_is_refused_in_aws(tmp_path: Path) -> None:
    settings = Settings(env="aws", aws_account_id="111111111111", home=tmp_path)
    with pytest.raises(LocalAwsError, match="CLICKSTREAM_ENV=local only"):
        LocalAws(settings)
    with pytest.raises(LocalAwsError):
        ensure_resources(settings)
    environment = process_environment(local_settings(tmp_path)) | {
        "CLICKSTREAM_ENV": "aws",
        "CLICKSTREAM_AWS_ACCOUNT_ID": "111111111111",
    }
    result = subprocess.run(
        [*CLI, "local", "up"], env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "CLICKSTREAM_ENV=local only" in result.stderr


def test_the_stream_keeps_its_records_when_its_engine_is_killed(tmp_path: Path) -> None:
    settings = local_settings(tmp_path / "home")
    local = LocalAws(settings)
    with local_aws_running(settings):
        put_records(settings, [b'{"event_type":"page_view","n":1}', b'{"event_type":"x","n":2}'])
        pid = local.kinesis.running_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # no chance to close the store
        assert not answers(settings, "kinesis")
        local.up()  # what `clickstream local up` does
        assert local.kinesis.running_pid() not in (None, pid)
        assert sorted(stream_records(settings)) == [
            b'{"event_type":"page_view","n":1}',
            b'{"event_type":"x","n":2}',
        ]
    assert local.running_pid() is None


def test_the_engine_answers_on_loopback_only(tmp_path: Path) -> None:
    settings = local_settings(tmp_path / "home")
    with local_aws_running(settings):
        port = f"{settings.local_aws.kinesis_port:04X}"
        listening = [
            line.split()[1]
            for table in ("/proc/net/tcp", "/proc/net/tcp6")
            for line in Path(table).read_text().splitlines()[1:]
            if line.split()[1].endswith(f":{port}") and line.split()[3] == "0A"
        ]
        assert listening == [f"0100007F:{port}"]


def test_resources_are_ensured_on_a_server_this_home_did_not_start(tmp_path: Path) -> None:
    owner = local_settings(tmp_path / "owner")
    with local_aws_running(owner):
        guest = local_settings(tmp_path / "guest", owner.local_aws, stage="guest")
        with local_aws_running(guest) as local:
            assert local.running_pid() is None  # reused, not started
            assert local.status().resources is not None
        assert answers(owner, "kinesis")  # the guest did not stop servers it did not start
        assert answers(owner, "sqs")
        resources = ensure_resources(guest)
        assert resources.stream == "ACTIVE"
        assert resources.dlq_url is not None
        assert ensure_resources(guest) == resources
        streams = client(owner, "kinesis").list_streams()["StreamNames"]
        assert sorted(streams) == sorted([owner.stream_name, guest.stream_name])


def test_a_client_gone_mid_request_does_not_stop_the_engine(tmp_path: Path) -> None:
    settings = local_settings(tmp_path / "home")
    with local_aws_running(settings):
        pid = LocalAws(settings).kinesis.running_pid()
        for _ in range(3):  # a request whose body never arrives whole
            with socket.create_connection(("127.0.0.1", settings.local_aws.kinesis_port)) as peer:
                peer.sendall(
                    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
                    b'X-Amz-Target: Kinesis_20131202.PutRecord\r\n\r\n{"StreamName":'
                )
        put_records(settings, [b'{"event_type":"page_view","n":1}'])
        assert LocalAws(settings).kinesis.running_pid() == pid
        assert stream_records(settings) == [b'{"event_type":"page_view","n":1}']
