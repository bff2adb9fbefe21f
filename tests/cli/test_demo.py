"""`make demo` runs `clickstream demo`: a day of traffic through the local stack, the lake
materialised through Dagster. The volume is the one whose demo failed twice out of two on the
in-memory stream the project used before: the local stream must carry it every time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import free_port

BIN = Path(sys.executable).parent
DEMO_EVENTS = 50_000


def test_demo_sends_a_day_through_the_stack_and_materialises_the_lake(tmp_path: Path) -> None:
    home = tmp_path / "home"
    stale = home / "landing" / "bronze" / "events_type=page_view" / "stale.gz"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over from an earlier run")
    environment = dict(
        os.environ,
        CLICKSTREAM_HOME=str(home),
        HOME=str(tmp_path),
        COLUMNS="160",
        CLICKSTREAM_LOCAL_AWS__PORT=str(free_port()),
        CLICKSTREAM_LOCAL_AWS__KINESIS_PORT=str(free_port()),
        CLICKSTREAM_INGEST__PORT=str(free_port()),
    )
    environment.pop("CLICKSTREAM_ENV", None)
    environment.pop("DAGSTER_HOME", None)
    result = subprocess.run(
        [BIN / "clickstream", "demo", "--events", str(DEMO_EVENTS), "--seed", "3"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "traffic sent through the HTTP ingest" in out
    assert "every stage and blocking check passed" in out
    for job in ("bronze_load", "segments_refresh", "lake_refresh"):
        assert job in out
    for table in ("mart.fact_funnel", "mart.fact_affiliate_clicks", "lake.silver_events"):
        assert table in out
    assert "clicked affiliate" in out
    assert not list((home / "run").glob("*.pid")), "the demo leaves no server running"
    assert "restarted" not in out
    runs = list((home / "dagster" / "storage").iterdir())
    assert len(runs) >= 3, "the runs are recorded in the Dagster home for the UI"
    assert not stale.exists()
    bronze = list((home / "landing" / "bronze").rglob("*.gz"))
    quarantine = list((home / "landing" / "quarantine").rglob("*.gz"))
    assert bronze
    assert quarantine
    assert list((home / "landing" / "reference" / "user_segments").glob("*.jsonl.gz"))


def test_demo_refuses_to_run_against_aws(tmp_path: Path) -> None:
    environment = dict(
        os.environ,
        CLICKSTREAM_HOME=str(tmp_path / "home"),
        CLICKSTREAM_ENV="aws",
        CLICKSTREAM_AWS_ACCOUNT_ID="210987654321",
    )
    result = subprocess.run(
        [BIN / "clickstream", "demo", "--events", "10"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "local default" in result.stdout
    assert not (tmp_path / "home" / "landing").exists()


def test_demo_refuses_the_servers_of_another_home(tmp_path: Path) -> None:
    from aws_fixtures import local_settings, process_environment

    from streaming.local_aws import local_aws_running

    owner = local_settings(tmp_path / "owner")
    with local_aws_running(owner):
        environment = process_environment(local_settings(tmp_path / "demo", owner.local_aws))
        result = subprocess.run(
            [BIN / "clickstream", "demo", "--events", "10"],
            env=environment | {"COLUMNS": "200"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "belongs to another local home" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
