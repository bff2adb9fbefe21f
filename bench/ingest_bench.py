"""Ingest throughput: the core alone, the HTTP server with the sink excluded, and end to end
through the local Kinesis engine: ``python -m bench ingest``.

The core figure is single-process, single-thread: parse, validate (jsonschema-rs), consent,
enrich and serialize each generator event, against the reference Python ``jsonschema``
(Draft 2020-12 with its format checker) plus ``json.loads`` on the same events. Both are
events per CPU-second of the measuring process, medians of rounds that measure each in turn,
so neither a busy machine nor its drifting speed skews the ratio.

The HTTP figures run the server as ``clickstream ingest serve`` does (uvicorn with uvloop and
the edge protocol, ``CLICKSTREAM_INGEST__WORKERS`` processes; ``bench/ingest_server.py``) in a
subprocess with a sink that acknowledges at once, and the load client of
``bench/load_client.py`` in this process, on the same cores: batches of ``HTTP_BATCH`` events,
encoded before the clock starts, on ``HTTP_CONNECTIONS`` kept-alive connections. Each layout
reports events per wall-clock second (the goal), request p50/p99, events per server
CPU-second (its capacity per core), and the client's CPU time, so the share of the machine the
load took is visible. Every answer must be a 200 whose counts add up to its events, and the
accepted total must equal what the core accepts of the same events in this process. The
client's CPU per 1,000 events is compared with httpx's on the same server.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from bench.load_client import HEADERS, LoadError, encode_requests, run_load
from bench.report import Report, Row
from streaming.contracts.aws_clients import client
from streaming.contracts.schema_registry import INGEST_EVENT, default_registry
from streaming.contracts.settings import IngestSettings, LocalAwsSettings, Settings
from streaming.enrichment import (
    AgentDescriber,
    RequestContext,
    bot_flag_only,
    describe_user_agent,
)
from streaming.generator import TrafficConfig
from streaming.generator.sinks.jsonl import write_jsonl
from streaming.ingest.core import IngestCore, request_context
from streaming.local_aws import ensure_resources, local_aws_running

CORE_EVENTS = 100_000
REFERENCE_EVENTS = 5_000
HTTP_BATCH = 100
HTTP_CONNECTIONS = 16
HTTP_EVENTS = 200_000
HTTP_WORKERS = (1, 2)
HTTPX_BATCHES = 200
E2E_EVENTS = 20_000


def generator_lines(events: int, seed: int = 7) -> list[bytes]:
    config = TrafficConfig(events=events, seed=seed, start=datetime(2026, 11, 1, tzinfo=UTC))
    buffer = io.BytesIO()
    write_jsonl(config, buffer)
    return buffer.getvalue().splitlines()


# --- the core ---------------------------------------------------------------------------------


def core_rate(lines: list[bytes], describe_agent: AgentDescriber = describe_user_agent) -> float:
    """Events per CPU-second; ``bot_flag_only`` gives the figure before the user-agent parser.
    The heap built before the first request is frozen, as the ingest server freezes it once
    started."""
    core = IngestCore(IngestSettings(), b"k" * 32, describe_agent=describe_agent)
    request = RequestContext(received_at_ms=1, client_ip="203.0.113.0", viewer_country="IL")
    gc.freeze()
    try:
        started = time.process_time()
        for start in range(0, len(lines), HTTP_BATCH):
            batch = [orjson.loads(line) for line in lines[start : start + HTTP_BATCH]]
            core.process(batch, request)
        return len(lines) / (time.process_time() - started)
    finally:
        gc.unfreeze()


def verdicts_agree(lines: list[bytes]) -> tuple[int, int]:
    """(events whose verdict agrees, events compared): our core's accept/reject against the
    reference validator's, on the events the core does not discard for consent."""
    import jsonschema

    from streaming.ingest.core import DISCARDED, REJECTED

    schema = default_registry().get(INGEST_EVENT, "1.0.0").document
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    core = IngestCore(IngestSettings(), b"k" * 32)
    request = RequestContext(received_at_ms=1, client_ip="203.0.113.0", viewer_country="IL")
    results = core.process([orjson.loads(line) for line in lines], request).results
    agree = compared = 0
    for result, line in zip(results, lines, strict=True):
        if result.status == DISCARDED:
            continue
        compared += 1
        agree += (result.status != REJECTED) == validator.is_valid(json.loads(line))
    return agree, compared


