"""Slow clients against ``clickstream ingest serve``: ``python -m bench ingest-slowloris``.

The local stack's stream engine and moto run on free ports; the ingest is the real command
(uvicorn with the edge protocol) on a free port of 127.0.0.1, with its default limits. Then
``ATTACKERS`` connections each send their headers and the first bytes of a body, and one more
byte a second, never finishing. The ingest must answer each of them ``408`` and close it within
its body timeout, while a normal client posting a small batch every ``PAUSE_S`` gets its
answers as fast as before (p99 under 100 ms).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from bench.ingest_bench import free_port, percentile, wait_for
from bench.report import Report, Row
from streaming.contracts.settings import IngestSettings, LocalAwsSettings, Settings
from streaming.local_aws import ensure_resources, local_aws_running

ATTACKERS = 500
DECLARED_BYTES = 100_000
"""The body length each slow client announces (and never sends)."""
TRICKLE_S = 1.0
PAUSE_S = 0.02
P99_GOAL_MS = 100.0
CUT_OFF_MARGIN_S = 1.0
"""How much later than the body timeout a cut-off still counts as on time."""
EVENT = {
    "event_type": "page_view",
    "ts": "2026-11-27T12:00:00.000Z",
    "user": {"consent": {"analytics": True}},
}
BATCH = orjson.dumps({"events": [EVENT] * 10})


@dataclass
class Attack:
    cut_off_s: list[float] = field(default_factory=list)
    """Seconds from the end of the headers to the server's 408 and close, per connection."""
    answered_408: int = 0
    not_cut_off: int = 0


@dataclass
class Normal:
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0


async def _slow_client(port: int, attack: Attack, give_up_s: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /v1/batch HTTP/1.1\r\nhost: ingest\r\ncontent-type: application/json\r\n"
        f"content-length: {DECLARED_BYTES}\r\n\r\n"
    ).encode()
    writer.write(head + b'{"events":[')
    await writer.drain()
    started = time.monotonic()

    async def trickle() -> None:
        while True:
            await asyncio.sleep(TRICKLE_S)
            writer.write(b" ")
            await writer.drain()

    trickling = asyncio.create_task(trickle())
    try:
        answer = await asyncio.wait_for(reader.read(), give_up_s)  # until the server closes
    except (TimeoutError, ConnectionError):
        attack.not_cut_off += 1
        return
    finally:
        trickling.cancel()
        writer.close()
    attack.cut_off_s.append(time.monotonic() - started)
    if answer.startswith(b"HTTP/1.1 408"):
        attack.answered_408 += 1


async def _attack(port: int, give_up_s: float) -> Attack:
    attack = Attack()
    await asyncio.gather(
        *(_slow_client(port, attack, give_up_s) for _ in range(ATTACKERS)),
        return_exceptions=True,
    )
    return attack


def _normal_client(url: str, stop: threading.Event, normal: Normal) -> None:
    headers = {"content-type": "application/json"}
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            sent = time.perf_counter()
            try:
                response = client.post(url + "/v1/batch", content=BATCH, headers=headers)
            except httpx.HTTPError:
                normal.errors += 1
                continue
            normal.latencies_s.append(time.perf_counter() - sent)
            if response.status_code != 200:
                normal.errors += 1
            stop.wait(PAUSE_S)


def measure(home: Path) -> tuple[Attack, Normal, Normal, float]:
    """The attack, the normal client during it and before it, and the body timeout."""
    local_aws = LocalAwsSettings(port=free_port(), kinesis_port=free_port())
    settings = Settings(env="local", home=home, stage="slowloris", local_aws=local_aws)
    timeout = IngestSettings().body_timeout_s
    port = free_port()
    env = os.environ | {
        "CLICKSTREAM_HOME": str(home),
        "CLICKSTREAM_STAGE": "slowloris",
        "CLICKSTREAM_LOCAL_AWS__PORT": str(local_aws.port),
        "CLICKSTREAM_LOCAL_AWS__KINESIS_PORT": str(local_aws.kinesis_port),
    }
    clickstream = str(Path(sys.executable).with_name("clickstream"))
    with local_aws_running(settings):
        ensure_resources(settings)
        command = [clickstream, "ingest", "serve", "--host", "127.0.0.1", "--port", str(port)]
        server = subprocess.Popen(command, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(url + "/healthz", 60)
            before = Normal()
            stop = threading.Event()
            calm = threading.Thread(target=_normal_client, args=(url, stop, before))
            calm.start()
            stop.wait(3)
            stop.set()
            calm.join()
            during = Normal()
            stop = threading.Event()
            normal = threading.Thread(target=_normal_client, args=(url, stop, during))
            normal.start()
            try:
                attack = asyncio.run(_attack(port, timeout + 10))
            finally:
                stop.set()
                normal.join()
        finally:
            server.terminate()
            server.wait(timeout=60)
    return attack, before, during, timeout


def run(report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="slowloris-") as home:
        attack, before, during, timeout = measure(Path(home))
    on_time = [s for s in attack.cut_off_s if s <= timeout + CUT_OFF_MARGIN_S]
    slowest = max(attack.cut_off_s, default=0.0)
    p99_ms = percentile(during.latencies_s, 0.99) * 1000
    report.add(
        Row(
            f"slow-body connections answered 408 and closed (of {ATTACKERS})",
            attack.answered_408,
            "connections",
            goal=f"all, within the {timeout:g} s body timeout",
            met=len(on_time) == ATTACKERS and attack.answered_408 == ATTACKERS,
            note=f"{attack.not_cut_off} never cut off; {len(on_time)} on time",
        )
    )
    report.add(
        Row(
            "slowest slow-body cut-off",
            slowest,
            "s",
            goal=f"<= {timeout + CUT_OFF_MARGIN_S:g} s",
            met=slowest <= timeout + CUT_OFF_MARGIN_S,
            lower_is_better=True,
        )
    )
    report.add(
        Row(
            "normal client p99 during the attack",
            p99_ms,
            "ms",
            goal=f"< {P99_GOAL_MS:g} ms",
            met=p99_ms < P99_GOAL_MS and during.errors == 0,
            note=(
                f"{len(during.latencies_s)} requests, {during.errors} errors; "
                f"p50 {percentile(during.latencies_s, 0.5) * 1000:.1f} ms; before the attack "
                f"p50 {percentile(before.latencies_s, 0.5) * 1000:.1f} ms, "
                f"p99 {percentile(before.latencies_s, 0.99) * 1000:.1f} ms"
            ),
            lower_is_better=True,
        )
    )
