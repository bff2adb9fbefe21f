"""Landing -> Parquet: our bronze load against seed 004's Lambda + pandas per-object transform,
on the same landing objects (a few busy hours of the 1 M events data set).

Both run as subprocesses, measured the same way (wall time including start-up, peak RSS of the
process tree). Before the ratio is reported, the rows are compared: event id, type, time, ingest
time, session, user, page and object key of every row, ours from ``lake.bronze_events`` and the
peer's from its Parquet files.
"""

from __future__ import annotations

import re
import shutil
import statistics
import sys
from pathlib import Path

from bench.lake_bench import _bench_root, _fresh_lake, _landing
from bench.measure import Comparison, Measured, compare_relations, run_measured
from bench.peer_bench import REPO, peers_python
from bench.report import Report, Row
from lakehouse import engine
from lakehouse.catalog import open_catalog
from streaming.contracts.landing import landed_hours, landing_store
from streaming.contracts.settings import Settings

EVENTS = 1_000_000
FIRST_HOUR = 12
HOURS = 4
COLUMNS = {
    "event_id": ("event_id", '"event_id"'),
    "event_type": ("event_type", '"event_type"'),
    "ts": ("ts", '"ts"'),
    "ingest_ts": ("ingest_ts", '"ingest_ts"'),
    "session_id": ("session.session_id", '"session.session_id"'),
    "user_id_hash": ('"user".user_id_hash', '"user.user_id_hash"'),
    "page_url": ("ctx.page_url", '"ctx.page_url"'),
    "source_object": ("source_object", '"source_object"'),
}
_HOUR = re.compile(r"/ingest_dt=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/")


def chosen_hours(settings: Settings) -> list[str]:
    hours = landed_hours(settings)
    return [hour.isoformat() for hour in hours[FIRST_HOUR : FIRST_HOUR + HOURS]]


def object_keys(settings: Settings, hours: list[str]) -> list[str]:
    wanted = {(hour[:10], hour[11:13]) for hour in hours}
    keys = []
    for landed in landing_store(settings).list(settings.landing_bronze_prefix + "/"):
        match = _HOUR.search(landed.key)
        if match and (match[1], match[2]) in wanted and landed.key.endswith(".gz"):
            keys.append(landed.key)
    return sorted(keys)


def run_ours(landing_home: Path, hours: list[str]) -> tuple[Measured, Settings]:
    settings = _fresh_lake(landing_home, "landing-ours")
    command = [sys.executable, "-m", "bench.lake_task", "--home", str(settings.home)]
    command += ["--bronze-only", "--hours", *hours]
    return run_measured(command, cwd=REPO), settings


def run_peer(landing_home: Path, keys_file: Path, out: Path) -> Measured:
    shutil.rmtree(out, ignore_errors=True)
    command = [str(peers_python()), "-m", "bench.peers.pandas_job"]
    command += ["--landing", str(landing_home / "landing"), "--keys", str(keys_file)]
    command += ["--out", str(out)]
    return run_measured(command, cwd=REPO)


def compare(settings: Settings, out: Path) -> Comparison:
    conn = engine.connect(settings, open_catalog(settings))
    conn.execute("set TimeZone = 'UTC'")
    ours = ", ".join(f"{source} as {name}" for name, (source, _) in COLUMNS.items())
    peer = ", ".join(f"{source} as {name}" for name, (_, source) in COLUMNS.items())
    files = f"read_parquet('{out}/**/*.parquet', union_by_name = true, hive_partitioning = false)"
    try:
        return compare_relations(
            conn,
            "bronze rows",
            f"(select {ours} from lake.bronze_events)",
            f"(select {peer} from {files})",
        )
    finally:
        conn.close()


def run(report: Report, *, runs: int = 3) -> None:
    landing_home = _landing(EVENTS, 1)
    settings = Settings(home=landing_home)
    hours = chosen_hours(settings)
    keys = object_keys(settings, hours)
    keys_file = _bench_root() / "landing-peer-keys.txt"
    keys_file.write_text("\n".join(keys) + "\n")
    out = _bench_root() / "landing-peer-pandas"
    ours = [run_ours(landing_home, hours) for _ in range(runs)]
    peer = [run_peer(landing_home, keys_file, out) for _ in range(runs)]
    comparison = compare(ours[-1][1], out)
    rows = comparison.ours.rows
    ours_seconds = statistics.median(measured.seconds for measured, _ in ours)
    peer_seconds = statistics.median(measured.seconds for measured in peer)
    report.add(
        Row(
            f"landing -> Parquet, {len(keys):,} objects ({HOURS} busy hours of the 1 M set)",
            rows / ours_seconds,
            "events/s",
            peer=rows / peer_seconds,
            peer_name="Lambda-style pandas per object",
            runs=runs,
            equal=comparison.equal,
            note=(
                f"{comparison.describe()}; ours: bronze load into Iceberg "
                f"(peak {statistics.median(m.peak_rss for m, _ in ours) / 2**20:,.0f} MiB), "
                f"peer peak {statistics.median(m.peak_rss for m in peer) / 2**20:,.0f} MiB; "
                "wall time of each job including start-up"
            ),
        )
    )
