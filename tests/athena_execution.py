"""The dbt models as compiled for the ``athena`` target, executed on DuckDB.

The compiled SQL of every model (read from the manifest, in dependency order) is transpiled
from Trino to DuckDB with sqlglot and run the way dbt-athena runs an Iceberg model with the
``merge`` strategy:

* ``materialized='table'``: the table is replaced by the select on every run;
* ``incremental``, first run (no table yet): ``create table <model> as <compiled select>``;
* ``incremental``, later runs: the select is written to a temporary table, then
  ``merge into <model> as target using <tmp> as src on (target.k = src.k and ...)
  when matched then update set <every non-key column> = src.<column>
  when not matched then insert (<columns>) values (src.<columns>)``
  (dbt-athena's ``iceberg_merge`` macro with no incremental predicates, no delete/update/insert
  conditions and the default ``replace`` rule), after ``on_schema_change: append_new_columns``
  added the select's new columns to the table. Rows of the target that the select no longer
  produces stay, exactly as on Athena.

Relations keep their Athena names: the catalog ``awsdatacatalog`` is an attached DuckDB
database with the ``lake`` and ``mart`` schemas, so the compiled references resolve unchanged.

Outputs are compared as a hash of sorted rows after normalising what the two engines represent
differently (``normalised_rows``): timestamps (Athena ``timestamp(6)``, the lake's microsecond
timestamps) as ISO text at microseconds, integers of any width as Python ints, arrays as tuples.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
import yaml
from sqlglot import exp

from lakehouse.dbt_invocation import DBT_PROJECT_DIR, dbt_command, dbt_environment
from lakehouse.window import Rebuild
from streaming.contracts.settings import Settings

CATALOG = "awsdatacatalog"


@dataclass(frozen=True)
class CompiledModel:
    name: str
    schema: str
    sql: str
    """The compiled select, Trino (Athena) SQL."""
    unique_key: tuple[str, ...]
    upstream: tuple[str, ...]
    """The names of the materialised models it reads."""
    materialized: str = "incremental"
    """``incremental`` (create, then merge) or ``table`` (replaced whole on every run)."""
    pre_hooks: tuple[str, ...] = ()
    """The hooks' Jinja as written (dbt renders hooks only when it runs the model)."""

    @property
    def relation(self) -> str:
        return f'"{CATALOG}"."{self.schema}"."{self.name}"'


@dataclass
class AthenaCompile:
    """``dbt compile --target athena`` running against a local STS/Glue endpoint."""

    process: subprocess.Popen[bytes]
    home: Path

    def manifest(self) -> Path:
        """Waits for the compile; the manifest's path."""
        if self.process.wait() != 0:
            log = (self.home / "compile.log").read_text()
            raise AssertionError(f"dbt compile --target athena failed:\n{log[-4000:]}")
        return self.home / "target" / "manifest.json"


