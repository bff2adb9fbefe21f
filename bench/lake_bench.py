"""Lake build figures: silver+gold full build at scale, and the hourly increment vs history
(an ordinary hour, and an hour of events 1 hour to 39 days late).

Landing data sets are generated once per (events, days, seed) under the local home's
``bench/`` folder and reused; every measured build starts from an empty lake of its own.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.report import Report, Row
from lakehouse.arrivals import plan_arrivals
from lakehouse.bronze_load import load_bronze_hour, load_hour
from lakehouse.build import build_arrivals, build_lake
from lakehouse.catalog import open_catalog
from lakehouse.maintenance import expire_snapshots
from streaming.contracts.landing import bronze_key, landed_hours, landing_store
from streaming.contracts.settings import Settings, get_settings

START = datetime(2026, 10, 1, tzinfo=UTC)
BUILD_EVENTS = int(os.environ.get("BENCH_LAKE_EVENTS", "10000000"))
HISTORY_EVENTS_PER_DAY = int(os.environ.get("BENCH_HISTORY_EVENTS_PER_DAY", "100000"))
QUICK_HISTORY_EVENTS_PER_DAY = 3_000
"""``make bench`` measures the increments on a small data set; ``make bench-full`` at scale."""
HISTORY_DAYS = 40
LATE_DAYS = (3, 10, HISTORY_DAYS - 1)
"""How late (in days) the late hour's events are, besides the hour-late ones."""
LATE_EVENTS_PER_DAY = 200
INCREMENT_RUNS = 3


def _bench_root() -> Path:
    return get_settings().home / "bench"


GENERATED = ".complete"
"""Marks a finished data set; holds how long ``clickstream generate`` took (JSON)."""


