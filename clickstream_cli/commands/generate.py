"""``clickstream generate``: synthetic traffic to a JSONL file, the landing store, or an ingest."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clickstream_cli.errors import CommandError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from streaming.generator import GenerationSummary, TrafficConfig
    from streaming.generator.sinks.http import HttpReport

STDOUT = "-"
NOW = "now"
TODAY = "today"


def generate(
    *,
    events: Annotated[int, typer.Option(help="Exact number of events to emit.", min=0)] = 200_000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same bytes.")] = 7,
    start: Annotated[
        str,
        typer.Option(
            help="Start of the traffic: 'today' (midnight UTC, so a day of traffic lands in "
            "the current day), 'now', or an ISO date or date-time (UTC unless an offset is "
            "given). The same seed and start give the same bytes.",
        ),
    ] = TODAY,
    days: Annotated[
        float | None, typer.Option(help="Length of the traffic in days [default: 1].")
    ] = None,
    out: Annotated[
        str | None,
        typer.Option("--out", help="Write client events as JSONL to this path ('-' for stdout)."),
    ] = None,
    landing: Annotated[
        bool,
        typer.Option(
            "--landing",
            help="Land the events as the ingest and Firehose would, in the configured landing "
            "store (plus the user-segment reference log).",
        ),
    ] = False,
    http: Annotated[
        str | None,
        typer.Option("--http", help="Post the events to the ingest at this base URL."),
    ] = None,
    segments_out: Annotated[
        Path | None,
        typer.Option(help="Also write the user-segment change log as JSONL (.gz compresses)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes (default: one per CPU); never changes the output.", min=1
        ),
    ] = None,
    consent_off_share: Annotated[
        float, typer.Option(help="Share of events sent without analytics consent.")
    ] = 0.03,
    bot_share: Annotated[
        float, typer.Option(help="Share of events from crawlers and bots.")
    ] = 0.02,
    duplicate_share: Annotated[
        float, typer.Option(help="Share of events that are re-sends of earlier ones.")
    ] = 0.01,
    late_share: Annotated[
        float, typer.Option(help="Share of events arriving 1-6 hours after they happened.")
    ] = 0.01,
    sessionless_share: Annotated[
        float, typer.Option(help="Share of server-side events without a session id.")
    ] = 0.01,
    invalid_share: Annotated[
        float, typer.Option(help="Share of events that violate the event schema.")
    ] = 0.005,
    conversion_rate: Annotated[
        float,
        typer.Option(
            help="Chance that a session ends in a purchase (schema 1-1-0; affiliate clicks "
            "convert more often, as network postbacks without a session). 0: 1-0-0 traffic only."
        ),
    ] = 0.0,
    buffer_seconds: Annotated[
        int | None,
        typer.Option(
            help="Firehose buffer window for --landing (default: from the settings).", min=1
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(help="Requests in flight at once for --http.", min=1)
    ] = 8,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Events per second for --http: with --start now a live stream, each request "
            "sent when its events happen on the wall clock, until --events are sent or Ctrl-C; "
            "otherwise at most this many.",
            min=0.001,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="CLICKSTREAM_GENERATOR_API_KEY",
            help="X-Api-Key sent with server-side events for --http.",
        ),
    ] = None,
    summary_json: Annotated[
        Path | None, typer.Option(help="Also write the summary as JSON to this path.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="No progress bar, no summary table.")
    ] = False,
) -> None:
    """Generate realistic, dirty, deterministic clickstream traffic."""
    chosen = [
        name for name, given in (("--out", out), ("--landing", landing), ("--http", http)) if given
    ]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "choose exactly one output: --out PATH|-, --landing or --http URL"
            + (f" (got {', '.join(chosen)})" if chosen else ""),
            param_hint="--out / --landing / --http",
        )
    if rate is not None and http is None:
        raise UsageError("--rate paces --http only")
    if api_key is not None:
        _check_api_key(api_key)
    live = http is not None and rate is not None and start == NOW
    if live and days is not None:
        raise UsageError("a live stream (--start now --rate) lasts --events / --rate: drop --days")
    from rich.console import Console

    from streaming.generator import TrafficConfig
    from streaming.generator.runner import default_workers

    try:
        config = TrafficConfig(
            events=events,
            seed=seed,
            start=parse_start(start),
            days=1.0 if days is None else days,
            consent_off_share=consent_off_share,
            bot_share=bot_share,
            duplicate_share=duplicate_share,
            late_share=late_share,
            sessionless_share=sessionless_share,
            invalid_share=invalid_share,
            conversion_rate=conversion_rate,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if http is not None:
        _check_ingest(http)
    if live:
        _stream_live(config, http or "", rate=rate or 0.0, concurrency=concurrency, api_key=api_key)
        return
    console = Console(stderr=True)
    show_progress = not quiet and out != STDOUT
    worker_count = workers or default_workers()
    if show_progress:
        console.print(
            f"generating {config.events:,} events from {config.start:%Y-%m-%d %H:%M} UTC over "
            f"{config.days:g} day(s) with {worker_count} worker(s)"
        )

    with _progress(console, config.events, show_progress) as advance:
        if out is not None:
            summary = _to_jsonl(config, out, worker_count, advance)
        elif landing:
            summary = _to_landing(config, worker_count, buffer_seconds, advance)
        else:
            summary = _to_http(
                config,
                http or "",
                workers=worker_count,
                concurrency=concurrency,
                rate=rate,
                api_key=api_key,
                advance=advance,
            )
    if segments_out is not None:
        rows = _write_segments(config, segments_out)
        summary.sink["segment_rows_written"] = rows
    if summary_json is not None:
        summary.write_json(summary_json)
    if not quiet:
        console.print(summary.table())
    if summary.sink.get("http_errors"):
        raise CommandError(
            f"{summary.sink['failed_events']:,} of {summary.sink['events_sent']:,} events were "
            "not taken in by the ingest (see the table)"
        )


def parse_start(text: str, now: datetime | None = None) -> datetime:
    """``now``, ``today`` (midnight UTC) or an ISO date or date-time, as an aware UTC datetime
    (naive means UTC)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if text == NOW:
        return now.replace(microsecond=now.microsecond // 1000 * 1000)
    if text == TODAY:
        return datetime.combine(now.date(), time(), tzinfo=UTC)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise typer.BadParameter(
            f"{text!r} is not 'now', 'today' or an ISO date or date-time (UTC) from 1970 on",
            param_hint="--start",
        ) from None


@contextmanager
def _progress(console: Console, total: int, visible: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr advancing by events, or nothing."""
    if not visible:
        yield _ignore
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    # no refresh thread: the worker pool is forked, which is only safe from a single thread
    progress = Progress(*columns, console=console, transient=True, auto_refresh=False)
    with progress:
        task = progress.add_task("events", total=total)

        def advance(done: int) -> None:
            progress.advance(task, done)
            progress.refresh()

        yield advance


def _ignore(_: int) -> None:
    return None


def _to_jsonl(
    config: TrafficConfig, out: str, workers: int, advance: Callable[[int], None]
) -> GenerationSummary:
    import sys

    from streaming.generator.sinks.jsonl import write_jsonl

    if out == STDOUT:
        sys.stdout.flush()
        try:
            return write_jsonl(config, sys.stdout.buffer, workers=workers, progress=advance)
        except BrokenPipeError:  # the reader has had enough (`| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        return write_jsonl(config, handle, workers=workers, progress=advance)


def _to_landing(
    config: TrafficConfig, workers: int, buffer_seconds: int | None, advance: Callable[[int], None]
) -> GenerationSummary:
    from streaming.contracts.landing import landing_store
    from streaming.contracts.settings import get_settings
    from streaming.generator.sinks.landing import write_landing

    settings = get_settings()
    summary = write_landing(
        config,
        landing_store(settings, durable=False),
        settings,
        workers=workers,
        buffer_seconds=buffer_seconds,
        progress=advance,
    )
    os.sync()  # the objects were written without an fsync each
    return summary


def _to_http(
    config: TrafficConfig,
    url: str,
    *,
    workers: int,
    concurrency: int,
    rate: float | None,
    api_key: str | None,
    advance: Callable[[int], None],
) -> GenerationSummary:
    from streaming.generator.sinks.http import send_http

    return send_http(
        config,
        url,
        workers=workers,
        concurrency=concurrency,
        rate=rate,
        api_key=api_key,
        progress=advance,
    )


def _check_ingest(url: str) -> None:
    from streaming.generator.sinks.http import check_reachable

    try:
        check_reachable(url)
    except ValueError as error:
        raise UsageError(f"--http: {error}") from error


def _check_api_key(api_key: str) -> None:
    from streaming.generator.sinks.http import check_api_key

    try:
        check_api_key(api_key)
    except ValueError as error:
        raise UsageError(f"--api-key {error}") from error


def _stream_live(
    config: TrafficConfig, url: str, *, rate: float, concurrency: int, api_key: str | None
) -> None:
    """Send the traffic as it happens; one line on stderr when it starts and when it stops."""
    import time as clock

    from streaming.generator.live import send_live
    from streaming.generator.sinks.http import HttpReport

    typer.echo(
        f"streaming {config.events:,} events to {url} at {rate:g}/s from "
        f"{config.start:%H:%M:%S} UTC on (Ctrl-C stops)",
        err=True,
    )
    began = clock.monotonic()
    report = HttpReport()
    send_live(config, url, rate=rate, concurrency=concurrency, api_key=api_key, report=report)
    typer.echo(_live_summary(report, config.events, clock.monotonic() - began), err=True)
    if report.http_errors:
        raise CommandError(
            f"{report.failed_events:,} events were not taken in, the last because of: "
            f"{report.last_error}"
        )


def _live_summary(report: HttpReport, planned: int, seconds: float) -> str:
    stopped = "" if report.events_sent >= planned else f" (stopped before {planned:,})"
    return (
        f"sent {report.events_sent:,} events{stopped} in {seconds:,.0f} s: "
        f"{report.accepted:,} accepted, {report.rejected:,} rejected, "
        f"{report.discarded:,} discarded, {report.failed_events:,} failed"
    )


def _write_segments(config: TrafficConfig, path: Path) -> int:
    import gzip

    import orjson

    from streaming.generator import generate_segments

    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with path.open("wb") as raw:
        compressed = path.suffix == ".gz"
        handle = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if compressed else raw
        with handle:
            for row in generate_segments(config):
                handle.write(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
                rows += 1
    return rows
