"""The erase's Athena statements: every table schema of the lake gives a DELETE naming the
user by its identity columns and its hashes in text columns, then OPTIMIZE and VACUUM, and each
statement parses as Athena (Trino) SQL."""

from __future__ import annotations

import sqlglot

from lakehouse.privacy.athena import erase_statements
from lakehouse.privacy.subject import Subject
from lakehouse.tables import BRONZE, LEDGER, QUARANTINE, SEGMENT_CHANGES

SERVER = "sha256:" + "a" * 64
CLIENT = "sha256:" + "b" * 64
SUBJECT = Subject(SERVER, frozenset({CLIENT}))


def _parses(statement: str) -> None:
    for dialect in ("athena", "trino"):
        parsed = sqlglot.parse(statement, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
        assert all(item is not None for item in parsed), statement


def test_bronze_is_erased_by_the_nested_identity_then_rewritten_and_vacuumed() -> None:
    delete, optimize, vacuum = erase_statements("lake.bronze_events", BRONZE.schema, SUBJECT)
    assert delete.startswith("DELETE FROM lake.bronze_events WHERE ")
    assert f"\"user\".\"user_id_hash\" IN ('{SERVER}', '{CLIENT}')" in delete
    assert optimize == "OPTIMIZE lake.bronze_events REWRITE DATA USING BIN_PACK"
    assert vacuum == "VACUUM lake.bronze_events"
    for statement in (delete, optimize, vacuum):
        _parses(statement)


def test_quarantined_payloads_are_found_by_either_hash() -> None:
    delete = erase_statements("lake.quarantine_events", QUARANTINE.schema, SUBJECT)[0]
    assert f"strpos(\"payload\", '{'a' * 64}') > 0" in delete
    assert f"strpos(\"payload\", '{'b' * 64}') > 0" in delete
    _parses(delete)


def test_segment_changes_by_their_identity_column() -> None:
    delete = erase_statements("lake.user_segment_changes", SEGMENT_CHANGES.schema, SUBJECT)[0]
    assert f"\"user_id_hash\" IN ('{SERVER}', '{CLIENT}')" in delete
    _parses(delete)


def test_a_quote_in_a_hash_cannot_end_the_literal() -> None:
    odd = Subject(SERVER, frozenset({"x' OR 1=1 --"}))
    delete = erase_statements("lake.user_segment_changes", SEGMENT_CHANGES.schema, odd)[0]
    assert "'x'' OR 1=1 --'" in delete
    _parses(delete)


def test_tables_without_text_columns_need_no_statement() -> None:
    import pyarrow as pa

    assert erase_statements("lake.numbers", pa.schema([("n", pa.int64())]), SUBJECT) == []
    assert erase_statements("lake.bronze_load_ledger", LEDGER.schema, SUBJECT)[0].startswith(
        "DELETE FROM lake.bronze_load_ledger"
    )