def _landing(events: int, days: int, seed: int = 7, *, hours: int | None = None) -> Path:
    """A home holding only a landing store with the data set (``days`` days of traffic from
    START, or ``hours`` hours when given), landed by ``clickstream generate --landing``
    (distinct users and sessions at every size) on first use; one process generates, others
    wanting the same set wait for it."""
    span = f"{hours}h" if hours is not None else f"{days}d"
    home = _bench_root() / f"landing-{events}-{span}-{seed}"
    done = home / GENERATED
    home.parent.mkdir(parents=True, exist_ok=True)
    with (home.parent / f"{home.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir()
            length = hours / 24 if hours is not None else days
            print(f"generating {events:,} events over {span} for the benchmarks ...")
            command = [sys.executable, "-m", "clickstream_cli.main", "generate"]
            command += ["--events", str(events), "--seed", str(seed), "--days", str(length)]
            command += ["--start", START.isoformat(), "--landing", "--quiet"]
            started = time.perf_counter()
            subprocess.run(command, env=os.environ | {"CLICKSTREAM_HOME": str(home)}, check=True)
            seconds = time.perf_counter() - started
            done.write_text(json.dumps({"events": events, "seconds": seconds}))
    return home


def generation_seconds(landing_home: Path) -> float | None:
    """How long ``clickstream generate`` took to land the data set (None: not recorded)."""
    text = (landing_home / GENERATED).read_text()
    return float(json.loads(text)["seconds"]) if text else None


def _fresh_lake(landing_home: Path, name: str) -> Settings:
    """An empty lake whose landing store is the data set (linked, never copied)."""
    home = _bench_root() / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    (home / "landing").symlink_to((landing_home / "landing").resolve())
    return Settings(home=home)


LOADED_TABLES = ("lake.bronze_events", "lake.bronze_load_ledger", "lake.quarantine_events")


def _load_hours(settings: Settings, hours: list[datetime]) -> None:
    """Hour by hour, expiring snapshots daily as the maintenance job does in production."""
    catalog = open_catalog(settings)
    for number, hour in enumerate(hours, start=1):
        load_hour(settings, hour, catalog=catalog)
        if number % 24 == 0 or number == len(hours):
            expire_snapshots(catalog, LOADED_TABLES, datetime.now(UTC))


def _bronze_rows(settings: Settings) -> int:
    return open_catalog(settings).load_table("lake.bronze_events").scan().count()


def _full_build(report: Report) -> None:
    """A full build replaces every partition, so the bronze it reads is loaded once and kept."""
    name = f"lake-build-{BUILD_EVENTS}"
    settings = Settings(home=_bench_root() / name)
    if not (settings.home / ".bronze-loaded").exists():
        settings = _fresh_lake(_landing(BUILD_EVENTS, 1), name)
        print(f"loading {BUILD_EVENTS:,} events into bronze for the build benchmark ...")
        _load_hours(settings, landed_hours(settings))
        (settings.home / ".bronze-loaded").touch()
    rows = _bronze_rows(settings)
    started = time.perf_counter()
    build_lake(settings, run_tests=False, capture=True)
    seconds = time.perf_counter() - started
    report.add(
        Row(
            figure=f"silver+gold full build, {BUILD_EVENTS / 1e6:g} M events (dbt run, local)",
            ours=seconds,
            unit="s",
            goal="<= 120 s" if BUILD_EVENTS >= 10_000_000 else "",
            met=seconds <= 120 if BUILD_EVENTS >= 10_000_000 else None,
            note=f"{rows:,} bronze rows -> 5 Iceberg tables; one run (minutes each)",
        )
    )


def _increment_seconds(settings: Settings, hour: datetime) -> float:
    """Bronze load of one hour plus the arrival-driven dbt run it triggers, as the hourly job
    does (the reload gives the hour a new load, so every repetition rebuilds the same days)."""
    started = time.perf_counter()
    load_bronze_hour(settings, hour, force=True)
    build_arrivals(settings, run_tests=False, capture=True)
    return time.perf_counter() - started


def _late_hour(landing_home: Path) -> datetime:
    """An ingest hour after the data set holding only late events: copies (new event ids, same
    sessions) of page views from two hours before it and from ``LATE_DAYS`` days before it, so
    they join existing sessions in days far back. Written once into the data set."""
    settings = Settings(home=landing_home)
    store = landing_store(settings)
    done = landing_home / ".late-complete"
    hours = landed_hours(settings, store)
    if done.exists():
        return hours[-1]
    late_hour = hours[-1] + timedelta(hours=1)
    records = []
    for days in (0, *LATE_DAYS):
        source = late_hour - (timedelta(days=days) if days else timedelta(hours=2))
        prefix = f"bronze/events_type=page_view/ingest_dt={source:%Y-%m-%d}/hour={source:%H}/"
        lines = [
            line
            for landed in store.list(prefix)
            for line in gzip.decompress(store.get(landed.key)).splitlines()
        ]
        for line in lines[:LATE_EVENTS_PER_DAY]:
            record = json.loads(line)
            record["event_id"] = f"late-{days}d-{record['event_id']}"
            record["ingest_ts"] = int(late_hour.timestamp() * 1000) + 60_000
            records.append(record)
    key = bronze_key(settings, "page_view", late_hour + timedelta(minutes=1), "late-events")
    store.put(key, gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records)))
    done.touch()
    return late_hour


def _late_event_days(late_hour: datetime) -> set[date]:
    """The event days a run of the late hour reads: each day its events join, with the two
    days either side (sessions are rewritten one day either side of an event's day, from
    their events one day beyond that)."""
    days = {(late_hour - timedelta(days=late)).date() for late in LATE_DAYS}
    return {day + timedelta(days=offset) for day in days for offset in range(-2, 3)}


