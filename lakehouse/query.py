"""Ad-hoc SQL over the lake: DuckDB with every Iceberg table visible as ``lake.*``/``mart.*``.

The local real-time marts are attached read-only as ``rt.*`` once the consumer has published
them (``clickstream rt consume``).
"""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from lakehouse.catalog import open_catalog
from lakehouse.engine import connect
from streaming.contracts.settings import Settings
from streaming.realtime.store import attach_realtime

READ_STATEMENTS = "SELECT, FROM, DESCRIBE, SHOW, SUMMARIZE, PIVOT ... IN, EXPLAIN"
"""What the console runs: DuckDB parses every one of them as a SELECT (EXPLAIN of one)."""
_EXPLAIN = re.compile(r"\s*explain\s+(analy[sz]e\s+|\([^)]*\)\s*)?", re.IGNORECASE)


class QueryError(ValueError):
    """The SQL did not run; the message is DuckDB's."""


class ReadOnlyError(QueryError):
    """The SQL holds a statement that is not a read; nothing ran."""


def query(settings: Settings, sql: str) -> pa.Table:
    """Run the read statements ``sql`` holds against the current snapshot of every table and
    return the rows of the last; a statement that is not a read refuses all of them."""
    conn = connect(settings, open_catalog(settings))
    try:
        statements = read_statements(conn, sql)
        attach_realtime(conn, settings)
        for statement in statements[:-1]:
            conn.execute(statement)
        return conn.execute(statements[-1]).to_arrow_table()
    except QueryError:
        raise
    except Exception as error:  # DuckDB raises a family of errors; the message is what matters
        raise QueryError(str(error).strip()) from error
    finally:
        conn.close()


def read_statements(conn: duckdb.DuckDBPyConnection, sql: str) -> list[duckdb.Statement]:
    """The statements of ``sql`` as DuckDB parses them, all reads; else :class:`QueryError`."""
    statements = conn.extract_statements(sql)
    if not statements:
        raise QueryError("the SQL holds no statement")
    for statement in statements:
        kind = statement.type
        if kind == duckdb.StatementType.EXPLAIN:
            explained = conn.extract_statements(_EXPLAIN.sub("", statement.query, count=1))
            kind = next(
                (inner.type for inner in explained if inner.type != duckdb.StatementType.SELECT),
                duckdb.StatementType.SELECT,
            )
        if kind != duckdb.StatementType.SELECT:
            name = kind.name if kind.name.isidentifier() else statement.query.split()[0].upper()
            raise ReadOnlyError(
                f"{name} is not a read statement; the query console only reads ({READ_STATEMENTS})"
            )
    return statements
