"""Ad-hoc SQL over the lake: DuckDB with every Iceberg table visible as ``lake.*``/``mart.*``.

The local real-time marts are attached read-only as ``rt.*`` once the consumer has published
them (``clickstream rt consume``).
"""

from __future__ import annotations

import pyarrow as pa

from lakehouse.catalog import open_catalog
from lakehouse.engine import connect
from streaming.contracts.settings import Settings
from streaming.realtime.store import attach_realtime


class QueryError(ValueError):
    """The SQL did not run; the message is DuckDB's."""


def query(settings: Settings, sql: str) -> pa.Table:
    """Run ``sql`` against the current snapshot of every table and return the rows."""
    conn = connect(settings, open_catalog(settings))
    try:
        attach_realtime(conn, settings)
        return conn.execute(sql).to_arrow_table()
    except Exception as error:  # DuckDB raises a family of errors; the message is what matters
        raise QueryError(str(error).strip()) from error
    finally:
        conn.close()