def _history_lake(
    landing_home: Path, days_of_history: int, late_hour: datetime
) -> tuple[Settings, datetime]:
    """A lake holding ``days_of_history`` days before the data set's last hour, and in every
    lake the days the late hour's events join: the lakes hold the same data a late hour
    touches and differ only in the history it does not, which is what the ratio is about. Built
    once and kept (an increment is idempotent: it replaces the same hour and rewrites the same
    partitions, and the manifest then counts everything as consumed); returns the last hour."""
    name = f"lake-history-{days_of_history}d-{landing_home.name}"
    settings = Settings(home=_bench_root() / name)
    with (_bench_root() / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process building it: wait for it
        complete = (settings.home / ".complete").exists()
        if not complete:
            settings = _fresh_lake(landing_home, name)
        hours = [hour for hour in landed_hours(settings) if hour < late_hour]
        if not complete:
            first_kept = hours[-1] - timedelta(days=days_of_history)
            touched = _late_event_days(late_hour)
            print(f"loading {days_of_history} day(s) of history for the increment benchmark ...")
            _load_hours(
                settings,
                [hour for hour in hours[:-1] if hour > first_kept or hour.date() in touched],
            )
            build_lake(settings, run_tests=False, capture=True)
            plan_arrivals(settings)  # the arrival index, as every scheduled run keeps it
            (settings.home / ".complete").touch()
    return settings, hours[-1]


def _increments_with_history(landing_home: Path) -> dict[int, tuple[float, float]]:
    """Median times, per ``HISTORY_STEPS`` lake, of the last hour's increment and of the late
    hour's (events 1 hour to ``LATE_DAYS`` days late). The lakes take turns run after run, so
    a change in the machine's load during the benchmark reaches every lake alike."""
    late_hour = _late_hour(landing_home)
    lakes = {days: _history_lake(landing_home, days, late_hour) for days in HISTORY_STEPS}
    times: dict[int, tuple[list[float], list[float]]] = {days: ([], []) for days in lakes}
    for _ in range(INCREMENT_RUNS):
        for days, (settings, last) in lakes.items():
            times[days][0].append(_increment_seconds(settings, last))
            times[days][1].append(_increment_seconds(settings, late_hour))
    return {
        days: (statistics.median(hourly), statistics.median(late))
        for days, (hourly, late) in times.items()
    }


HISTORY_STEPS = (1, 7, HISTORY_DAYS)


def _incremental(report: Report, events_per_day: int) -> None:
    landing_home = _landing(events_per_day * HISTORY_DAYS, HISTORY_DAYS)
    seconds = _increments_with_history(landing_home)
    late_note = ", ".join(f"{days} d" for days in LATE_DAYS)
    per_day = f"{events_per_day:,} events/day"
    for kind, label in enumerate(
        (
            "hourly increment (bronze hour + arrival-driven dbt run)",
            f"late-event increment (an hour of events 1 h, {late_note} late)",
        )
    ):
        one_day = seconds[1][kind]
        for days in HISTORY_STEPS:
            growth = days > 1
            report.add(
                Row(
                    figure=f"{label}, {days} day{'s' if days > 1 else ''} of history",
                    ours=seconds[days][kind],
                    unit="s",
                    peer=one_day if growth else None,
                    peer_name="1 day of history (growth)" if growth else "",
                    goal="ratio <= 1.5" if days == HISTORY_DAYS else "",
                    met=seconds[days][kind] / one_day <= 1.5 if days == HISTORY_DAYS else None,
                    runs=INCREMENT_RUNS,
                    note=(f"{per_day}, {days * 24} hourly loads of history" if growth else per_day)
                    + (
                        f"; every lake also holds the days the late events join ({late_note})"
                        " and 2 days either side"
                        if kind
                        else ""
                    ),
                )
            )


def run_increments(report: Report) -> None:
    _incremental(report, HISTORY_EVENTS_PER_DAY)


def run_increments_quick(report: Report) -> None:
    _incremental(report, QUICK_HISTORY_EVENTS_PER_DAY)


def prepare_increments(events_per_day: int = HISTORY_EVENTS_PER_DAY) -> None:
    """Generate and load the history lakes (cached) without measuring anything."""
    landing_home = _landing(events_per_day * HISTORY_DAYS, HISTORY_DAYS)
    late_hour = _late_hour(landing_home)
    for days in HISTORY_STEPS:
        _history_lake(landing_home, days, late_hour)


def run(report: Report) -> None:
    _full_build(report)
    _incremental(report, HISTORY_EVENTS_PER_DAY)
