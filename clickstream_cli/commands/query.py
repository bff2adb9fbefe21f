"""``clickstream query "SQL"``: a read-only SQL console over the lake (local DuckDB over
Iceberg)."""

from __future__ import annotations

import csv
import enum
import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from clickstream_cli.errors import CommandError, UsageError

if TYPE_CHECKING:
    from lakehouse.query import QueryError
    from streaming.contracts.settings import Settings

FILL_THE_LAKE = (
    "fill it with `clickstream demo`, or `clickstream generate --landing`, "
    "`clickstream lake load` and `clickstream lake build`"
)
ENGINE_INTERNALS = ("sqlite_", "duckdb_", "pg_", "information_schema")


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def query(
    sql: Annotated[
        str | None,
        typer.Argument(
            help="SQL to run, reads only (SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN); "
            "tables are lake.*, mart.* and rt.*."
        ),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="table, json (one object per line) or csv."),
    ] = OutputFormat.table,
    limit: Annotated[int, typer.Option(help="Rows shown in table format.", min=1)] = 50,
    tables: Annotated[
        bool, typer.Option("--tables", help="List the lake's tables and their rows instead.")
    ] = False,
) -> None:
    """Run read-only SQL against the lake's Iceberg tables (and the real-time rt.* marts);
    print it. A statement that would write (INSERT, DELETE, DROP, COPY, ATTACH, SET, ...) is
    refused before anything runs.

    Rows wider than the terminal are shown one block per row.
    """
    from rich.console import Console

    from clickstream_cli.tabular import print_rows
    from lakehouse.query import QueryError, ReadOnlyError
    from lakehouse.query import query as run_query
    from streaming.contracts.settings import get_settings

    if (sql is None) == (not tables):
        raise UsageError("give either SQL to run or --tables")
    if sql is not None and not sql.strip():
        raise UsageError('the SQL is empty: give a query, e.g. "select 1", or --tables')
    settings = get_settings()
    if settings.env != "local":
        raise UsageError("the query console runs on the local lake; use Athena on aws")
    if tables:
        _list_tables(settings)
        return
    try:
        result = run_query(settings, sql or "")
    except ReadOnlyError as error:
        raise UsageError(f"query refused: {error}") from error
    except QueryError as error:
        raise _failure(settings, error) from error
    rows = result.to_pylist()
    if output is OutputFormat.json:
        for row in rows:
            sys.stdout.write(json.dumps(row, default=str) + "\n")
    elif output is OutputFormat.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.column_names)
        writer.writerows([row[name] for name in result.column_names] for row in rows)
    else:
        console = Console()
        print_rows(console, result.column_names, [list(row.values()) for row in rows[:limit]])
        shown = min(limit, len(rows))
        console.print(
            f"{len(rows)} row(s)" + (f", first {shown} shown" if shown < len(rows) else "")
        )


def _list_tables(settings: Settings) -> None:
    from clickstream_cli.lake_tables import lake_tables

    found = lake_tables(settings)
    if not found:
        typer.echo(f"the lake has no tables yet: {FILL_THE_LAKE}", err=True)
        return
    width = max(len(table.name) for table in found)
    for table in found:
        rows = "?" if table.rows is None else f"{table.rows:,}"
        typer.echo(f"{table.name:<{width}}  {rows:>12} rows")


def _failure(settings: Settings, error: QueryError) -> CommandError:
    from clickstream_cli.lake_tables import lake_tables

    message = engine_message(str(error))
    if not message.startswith("Catalog Error"):
        return UsageError(f"query failed: {message}")
    if not lake_tables(settings):
        return CommandError(f"the lake is empty, it has no tables yet: {FILL_THE_LAKE}")
    return UsageError(f"query failed: {message} (`clickstream query --tables` lists the tables)")


def engine_message(text: str) -> str:
    """DuckDB's error without the echo of the SQL and without suggestions of its own tables."""
    kept = []
    for line in text.splitlines():
        if line.startswith("LINE "):
            break
        if line.startswith("Did you mean") and any(name in line for name in ENGINE_INTERNALS):
            continue
        if line.strip():
            kept.append(line.strip())
    return " ".join(kept)
