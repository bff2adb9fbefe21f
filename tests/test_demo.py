"""`make demo` runs `clickstream demo`: land a day of traffic, reconcile it, build the lake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def test_demo_lands_a_day_of_traffic_and_reconciles(tmp_path: Path) -> None:
    home = tmp_path / "home"
    stale = home / "landing" / "bronze" / "events_type=page_view" / "stale.gz"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over from an earlier run")
    environment = dict(os.environ, CLICKSTREAM_HOME=str(home), HOME=str(tmp_path), COLUMNS="120")
    environment.pop("CLICKSTREAM_ENV", None)
    result = subprocess.run(
        [BIN / "clickstream", "demo", "--events", "20000", "--seed", "3"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "landing reconciles with the traffic sent" in result.stdout
    assert "every dbt test passed" in result.stdout
    assert "mart.fact_funnel" in result.stdout
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
