"""One query layer for readers of the marts (the dashboards): the same SQL on both targets.

``open_warehouse(settings)`` picks the backend from ``settings.env``:

- ``local``: DuckDB over the Iceberg tables (``lake.*``, ``mart.*``) and the published
  real-time snapshot (``rt.*``);
- ``aws``: Athena for ``lake.*``/``mart.*`` (the Glue databases of the same names) and the
  Redshift Data API for ``rt.*`` (the streaming materialised views' schema).

Queries are written in the SQL both engines share (DuckDB and Trino): ``date '…'`` literals,
``interval '1' day``, ``date_trunc``, ``count(distinct …)``, ``case``; values are inlined with
:func:`literal`, the one quoting rule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

import pyarrow as pa

from streaming.contracts.settings import Settings

Source = Literal["lake", "rt"]

FRESHNESS_SCHEMA = pa.schema([("table_name", pa.string()), ("committed_at", pa.timestamp("us"))])


class WarehouseError(RuntimeError):
    """A query did not run; the message is the engine's."""


class Warehouse(Protocol):
    def query(self, sql: str, source: Source = "lake") -> pa.Table:
        """Rows of ``sql`` against the lake (``lake.*``/``mart.*``) or the real-time marts."""
        ...

    def freshness(self) -> pa.Table:
        """One row per lake table: its name and the time of its latest commit (UTC)."""
        ...

    def prepare(self) -> None:
        """Do ahead what the first query would otherwise wait for."""
        ...

    def close(self) -> None: ...