def start_athena_compile(aws_endpoint: str, home: Path, rebuild: Rebuild) -> AthenaCompile:
    """Starts compiling every model for ``rebuild`` (it runs beside the local build)."""
    settings = Settings(home=home, env="aws", aws_account_id="123456789012")
    environment = os.environ | dbt_environment(settings, rebuild)
    environment |= {
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DBT_TARGET_PATH": str(home / "target"),
        "DBT_LOG_PATH": str(home / "logs"),
    }
    command = ["compile", "--target", "athena", "--select", "resource_type:model"]
    with (home / "compile.log").open("wb") as log:
        process = subprocess.Popen(
            dbt_command(command),
            cwd=DBT_PROJECT_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return AthenaCompile(process, home)


def compiled_models(manifest_path: Path) -> list[CompiledModel]:
    """Every materialised (not ephemeral) model of the manifest, upstream models first."""
    nodes = json.loads(manifest_path.read_text())["nodes"]
    models = {
        node["unique_id"]: node
        for node in nodes.values()
        if node["resource_type"] == "model" and node["config"]["materialized"] != "ephemeral"
    }
    ordered: list[CompiledModel] = []
    placed: set[str] = set()

    def place(unique_id: str) -> None:
        if unique_id in placed:
            return
        node = models[unique_id]
        upstream = _materialised_upstream(unique_id, nodes, models)
        for parent in upstream:
            place(parent)
        placed.add(unique_id)
        key = node["config"]["unique_key"]
        ordered.append(
            CompiledModel(
                name=node["alias"] or node["name"],
                schema=node["schema"],
                sql=node["compiled_code"],
                unique_key=tuple([key] if isinstance(key, str) else key),
                upstream=tuple(models[parent]["name"] for parent in upstream),
                materialized=node["config"]["materialized"],
                pre_hooks=tuple(hook["sql"].strip() for hook in node["config"]["pre-hook"]),
            )
        )

    for unique_id in sorted(models):
        place(unique_id)
    return ordered


def source_tables(manifest_path: Path) -> list[tuple[str, str]]:
    """The ``(schema, table)`` of every dbt source a model reads: the tables loaders fill, not
    dbt (sources declared only for the dashboards' exposures are left out)."""
    manifest = json.loads(manifest_path.read_text())
    read = {
        parent
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        for parent in node["depends_on"]["nodes"]
    }
    return sorted(
        {
            (source["schema"], source["identifier"])
            for unique_id, source in manifest["sources"].items()
            if unique_id in read
        }
    )


def _materialised_upstream(
    unique_id: str, nodes: dict[str, Any], models: dict[str, Any]
) -> list[str]:
    """The materialised models a node reads, looking through ephemeral ones."""
    found: list[str] = []
    for parent in nodes[unique_id]["depends_on"]["nodes"]:
        if parent in models:
            found.append(parent)
        elif parent in nodes and nodes[parent]["resource_type"] == "model":
            found += _materialised_upstream(parent, nodes, models)
    return sorted(set(found))


# Joda-Time pattern letters (Trino's format_datetime) and their strftime equivalents in DuckDB.
JODA_TO_STRFTIME = {
    "yyyy": "%Y",
    "MM": "%m",
    "dd": "%d",
    "HH": "%H",
    "mm": "%M",
    "ss": "%S",
    "SSSSSS": "%f",
}
_JODA_TOKEN = re.compile(r"'([^']*)'|([A-Za-z])\2*|([^A-Za-z']+)")


def joda_to_strftime(pattern: str) -> str:
    """A Joda-Time pattern as a strftime format; a letter run outside JODA_TO_STRFTIME raises."""
    converted = []
    for match in _JODA_TOKEN.finditer(pattern):
        quoted, _, literal = match.groups()
        if quoted is not None:
            converted.append(quoted.replace("%", "%%") or "'")
        elif literal is not None:
            converted.append(literal.replace("%", "%%"))
        else:
            letters = match.group(0)
            if letters not in JODA_TO_STRFTIME:
                raise ValueError(f"no strftime equivalent for Joda pattern letters {letters!r}")
            converted.append(JODA_TO_STRFTIME[letters])
    return "".join(converted)


def _format_datetime_as_strftime(node: exp.Expression) -> exp.Expression:
    """sqlglot leaves Trino's format_datetime (Joda-Time patterns) as an unknown function."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "format_datetime":
        value, pattern = node.expressions
        if not isinstance(pattern, exp.Literal) or not pattern.is_string:
            raise ValueError(f"format_datetime with a pattern that is not a literal: {node.sql()}")
        return exp.Anonymous(
            this="strftime", expressions=[value, exp.Literal.string(joda_to_strftime(pattern.this))]
        )
    return node


def to_duckdb(trino_sql: str) -> str:
    """One compiled Trino statement as DuckDB SQL."""
    tree = sqlglot.parse_one(trino_sql, read="trino")
    tree = tree.transform(_format_datetime_as_strftime)
    return tree.sql(dialect="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE)


class AthenaOnDuckDB:
    """The Glue catalog's databases as DuckDB schemas, and dbt-athena's statements on them."""

    def __init__(self) -> None:
        self.connection = duckdb.connect()
        self.connection.execute("set TimeZone = 'UTC'")  # Athena's session zone
        self.connection.execute(f"attach ':memory:' as {CATALOG}")
        for schema in ("lake", "mart"):
            self.connection.execute(f"create schema {CATALOG}.{schema}")

    def put_table(self, schema: str, name: str, rows: pa.Table) -> None:
        """A source table (as the Glue table holds it), replacing what it held."""
        self.connection.register("incoming_rows", rows)
        self.connection.execute(
            f'create or replace table "{CATALOG}"."{schema}"."{name}" as '
            "select * from incoming_rows"
        )
        self.connection.unregister("incoming_rows")

    def exists(self, model: CompiledModel) -> bool:
        found = self.connection.execute(
            "select count(*) from duckdb_tables() "
            "where database_name = ? and schema_name = ? and table_name = ?",
            [CATALOG, model.schema, model.name],
        ).fetchone()
        return bool(found and found[0])

    def run(self, models: Iterable[CompiledModel], rebuild: Rebuild | None = None) -> None:
        for model in models:
            self.materialise(model, rebuild)

    def materialise(self, model: CompiledModel, rebuild: Rebuild | None = None) -> None:
        select = to_duckdb(model.sql)
        if model.materialized == "table":
            self.connection.execute(f"create or replace table {model.relation} as {select}")
            return
        if model.materialized != "incremental":
            raise ValueError(f"{model.name}: no emulation of materialized={model.materialized!r}")
        if not self.exists(model):
            self.connection.execute(f"create table {model.relation} as {select}")
            return
        for hook in model.pre_hooks:
            self.connection.execute(pre_hook_statement(model, hook, rebuild))
        self.connection.execute(f"create or replace temp table dbt_tmp as {select}")
        self.append_new_columns(model)
        self.connection.execute(merge_statement(model, self.columns(model)))
        self.connection.execute("drop table dbt_tmp")

    def append_new_columns(self, model: CompiledModel) -> None:
        """``on_schema_change: append_new_columns``: columns the select adds join the table."""
        existing = set(self.columns(model))
        for name, kind in self.connection.execute(
            "select column_name, data_type from duckdb_columns() "
            "where table_name = 'dbt_tmp' and database_name = 'temp' order by column_index"
        ).fetchall():
            if name not in existing:
                self.connection.execute(f'alter table {model.relation} add column "{name}" {kind}')

    def columns(self, model: CompiledModel) -> list[str]:
        return [
            row[0]
            for row in self.connection.execute(
                "select column_name from duckdb_columns() "
                "where database_name = ? and schema_name = ? and table_name = ? "
                "order by column_index",
                [CATALOG, model.schema, model.name],
            ).fetchall()
        ]

    def table(self, schema: str, name: str) -> pa.Table:
        return self.connection.execute(
            f'select * from "{CATALOG}"."{schema}"."{name}"'
        ).fetch_arrow_table()


_DELETE_REWRITTEN_DAYS = re.compile(
    r"^\{\{\s*delete_rewritten_days\(\s*'(\w+)'\s*(?:,\s*(\d+|var\('(\w+)'\)))?\s*\)\s*\}\}$"
)


def pre_hook_statement(model: CompiledModel, hook: str, rebuild: Rebuild | None) -> str:
    """The statement a known pre-hook renders to on Athena for an existing table; any other hook
    fails (its effect would otherwise be missing from the comparison).

    ``delete_rewritten_days(column, widen)`` (macros/attribution.sql): delete the rows of the
    run's event days widened by ``widen`` days, so the merge that follows rewrites them.
    """
    match = _DELETE_REWRITTEN_DAYS.match(hook)
    if match is None:
        raise ValueError(f"{model.name}: no emulation of the pre-hook {hook!r}")
    column, widen_text, widen_var = match.groups()
    if widen_var is not None:
        project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
        widen = int(project["vars"][widen_var])
    else:
        widen = int(widen_text or 0)
    if rebuild is None:
        return f"delete from {model.relation}"
    days = sorted(
        {
            day + timedelta(days=offset)
            for day in rebuild.event_days
            for offset in range(-widen, widen + 1)
        }
    )
    listed = ", ".join(f"date '{day.isoformat()}'" for day in days) or "null"
    return f'delete from {model.relation} where "{column}" in ({listed})'


def merge_statement(model: CompiledModel, columns: Sequence[str]) -> str:
    """dbt-athena's Iceberg merge of ``dbt_tmp`` into the model, in DuckDB SQL."""
    keys = " and ".join(f'target."{key}" = src."{key}"' for key in model.unique_key)
    updates = ", ".join(
        f'"{column}" = src."{column}"' for column in columns if column not in model.unique_key
    )
    names = ", ".join(f'"{column}"' for column in columns)
    values = ", ".join(f'src."{column}"' for column in columns)
    return (
        f"merge into {model.relation} as target using dbt_tmp as src on ({keys}) "
        f"when matched then update set {updates} "
        f"when not matched then insert ({names}) values ({values})"
    )


def _normalised(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, list | tuple):
        return tuple(_normalised(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, _normalised(item)) for key, item in value.items()))
    return value


def normalised_rows(table: pa.Table, columns: Sequence[str]) -> list[str]:
    """The rows of ``columns`` as sorted text, types normalised (see the module docstring)."""
    data = table.select(list(columns)).to_pylist()
    return sorted(repr(tuple(_normalised(row[column]) for column in columns)) for row in data)


def rows_hash(rows: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(row.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def first_differences(left: list[str], right: list[str], limit: int = 3) -> Iterator[str]:
    """A few rows only one side holds, for a readable failure."""
    only_left = sorted(set(left) - set(right))[:limit]
    only_right = sorted(set(right) - set(left))[:limit]
    for row in only_left:
        yield f"local only:  {row}"
    for row in only_right:
        yield f"athena only: {row}"
