"""`make dev`: the local stack and the Dagster UI on localhost, stopped cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from conftest import free_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def _wait_for(url: str, seconds: float) -> httpx.Response | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    return None


def test_dev_serves_the_ui_and_the_stack_then_stops_everything(tmp_path: Path) -> None:
    ui, ingest, dashboards = free_port(), free_port(), free_port()
    environment = dict(
        os.environ,
        CLICKSTREAM_HOME=str(tmp_path / "home"),
        CLICKSTREAM_LOCAL_AWS__PORT=str(free_port()),
        CLICKSTREAM_LOCAL_AWS__KINESIS_PORT=str(free_port()),
        CLICKSTREAM_INGEST__PORT=str(ingest),
        CLICKSTREAM_DASHBOARDS_PORT=str(dashboards),
    )
    environment.pop("DAGSTER_HOME", None)
    process = subprocess.Popen(
        [BIN / "clickstream", "dev", "--port", str(ui)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert _wait_for(f"http://127.0.0.1:{ingest}/healthz", 90), "the ingest is served"
        info = _wait_for(f"http://127.0.0.1:{ui}/server_info", 120)
        assert info is not None, "the Dagster UI is served on localhost"
        assert "dagster_webserver_version" in info.json()
        health = _wait_for(f"http://127.0.0.1:{dashboards}/_stcore/health", 60)
        assert health is not None, "the dashboards are served on localhost"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=90)
    assert process.returncode == 0, output
    assert not (tmp_path / "home" / "run" / "local-aws.pid").exists()
    for still in (f"{ingest}/healthz", f"{dashboards}/_stcore/health"):
        try:
            httpx.get(f"http://127.0.0.1:{still}", timeout=1.0)
            raise AssertionError(f"{still} still answers after dev stopped")
        except httpx.HTTPError:
            pass