def literal(value: object) -> str:
    """``value`` as a SQL literal both engines read the same way."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return repr(value) if not isinstance(value, Decimal) else str(value)
    if isinstance(value, datetime):
        moment = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return f"timestamp '{moment.isoformat(sep=' ', timespec='microseconds')}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def literal_list(values: Iterable[object]) -> str:
    return "(" + ", ".join(literal(value) for value in values) + ")"


def open_warehouse(settings: Settings) -> Warehouse:
    if settings.env == "aws":
        return AwsWarehouse(settings)
    return LocalWarehouse(settings)


@contextmanager
def _as_warehouse_errors() -> Iterator[None]:
    """DuckDB's errors, and the catalog's while it lists the lake's tables, as one clear
    :class:`WarehouseError`."""
    import duckdb
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except duckdb.Error as error:
        raise WarehouseError(str(error).strip()) from error
    except (SQLAlchemyError, NoSuchTableError, NoSuchNamespaceError) as error:
        raise WarehouseError(f"the lake's catalog could not be read: {error}") from error


class LocalWarehouse:
    """DuckDB with every Iceberg table as a view; views follow new commits within ``refresh``.

    Views of tables with a new commit are re-pointed at their current metadata files at most once
    per ``refresh_seconds``; the real-time snapshot is attached anew for every ``rt`` query (it
    moves every half second). One connection serves the callers' threads, one query at a time.
    """

    def __init__(self, settings: Settings, refresh_seconds: float = 10.0) -> None:
        from lakehouse.catalog import open_catalog
        from lakehouse.engine import connect

        self._settings = settings
        self._catalog = open_catalog(settings)
        self._conn = connect(settings)
        self._refresh_seconds = refresh_seconds
        self._attached_at = float("-inf")
        self._locations: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def _attach_if_stale(self) -> None:
        from lakehouse.catalog import metadata_locations
        from lakehouse.engine import attach_views

        if time.monotonic() - self._attached_at < self._refresh_seconds:
            return
        current = metadata_locations(self._catalog)
        moved = {
            table: location
            for table, location in current.items()
            if self._locations.get(table) != location
        }
        attach_views(self._conn, moved)  # creating a view reads its metadata file
        self._locations = current
        self._attached_at = time.monotonic()

    def query(self, sql: str, source: Source = "lake") -> pa.Table:
        from streaming.realtime.store import attach_realtime

        with self._lock, _as_warehouse_errors():
            if source == "rt":
                return self._query_realtime(sql, attach_realtime)
            self._attach_if_stale()
            return self._conn.execute(sql).to_arrow_table()

    def _query_realtime(self, sql: str, attach: Callable[..., object]) -> pa.Table:
        if attach(self._conn, self._settings) is None:
            raise WarehouseError("no real-time snapshot yet: the real-time consumer is not running")
        try:
            return self._conn.execute(sql).to_arrow_table()
        finally:
            self._conn.execute('detach "rt"')

    def prepare(self) -> None:
        """Attach the lake's views (reading every table's metadata, 0.3-0.4 s on a built lake)."""
        with self._lock, _as_warehouse_errors():
            self._attach_if_stale()

    def freshness(self) -> pa.Table:
        with self._lock, _as_warehouse_errors():
            self._attach_if_stale()
            if not self._locations:
                return FRESHNESS_SCHEMA.empty_table()
            latest = " union all ".join(
                f"select {literal(f'{schema}.{table}')} as table_name, "
                f"max(timestamp_ms) as committed_at from iceberg_snapshots({literal(location)})"
                for (schema, table), location in sorted(self._locations.items())
            )
            return (
                self._conn.execute(latest + " order by table_name")
                .to_arrow_table()
                .cast(FRESHNESS_SCHEMA)
            )

    def close(self) -> None:
        self._conn.close()


# Athena's result types (ResultSetMetadata.ColumnInfo.Type) and Redshift's (typeName) to Arrow.
_ARROW_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "bool": pa.bool_(),
    "tinyint": pa.int8(),
    "smallint": pa.int16(),
    "int2": pa.int16(),
    "integer": pa.int32(),
    "int": pa.int32(),
    "int4": pa.int32(),
    "bigint": pa.int64(),
    "int8": pa.int64(),
    "real": pa.float32(),
    "float4": pa.float32(),
    "float": pa.float64(),
    "double": pa.float64(),
    "float8": pa.float64(),
    "decimal": pa.float64(),
    "numeric": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us"),
}


def _convert(text: str | None, arrow_type: pa.DataType) -> object:
    if text is None:
        return None
    if pa.types.is_boolean(arrow_type):
        return text.lower() == "true"
    if pa.types.is_integer(arrow_type):
        return int(text)
    if pa.types.is_floating(arrow_type):
        return float(text)
    if pa.types.is_date(arrow_type):
        return date.fromisoformat(text[:10])
    if pa.types.is_timestamp(arrow_type):
        moment = datetime.fromisoformat(text.replace(" UTC", "").replace("Z", "+00:00"))
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    return text


@dataclass(frozen=True)
class Column:
    name: str
    engine_type: str

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES.get(self.engine_type.lower(), pa.string())


def arrow_table(columns: Sequence[Column], rows: Iterable[Sequence[str | None]]) -> pa.Table:
    """Rows of text values (as both services return them) typed by their columns."""
    values: list[list[object]] = [[] for _ in columns]
    for row in rows:
        for index, column in enumerate(columns):
            values[index].append(_convert(row[index], column.arrow_type))
    return pa.table(
        [
            pa.array(column_values, type=column.arrow_type)
            for column_values, column in zip(values, columns, strict=True)
        ],
        names=[column.name for column in columns],
    )


class AwsWarehouse:
    """Athena for the lake and marts, the Redshift Data API for the real-time marts."""

    POLL_SECONDS = (0.2, 0.4, 0.8, 1.0)

    def __init__(
        self,
        settings: Settings,
        athena: Any | None = None,
        glue: Any | None = None,
        redshift_data: Any | None = None,
        timeout_seconds: float = 60.0,
    ) -> None:
        from streaming.contracts.aws_clients import client as aws_client

        self._settings = settings
        self._athena = athena or aws_client(settings, "athena")
        self._glue = glue or aws_client(settings, "glue")
        self._redshift = redshift_data or aws_client(settings, "redshift-data")
        self._timeout = timeout_seconds

    def query(self, sql: str, source: Source = "lake") -> pa.Table:
        if source == "rt":
            return self._redshift_query(sql)
        return self._athena_query(sql)

    def _wait(self, poll: Callable[[], tuple[str, str]], done: set[str], ok: str) -> None:
        deadline = time.monotonic() + self._timeout
        for attempt in range(1_000_000):
            state, reason = poll()
            if state in done:
                if state != ok:
                    raise WarehouseError(f"query {state.lower()}: {reason}".strip())
                return
            if time.monotonic() > deadline:
                raise WarehouseError(f"query still {state.lower()} after {self._timeout:.0f} s")
            time.sleep(self.POLL_SECONDS[min(attempt, len(self.POLL_SECONDS) - 1)])

    def _athena_query(self, sql: str) -> pa.Table:
        started = self._athena.start_query_execution(
            QueryString=sql,
            WorkGroup=self._settings.athena_workgroup,
            QueryExecutionContext={"Catalog": "AwsDataCatalog"},
        )
        execution_id = started["QueryExecutionId"]

        def poll() -> tuple[str, str]:
            status = self._athena.get_query_execution(QueryExecutionId=execution_id)
            state = status["QueryExecution"]["Status"]
            return state["State"], state.get("StateChangeReason", "")

        self._wait(poll, {"SUCCEEDED", "FAILED", "CANCELLED"}, "SUCCEEDED")
        columns: list[Column] = []
        rows: list[list[str | None]] = []
        pages = self._athena.get_paginator("get_query_results").paginate(
            QueryExecutionId=execution_id
        )
        for number, page in enumerate(pages):
            result = page["ResultSet"]
            if number == 0:
                columns = [
                    Column(info["Name"], info["Type"])
                    for info in result["ResultSetMetadata"]["ColumnInfo"]
                ]
            data = result["Rows"][1:] if number == 0 else result["Rows"]  # row 0: the header
            rows.extend([cell.get("VarCharValue") for cell in row["Data"]] for row in data)
        return arrow_table(columns, rows)

    def _redshift_query(self, sql: str) -> pa.Table:
        started = self._redshift.execute_statement(
            WorkgroupName=self._settings.redshift_workgroup_name,
            Database=self._settings.redshift_database,
            Sql=sql,
        )
        statement_id = started["Id"]

        def poll() -> tuple[str, str]:
            status = self._redshift.describe_statement(Id=statement_id)
            return status["Status"], status.get("Error", "")

        self._wait(poll, {"FINISHED", "FAILED", "ABORTED"}, "FINISHED")
        columns: list[Column] = []
        rows: list[list[str | None]] = []
        token: str | None = None
        while True:
            page = self._redshift.get_statement_result(
                Id=statement_id, **({"NextToken": token} if token else {})
            )
            columns = [
                Column(info["name"], info.get("typeName", "varchar"))
                for info in page["ColumnMetadata"]
            ]
            rows.extend([_field_text(field) for field in record] for record in page["Records"])
            token = page.get("NextToken")
            if not token:
                return arrow_table(columns, rows)

    def prepare(self) -> None:
        """Nothing to do ahead: Athena and the Data API keep no state between queries."""

    def freshness(self) -> pa.Table:
        names: list[str] = []
        committed: list[datetime | None] = []
        for database in self._settings.glue_databases:
            for page in self._glue.get_paginator("get_tables").paginate(DatabaseName=database):
                for table in page["TableList"]:
                    if table.get("Parameters", {}).get("table_type", "").upper() != "ICEBERG":
                        continue
                    name = f"{database}.{table['Name']}"
                    latest = self._athena_query(
                        f'select max(committed_at) as committed_at from "{database}".'
                        f'"{table["Name"]}$snapshots"'
                    )
                    names.append(name)
                    committed.append(latest.column("committed_at")[0].as_py())
        return pa.table([names, committed], schema=FRESHNESS_SCHEMA)

    def close(self) -> None:
        return None


def _field_text(field: dict[str, Any]) -> str | None:
    if field.get("isNull"):
        return None
    for key in ("stringValue", "longValue", "doubleValue", "booleanValue"):
        if key in field:
            value = field[key]
            return str(value).lower() if key == "booleanValue" else str(value)
    return None
