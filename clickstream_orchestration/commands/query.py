"""``clickstream query "SQL"``: a SQL console over the lake (local DuckDB over Iceberg)."""

from __future__ import annotations

import csv
import enum
import json
import sys
from typing import Annotated

import typer


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def query(
    sql: Annotated[str, typer.Argument(help="SQL to run; tables are lake.*, mart.* and rt.*.")],
    output: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="table, json (one object per line) or csv."),
    ] = OutputFormat.table,
    limit: Annotated[int, typer.Option(help="Rows shown in table format.", min=1)] = 50,
) -> None:
    """Run SQL against the lake's Iceberg tables (and the real-time rt.* marts); print it."""
    from rich.console import Console
    from rich.table import Table

    from clickstream_orchestration.lakehouse.query import QueryError
    from clickstream_orchestration.lakehouse.query import query as run_query
    from streaming.settings import get_settings

    settings = get_settings()
    if settings.env != "local":
        raise typer.BadParameter("the query console runs on the local lake; use Athena on aws")
    try:
        result = run_query(settings, sql)
    except QueryError as error:
        Console(stderr=True).print(f"[red]query failed:[/red] {error}", highlight=False)
        raise typer.Exit(2) from None
    rows = result.to_pylist()
    if output is OutputFormat.json:
        for row in rows:
            sys.stdout.write(json.dumps(row, default=str) + "\n")
    elif output is OutputFormat.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.column_names)
        writer.writerows([row[name] for name in result.column_names] for row in rows)
    else:
        table = Table(*result.column_names)
        for row in rows[:limit]:
            table.add_row(*("" if value is None else str(value) for value in row.values()))
        console = Console()
        console.print(table)
        shown = min(limit, len(rows))
        console.print(
            f"{len(rows)} row(s)" + (f", first {shown} shown" if shown < len(rows) else "")
        )
