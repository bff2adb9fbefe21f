"""The erase on the aws target, as dbt-athena runs the same operations: ``DELETE`` of the
user's rows (Iceberg writes delete files), ``OPTIMIZE … REWRITE DATA USING BIN_PACK`` (data
files rewritten with the deletes applied, so no current file holds the rows), then ``VACUUM``
(snapshots past the table's retention expired and their files, orphans included, removed).

The statements are built here and run through the Athena workgroup of the settings; the
compiled text parses as Athena (Trino) SQL (``tests/lakehouse/test_privacy_athena.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from lakehouse.privacy.lake_tables import IDENTITY_SUFFIX
from lakehouse.privacy.subject import Subject
from streaming.contracts.settings import Settings

POLL_SECONDS = 2.0
TIMEOUT_SECONDS = 1800.0


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _string_leaves(schema: pa.Schema, prefix: str = "") -> Iterable[str]:
    for field in schema:
        path = f"{prefix}{field.name}"
        if pa.types.is_struct(field.type):
            yield from _string_leaves(pa.schema(list(field.type)), path + ".")
        elif pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            yield path


def subject_predicate(schema: pa.Schema, subject: Subject) -> str | None:
    """SQL naming the subject's rows of a table with ``schema``; None when it has no column
    that can hold them."""
    identities = ", ".join(
        _quoted(value) for value in sorted({subject.server_hash, *subject.client_hashes})
    )
    terms = []
    for path in _string_leaves(schema):
        column = ".".join(f'"{part}"' for part in path.split("."))
        if path.endswith(IDENTITY_SUFFIX):
            terms.append(f"{column} IN ({identities})")
        else:
            terms += [
                f"strpos({column}, {_quoted(token.decode())}) > 0" for token in subject.tokens
            ]
    return " OR ".join(terms) if terms else None


def erase_statements(identifier: str, schema: pa.Schema, subject: Subject) -> list[str]:
    """The statements removing the subject from one Iceberg table and from its files."""
    predicate = subject_predicate(schema, subject)
    if predicate is None:
        return []
    return [f"DELETE FROM {identifier} WHERE {predicate}", *purge_statements(identifier)]


def purge_statements(identifier: str) -> list[str]:
    return [f"OPTIMIZE {identifier} REWRITE DATA USING BIN_PACK", f"VACUUM {identifier}"]


def run_statements(settings: Settings, statements: Sequence[str], athena: Any = None) -> None:
    """Run each statement in the workgroup, one after the other, each waited for."""
    if athena is None:
        import boto3

        athena = boto3.client("athena", region_name=settings.region)
    for statement in statements:
        query_id = athena.start_query_execution(
            QueryString=statement, WorkGroup=settings.athena_workgroup
        )["QueryExecutionId"]
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while True:
            status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            state = status["Status"]["State"]
            if state == "SUCCEEDED":
                break
            if state in ("FAILED", "CANCELLED") or time.monotonic() > deadline:
                reason = status["Status"].get("StateChangeReason", "timed out")
                raise RuntimeError(f"{statement.split(' WHERE ')[0]}: {state}: {reason}")
            time.sleep(POLL_SECONDS)
