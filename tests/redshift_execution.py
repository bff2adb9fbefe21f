"""The real-time Redshift SQL (streaming/realtime/redshift/) executed on DuckDB.

The Kinesis external schema is a DuckDB table with the columns Redshift's streaming ingestion
presents (``approximate_arrival_timestamp``, ``partition_key``, ``shard_id``,
``sequence_number``, ``kinesis_data`` as bytes). Every rendered statement is transpiled from
Redshift to DuckDB with sqlglot; the streaming materialised view becomes a table holding its
select (a refresh at one instant). The session time zone is UTC, as ``GETDATE()`` is on Redshift.

sqlglot cannot carry four Redshift functions of the view, so they are rewritten on the parsed
tree before DuckDB SQL is generated (listed in docs/aws-equivalence.md):

* ``JSON_EXTRACT_PATH_TEXT(text, 'a', 'b', TRUE)``: sqlglot keeps only the first path element
  for DuckDB (``->> 'a'``) and drops the rest silently. Rewritten as
  ``CASE WHEN json_valid(text) THEN json_extract_string(text, '$."a"."b"') END`` (``TRUE``:
  null for invalid JSON instead of an error).
* ``FROM_VARBYTE(bytes, 'utf-8')``: no DuckDB counterpart in sqlglot; ``decode(bytes)``.
* ``CAN_JSON_PARSE(bytes)``: ``json_valid(decode(bytes))``.
* ``JSON_PARSE(bytes)`` (the SUPER payload): ``json(decode(bytes))``.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from streaming.contracts.settings import Settings
from streaming.realtime.redshift_sql import SqlStatement, render

STREAM_COLUMNS = pa.schema(
    [
        ("approximate_arrival_timestamp", pa.timestamp("us")),
        ("partition_key", pa.string()),
        ("shard_id", pa.string()),
        ("sequence_number", pa.string()),
        ("kinesis_data", pa.binary()),
    ]
)


def _decoded(node: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this="decode", expressions=[node])


def _json_path(elements: Sequence[exp.Expression]) -> str:
    names = []
    for element in elements:
        if not isinstance(element, exp.Literal) or not element.is_string:
            raise ValueError(f"JSON path element that is not a string literal: {element.sql()}")
        names.append('"' + element.this.replace('"', '\\"') + '"')
    return "$." + ".".join(names)


def _redshift_functions(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.JSONExtractScalar) and node.expressions is not None:
        elements = [node.expression, *node.expressions]
        null_if_invalid = isinstance(elements[-1], exp.Boolean)
        if null_if_invalid:
            elements = elements[:-1]
        text = node.this.transform(_redshift_functions)
        extracted = exp.Anonymous(
            this="json_extract_string",
            expressions=[text.copy(), exp.Literal.string(_json_path(elements))],
        )
        if not null_if_invalid:
            return extracted
        valid = exp.Anonymous(this="json_valid", expressions=[text.copy()])
        return exp.Case(ifs=[exp.If(this=valid, true=extracted)])
    if isinstance(node, exp.Anonymous):
        name = node.name.upper()
        if name == "FROM_VARBYTE":
            return _decoded(node.expressions[0])
        if name == "CAN_JSON_PARSE":
            return exp.Anonymous(this="json_valid", expressions=[_decoded(node.expressions[0])])
    if isinstance(node, exp.ParseJSON):
        return exp.Anonymous(this="json", expressions=[_decoded(node.this)])
    return node


def to_duckdb(redshift_sql: str) -> str:
    """One Redshift statement as DuckDB SQL; a materialised view becomes a table of its select."""
    tree = sqlglot.parse_one(redshift_sql, read="redshift")
    if isinstance(tree, exp.Create) and tree.kind == "VIEW" and _is_materialised(tree):
        table = tree.this
        select = tree.expression.transform(_redshift_functions)
        return f"CREATE TABLE {table.sql(dialect='duckdb')} AS {select.sql(dialect='duckdb')}"
    tree = tree.transform(_redshift_functions)
    return tree.sql(dialect="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE)


def _is_materialised(tree: exp.Create) -> bool:
    properties = tree.args.get("properties")
    return bool(
        properties and any(isinstance(p, exp.MaterializedProperty) for p in properties.expressions)
    )


def executable_statements(settings: Settings) -> list[SqlStatement]:
    """The rendered statements DuckDB runs: all but the external schema (a table stands in)."""
    return [
        statement
        for statement in render(settings)
        if not statement.sql.upper().startswith("CREATE EXTERNAL SCHEMA")
    ]


def redshift_on_duckdb(settings: Settings, stream_records: pa.Table) -> duckdb.DuckDBPyConnection:
    """A DuckDB database holding the stream's records and every real-time object over them."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    external = settings.redshift.external_schema
    connection.execute(f"CREATE SCHEMA {external}")
    connection.register("stream_records", stream_records)
    connection.execute(
        f'CREATE TABLE {external}."{settings.stream_name}" AS SELECT * FROM stream_records'
    )
    connection.unregister("stream_records")
    for statement in executable_statements(settings):
        connection.execute(to_duckdb(statement.sql))
    return connection