def reference_rate(lines: list[bytes]) -> float:
    import jsonschema

    schema = default_registry().get(INGEST_EVENT, "1.0.0").document
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    started = time.process_time()
    for line in lines:
        validator.is_valid(json.loads(line))
    return len(lines) / (time.process_time() - started)


# --- HTTP -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up")
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its direct children (uvicorn's workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0
    for process in (pid, *map(int, children)):
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    url: str
    pid: int

    @property
    def batch_url(self) -> str:
        return self.url + "/v1/batch"


@contextmanager
def ingest_server(
    home: Path, sink: str, env: dict[str, str] | None = None, workers: int = 1
) -> Iterator[Server]:
    """``bench.ingest_server`` (the code path of ``clickstream ingest serve``) on a free port."""
    port = free_port()
    environment = (
        os.environ
        | {"CLICKSTREAM_HOME": str(home), "CLICKSTREAM_INGEST__WORKERS": str(workers)}
        | (env or {})
    )
    command = [sys.executable, "-m", "bench.ingest_server", "--port", str(port), "--sink", sink]
    process = subprocess.Popen(command, env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/livez")
        yield Server(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)


def batch_bodies(lines: list[bytes]) -> list[tuple[bytes, int]]:
    return [
        (
            b'{"events":[' + b",".join(lines[start : start + HTTP_BATCH]) + b"]}",
            len(lines[start : start + HTTP_BATCH]),
        )
        for start in range(0, len(lines), HTTP_BATCH)
    ]


def core_accepts(lines: list[bytes]) -> int:
    """How many of ``lines``, sent in batches of HTTP_BATCH, the core accepts in this process."""
    core = IngestCore(IngestSettings(), b"k" * 32)
    # the server's peer: without trusted proxies, X-Forwarded-For is not read
    request = request_context(
        received_at_ms=1, client_ip="127.0.0.1", viewer_country=None, source="http"
    )
    return sum(
        core.process(
            [orjson.loads(line) for line in lines[start : start + HTTP_BATCH]], request
        ).accepted
        for start in range(0, len(lines), HTTP_BATCH)
    )


async def _httpx_load(url: str, bodies: list[tuple[bytes, int]]) -> float:
    """The client CPU-seconds httpx (async, HTTP_CONNECTIONS connections) takes to send
    ``bodies``: what the lean client is compared with."""
    queue = list(reversed(bodies))
    limits = httpx.Limits(max_connections=HTTP_CONNECTIONS)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:

        async def worker() -> None:
            while queue:
                body, _ = queue.pop()
                response = await client.post(url, content=body, headers=HEADERS)
                if response.status_code != 200:
                    raise LoadError(f"ingest answered {response.status_code}: {response.text}")

        started = time.process_time()
        await asyncio.gather(*(worker() for _ in range(HTTP_CONNECTIONS)))
        return time.process_time() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class HttpFigures:
    rate: float
    """Events/s, wall clock."""
    per_server_cpu_second: float
    p50_ms: float
    p99_ms: float
    client_ms_per_1000_events: float
    """CPU time of the load client."""
    client_core_share: float
    """The load client's CPU time over the wall time: the share of one core it took."""
    client_cpu_share: float
    """The load client's share of the CPU time the client and the server used together."""
    accepted: int
    """Accepted in the last run, summed from the answers."""
    load_average: float


def http_runs(server: Server, bodies: list[tuple[bytes, int]], runs: int) -> HttpFigures:
    requests = encode_requests(server.batch_url, bodies)
    run_load(server.batch_url, requests[: max(1, len(requests) // 10)], HTTP_CONNECTIONS)
    rates, per_cpu, p50s, p99s, client_ms, core_shares, cpu_shares = ([] for _ in range(7))
    accepted = 0
    for _ in range(runs):
        before = cpu_seconds(server.pid)
        result = run_load(server.batch_url, requests, HTTP_CONNECTIONS)
        server_cpu = cpu_seconds(server.pid) - before
        per_cpu.append(result.events / server_cpu)
        rates.append(result.rate)
        p50s.append(percentile(result.latencies_s, 0.50) * 1000)
        p99s.append(percentile(result.latencies_s, 0.99) * 1000)
        client_ms.append(result.client_cpu_s_per_1000_events * 1000)
        core_shares.append(result.client_cpu_s / result.wall_s)
        cpu_shares.append(result.client_cpu_s / (result.client_cpu_s + server_cpu))
        accepted = result.accepted
    median = statistics.median
    return HttpFigures(
        median(rates),
        median(per_cpu),
        median(p50s),
        median(p99s),
        median(client_ms),
        median(core_shares),
        median(cpu_shares),
        accepted,
        os.getloadavg()[0],
    )


# --- end to end through the local stream ---------------------------------------------------------


@contextmanager
def local_servers(home: Path) -> Iterator[LocalAwsSettings]:
    """The local AWS servers (the Kinesis engine, moto) on free ports, as `make dev` runs them."""
    ports = LocalAwsSettings(port=free_port(), kinesis_port=free_port())
    with local_aws_running(Settings(env="local", home=home / "servers", local_aws=ports)):
        yield ports


def local_environment(ports: LocalAwsSettings) -> dict[str, str]:
    """What a process started by a benchmark needs to find the local servers."""
    return {
        "CLICKSTREAM_LOCAL_AWS__PORT": str(ports.port),
        "CLICKSTREAM_LOCAL_AWS__KINESIS_PORT": str(ports.kinesis_port),
    }


def stream_count(settings: Settings) -> int:
    kinesis = client(settings, "kinesis")
    name = settings.stream_name
    total = 0
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            total += len(page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return total


def end_to_end(home: Path, lines: list[bytes], runs: int) -> tuple[float, float, float, int, int]:
    with local_servers(home) as ports:
        rates: list[float] = []
        p50s: list[float] = []
        p99s: list[float] = []
        accepted = landed = 0
        for run in range(runs):
            stage = f"bench{run}"
            settings = Settings(home=home, stage=stage, local_aws=ports)
            ensure_resources(settings)  # a 2-shard stream and the dead-letter queue
            env = {"CLICKSTREAM_STAGE": stage} | local_environment(ports)
            with ingest_server(home, "kinesis", env) as server:
                requests = encode_requests(server.batch_url, batch_bodies(lines))
                result = run_load(server.batch_url, requests, HTTP_CONNECTIONS)
            accepted, landed = result.accepted, stream_count(settings)
            rates.append(result.rate)
            p50s.append(percentile(result.latencies_s, 0.5) * 1000)
            p99s.append(percentile(result.latencies_s, 0.99) * 1000)
        return (
            statistics.median(rates),
            statistics.median(p50s),
            statistics.median(p99s),
            accepted,
            landed,
        )


def core_rounds(lines: list[bytes], runs: int) -> tuple[float, float, float]:
    """Medians of the core before the user-agent parser, the core, and the reference, measured
    in interleaved rounds: on a machine whose speed drifts by the second, each ratio then
    compares figures taken moments apart. The core and the core before the parser take turns
    at going first, so that neither always runs on the heap the other just left."""
    before: list[float] = []
    ours: list[float] = []
    reference: list[float] = []
    for round_number in range(runs):
        if round_number % 2:
            ours.append(core_rate(lines))
            before.append(core_rate(lines, bot_flag_only))
        else:
            before.append(core_rate(lines, bot_flag_only))
            ours.append(core_rate(lines))
        reference.append(reference_rate(lines[:REFERENCE_EVENTS]))
    return statistics.median(before), statistics.median(ours), statistics.median(reference)


# --- the report -------------------------------------------------------------------------------


def run(report: Report, *, runs: int = 3, http: bool = True) -> None:
    lines = generator_lines(CORE_EVENTS)
    before, ours, reference = core_rounds(lines, runs)
    agree, compared = verdicts_agree(lines[:REFERENCE_EVENTS])
    report.add(
        Row(
            "ingest core, validate + consent + enrich + serialize, 1 thread",
            ours,
            "events/s",
            peer=reference,
            peer_name="seed 000 Lambda: jsonschema Draft 2020-12 + json.loads",
            goal=">= 40x jsonschema and >= 150 k/s",
            met=ours >= 150_000 and ours / reference >= 40,
            runs=runs,
            equal=agree == compared,
            note=f"per CPU-second; {CORE_EVENTS:,} generator events, reference on the first "
            f"{REFERENCE_EVENTS:,}; same verdict on {agree:,} of {compared:,} events "
            "(consent-off ones are discarded before validation)",
        )
    )
    report.add(
        Row(
            "ingest core with the user-agent parser and crawler list, vs before them",
            ours,
            "events/s",
            peer=before,
            peer_name="the same core, bot pattern only (no ua-parser, no crawler list)",
            goal="drops by at most 10 %",
            met=ours >= 0.9 * before,
            runs=runs,
            note=f"per CPU-second; {CORE_EVENTS:,} generator events; parses cached on the user "
            f"agent ({describe_user_agent.cache_info().currsize:,} distinct agents parsed)",
        )
    )
    if not http:
        return
    with tempfile.TemporaryDirectory(prefix="clickstream-bench-") as scratch:
        home = Path(scratch)
        http_lines = generator_lines(HTTP_EVENTS, seed=8)
        bodies = batch_bodies(http_lines)
        expected = core_accepts(http_lines)
        for workers in HTTP_WORKERS:
            with ingest_server(home, "null", workers=workers) as server:
                figures = http_runs(server, bodies, runs)
                if workers == 1:
                    httpx_cpu_s = asyncio.run(_httpx_load(server.batch_url, bodies[:HTTPX_BATCHES]))
            setup = f"uvicorn {workers} worker{'s' if workers > 1 else ''}"
            report.add(
                Row(
                    f"HTTP POST /v1/batch ({HTTP_BATCH} events), sink excluded, {setup}",
                    figures.rate,
                    "events/s",
                    goal=">= 30 k/s on 2 cores",
                    met=figures.rate >= 30_000,
                    runs=runs,
                    equal=figures.accepted == expected,
                    note=f"wall clock; {len(bodies):,} requests on {HTTP_CONNECTIONS} kept-alive "
                    f"connections; request p50 {figures.p50_ms:.1f} ms, p99 {figures.p99_ms:.1f} "
                    f"ms; load client on the same cores: "
                    f"{figures.client_ms_per_1000_events:.2f} ms CPU per 1,000 events, "
                    f"{figures.client_core_share:.0%} of one core, "
                    f"{figures.client_cpu_share:.0%} of the CPU time client + server used; "
                    f"{figures.accepted:,} accepted, {expected:,} by the core in-process; "
                    f"load average {figures.load_average:.1f}",
                )
            )
            report.add(
                Row(
                    f"HTTP POST /v1/batch, sink excluded, {setup}, per server CPU-second",
                    figures.per_server_cpu_second,
                    "events/s",
                    runs=runs,
                    note="events / CPU time the server processes used: its capacity per core",
                )
            )
            if workers == 1:
                report.add(
                    Row(
                        "HTTP load client CPU per 1,000 events (pre-encoded HTTP/1.1, httptools)",
                        figures.client_ms_per_1000_events,
                        "ms",
                        peer=httpx_cpu_s / (HTTPX_BATCHES * HTTP_BATCH) * 1000 * 1000,
                        peer_name=f"httpx AsyncClient, {HTTP_CONNECTIONS} connections",
                        lower_is_better=True,
                        note=f"CPU time of the load client process; httpx on the first "
                        f"{HTTPX_BATCHES * HTTP_BATCH:,} events against the 1-worker server",
                    )
                )
        e2e_lines = generator_lines(E2E_EVENTS, seed=9)
        rate, p50, p99, accepted, landed = end_to_end(home, e2e_lines, runs)
        report.add(
            Row(
                "HTTP /v1/batch end to end into the local Kinesis engine",
                rate,
                "events/s",
                note=f"{accepted:,} accepted, {landed:,} read back from the stream; "
                f"p50 {p50:.0f} ms, p99 {p99:.0f} ms per request",
            )
        )


def main() -> None:
    """``python -m bench.ingest_bench``: the ingest figures alone, in bench/results/ingest.*."""
    report = Report("ingest benchmarks")
    run(report)
    report.print()
    path = report.write("ingest")
    print(f"results written to {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
