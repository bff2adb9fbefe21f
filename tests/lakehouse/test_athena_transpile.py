"""The constructs sqlglot does not carry from Athena (Trino) to DuckDB, and the emulated
dbt-athena merge, each checked on its own (docs/aws-equivalence.md)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from lakehouse.window import EventDays
from tests.athena_execution import (
    CompiledModel,
    joda_to_strftime,
    merge_statement,
    pre_hook_statement,
    to_duckdb,
)


def test_format_datetime_patterns_of_the_macros_read_as_joda_time_does() -> None:
    # Joda-Time: HH hour of day 00-23, SSSSSS fraction of second to six digits, '' a quote
    sql = to_duckdb(
        "select format_datetime(ts, 'HH') as hour, "
        "format_datetime(ts, 'yyyy-MM-dd''T''HH:mm:ss.SSSSSS') as text_key "
        "from (values (timestamp '2026-11-01 00:05:09.000042'), "
        "(timestamp '2026-11-01 23:59:59.999999')) as t(ts) order by ts"
    )
    assert "strftime" in sql.lower() and "format_datetime" not in sql.lower()
    assert duckdb.sql(sql).fetchall() == [
        ("00", "2026-11-01T00:05:09.000042"),
        ("23", "2026-11-01T23:59:59.999999"),
    ]


@pytest.mark.parametrize("pattern", ["hh", "H", "yy", "EEE", "SSS", "Z"])
def test_joda_letters_without_a_known_equivalent_fail_loudly(pattern: str) -> None:
    with pytest.raises(ValueError, match="no strftime equivalent"):
        joda_to_strftime(pattern)


def test_the_emulated_merge_updates_matches_inserts_new_keys_and_keeps_the_rest() -> None:
    model = CompiledModel("sessions", "lake", "", ("session_id",), ())
    connection = duckdb.connect()
    connection.execute("attach ':memory:' as awsdatacatalog")
    connection.execute("create schema awsdatacatalog.lake")
    connection.execute(
        "create table awsdatacatalog.lake.sessions as "
        "select * from (values ('a', 1), ('b', 2)) as t(session_id, events)"
    )
    connection.execute(
        "create temp table dbt_tmp as "
        "select * from (values ('b', 5), ('c', 1)) as t(session_id, events)"
    )
    connection.execute(merge_statement(model, ["session_id", "events"]))
    rows = connection.execute("select * from awsdatacatalog.lake.sessions order by 1").fetchall()
    # as on Athena: 'a', which the new select no longer produces, stays
    assert rows == [("a", 1), ("b", 5), ("c", 1)]


def test_pre_hooks_are_emulated_or_fail() -> None:
    model = CompiledModel("facts", "mart", "", ("id",), ())
    rebuild = EventDays((date(2026, 11, 2),), ())
    statement = pre_hook_statement(model, "{{ delete_rewritten_days('event_dt', 1) }}", rebuild)
    assert statement == (
        'delete from "awsdatacatalog"."mart"."facts" where "event_dt" in '
        "(date '2026-11-01', date '2026-11-02', date '2026-11-03')"
    )
    with pytest.raises(ValueError, match="no emulation of the pre-hook"):
        pre_hook_statement(model, "{{ vacuum_table() }}", rebuild)
