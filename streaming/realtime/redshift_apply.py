"""Apply the real-time SQL through the Redshift Data API: execute, poll, surface errors.

Statements run one at a time, in file order. Each is sent with ``ExecuteStatement`` and polled
with ``DescribeStatement`` until it is ``FINISHED``, ``FAILED`` or ``ABORTED`` (or the timeout
cancels it). Throttled and transient calls are retried with exponential back-off. A failed
statement raises :class:`RedshiftSqlError` naming the file, the statement and the Data API's
error, and nothing after it runs.

Re-running is safe: every statement is idempotent except ``CREATE MATERIALIZED VIEW``. For those
a ledger table (``<rt_schema>.sql_ledger``: statement name and checksum of its rendered SQL)
decides: an unchanged view is skipped; a changed or new one is dropped (``CASCADE``) and created
again, and so is every materialised view after it (the cascade may have dropped it). Views
depending on them are ``CREATE OR REPLACE`` and run every time, so they come back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from streaming.contracts.aws_clients import client as aws_client
from streaming.contracts.settings import Settings
from streaming.realtime.redshift_sql import SqlStatement, render

log = logging.getLogger("streaming.realtime.redshift")

DONE = frozenset({"FINISHED", "FAILED", "ABORTED"})
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ActiveStatementsExceededException",
        "InternalServerException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
    }
)
BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 10.0
FIRST_POLL_SECONDS = 0.1
LEDGER = "sql_ledger"


class RedshiftSqlError(RuntimeError):
    """A statement failed, was aborted or timed out; or the Data API kept refusing a call."""

    def __init__(
        self,
        message: str,
        *,
        statement: SqlStatement | None = None,
        statement_id: str | None = None,
        error: str | None = None,
    ) -> None:
        super().__init__(message)
        self.statement = statement
        self.statement_id = statement_id
        self.error = error


@dataclass(frozen=True)
class StatementOutcome:
    statement: str
    """``<file>#<n>`` or ``ledger:<what>`` for the applier's own bookkeeping."""
    action: Literal["executed", "skipped"]
    statement_id: str | None
    seconds: float


@dataclass
class ApplyResult:
    outcomes: list[StatementOutcome] = field(default_factory=list)

    @property
    def executed(self) -> int:
        return sum(outcome.action == "executed" for outcome in self.outcomes)

    @property
    def skipped(self) -> int:
        return sum(outcome.action == "skipped" for outcome in self.outcomes)

    def as_metadata(self) -> dict[str, Any]:
        """Plain values for Dagster metadata: counts and one row per statement."""
        return {
            "executed": self.executed,
            "skipped": self.skipped,
            "seconds": round(sum(outcome.seconds for outcome in self.outcomes), 3),
            "statements": [
                {
                    "statement": outcome.statement,
                    "action": outcome.action,
                    "id": outcome.statement_id,
                    "seconds": round(outcome.seconds, 3),
                }
                for outcome in self.outcomes
            ],
        }


def ledger_statements(settings: Settings) -> dict[str, str]:
    """The applier's own SQL (parsed by the same test as the files)."""
    schema = settings.redshift.rt_schema
    table = f"{schema}.{LEDGER}"
    return {
        "schema": f"CREATE SCHEMA IF NOT EXISTS {schema}",
        "table": (
            f"CREATE TABLE IF NOT EXISTS {table} "
            "(statement VARCHAR(256) NOT NULL, checksum CHAR(64) NOT NULL, applied_at TIMESTAMP)"
        ),
        "read": f"SELECT statement, checksum FROM {table}",
        "forget": f"DELETE FROM {table} WHERE statement = :statement",
        "record": (
            f"INSERT INTO {table} (statement, checksum, applied_at) "
            "VALUES (:statement, :checksum, GETDATE())"
        ),
    }


class RedshiftApplier:
    """Runs statements through ``redshift-data`` for the configured workgroup or cluster."""

    def __init__(
        self,
        settings: Settings,
        data_api: Any = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.config = settings.redshift
        # Retries are ours (with the statement named in the error), not botocore's.
        self.data_api = data_api or aws_client(
            settings, "redshift-data", retries={"max_attempts": 1, "mode": "standard"}
        )
        self.sleep = sleep
        self.clock = clock
        self.ledger = ledger_statements(settings)

    # --- the whole set ----------------------------------------------------------------------

    def apply(self, statements: Sequence[SqlStatement] | None = None) -> ApplyResult:
        statements = render(self.settings) if statements is None else statements
        result = ApplyResult()
        for what in ("schema", "table"):
            result.outcomes.append(self._bookkeeping(what))
        applied = self._read_ledger(result)
        recreate_rest = False
        for statement in statements:
            view = statement.materialized_view
            if view is None:
                result.outcomes.append(self._run(statement))
                continue
            if not recreate_rest and applied.get(statement.name) == statement.checksum:
                log.info("%s: %s unchanged, skipped", statement.name, view)
                result.outcomes.append(StatementOutcome(statement.name, "skipped", None, 0.0))
                continue
            recreate_rest = True
            drop = SqlStatement(
                statement.file,
                statement.index,
                f"DROP MATERIALIZED VIEW IF EXISTS {view} CASCADE",
            )
            result.outcomes.append(self._run(drop, label=f"{statement.name}:drop"))
            result.outcomes.append(self._run(statement))
            parameters = {"statement": statement.name, "checksum": statement.checksum}
            result.outcomes.append(self._bookkeeping("forget", parameters))
            result.outcomes.append(self._bookkeeping("record", parameters))
        return result

    def _bookkeeping(self, what: str, parameters: dict[str, str] | None = None) -> StatementOutcome:
        statement = SqlStatement(f"ledger:{what}", 1, self.ledger[what])
        return self._run(statement, label=f"ledger:{what}", parameters=parameters)

    def _read_ledger(self, result: ApplyResult) -> dict[str, str]:
        statement = SqlStatement("ledger:read", 1, self.ledger["read"])
        started = self.clock()
        statement_id, description = self.execute(statement)
        result.outcomes.append(
            StatementOutcome("ledger:read", "executed", statement_id, self.clock() - started)
        )
        if not description.get("HasResultSet"):
            return {}
        applied: dict[str, str] = {}
        token: str | None = None
        while True:
            arguments: dict[str, Any] = {"Id": statement_id}
            if token:
                arguments["NextToken"] = token
            page = self._call(statement, "get_statement_result", **arguments)
            names = [column.get("name") for column in page.get("ColumnMetadata", [])]
            if names[:2] != ["statement", "checksum"]:
                raise RedshiftSqlError(
                    f"the ledger query answered columns {names}, not statement, checksum",
                    statement=statement,
                    statement_id=statement_id,
                )
            for record in page.get("Records", []):
                applied[record[0].get("stringValue", "")] = record[1].get("stringValue", "")
            token = page.get("NextToken")
            if not token:
                return applied

    # --- one statement -----------------------------------------------------------------------

    def _run(
        self,
        statement: SqlStatement,
        *,
        label: str | None = None,
        parameters: dict[str, str] | None = None,
    ) -> StatementOutcome:
        started = self.clock()
        statement_id, _ = self.execute(statement, parameters)
        seconds = self.clock() - started
        log.info("%s: finished in %.1f s (%s)", label or statement.name, seconds, statement_id)
        return StatementOutcome(label or statement.name, "executed", statement_id, seconds)

    def execute(
        self, statement: SqlStatement, parameters: dict[str, str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Send one statement and wait for it; returns its id and final description."""
        arguments: dict[str, Any] = self._target() | {
            "Sql": statement.sql,
            "StatementName": statement.name[:500],
        }
        if parameters:
            arguments["Parameters"] = [
                {"name": name, "value": value} for name, value in parameters.items()
            ]
        statement_id = self._call(statement, "execute_statement", **arguments)["Id"]
        description = self._wait(statement, statement_id)
        status = description["Status"]
        if status != "FINISHED":
            error = description.get("Error") or f"statement {status.lower()}"
            raise RedshiftSqlError(
                f"{statement.name} {status}: {error}\n--- statement ---\n{statement.sql}",
                statement=statement,
                statement_id=statement_id,
                error=error,
            )
        return statement_id, description

    def _target(self) -> dict[str, str]:
        target = {"Database": self.settings.redshift_database}
        if self.config.cluster_identifier:
            target["ClusterIdentifier"] = self.config.cluster_identifier
            if self.config.secret_arn:
                target["SecretArn"] = self.config.secret_arn
            elif self.config.db_user:
                target["DbUser"] = self.config.db_user
            else:
                raise RedshiftSqlError(
                    "a Redshift cluster needs CLICKSTREAM_REDSHIFT__SECRET_ARN or "
                    "CLICKSTREAM_REDSHIFT__DB_USER"
                )
        else:
            target["WorkgroupName"] = self.settings.redshift_workgroup_name
            if self.config.secret_arn:
                target["SecretArn"] = self.config.secret_arn
        return target

    def _wait(self, statement: SqlStatement, statement_id: str) -> dict[str, Any]:
        deadline = self.clock() + self.config.statement_timeout_seconds
        pause = min(FIRST_POLL_SECONDS, self.config.poll_seconds)
        while True:
            description = self._call(statement, "describe_statement", Id=statement_id)
            if description["Status"] in DONE:
                return description
            if self.clock() >= deadline:
                try:
                    self.data_api.cancel_statement(Id=statement_id)
                except (BotoCoreError, ClientError) as error:
                    log.warning("cancelling %s failed: %s", statement_id, error)
                raise RedshiftSqlError(
                    f"{statement.name} did not finish within "
                    f"{self.config.statement_timeout_seconds:.0f} s (status "
                    f"{description['Status']}); cancelled\n--- statement ---\n{statement.sql}",
                    statement=statement,
                    statement_id=statement_id,
                    error="timeout",
                )
            self.sleep(pause)
            pause = min(pause * 2, self.config.poll_seconds)

    def _call(self, statement: SqlStatement, operation: str, **arguments: Any) -> dict[str, Any]:
        attempts = self.config.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                return getattr(self.data_api, operation)(**arguments)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                message = error.response.get("Error", {}).get("Message", str(error))
                if code not in RETRYABLE_CODES or attempt == attempts:
                    raise RedshiftSqlError(
                        f"{statement.name}: {operation} failed ({code}: {message})"
                        f"\n--- statement ---\n{statement.sql}",
                        statement=statement,
                        error=f"{code}: {message}",
                    ) from error
                reason = code
            except BotoCoreError as error:
                if attempt == attempts:
                    raise RedshiftSqlError(
                        f"{statement.name}: {operation} failed: {error}",
                        statement=statement,
                        error=str(error),
                    ) from error
                reason = type(error).__name__
            delay = min(BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
            log.warning(
                "%s: %s %s (attempt %d of %d); retrying in %.1f s",
                statement.name,
                operation,
                reason,
                attempt,
                attempts,
                delay,
            )
            self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def apply_redshift_sql(settings: Settings, data_api: Any = None) -> ApplyResult:
    """Apply every real-time statement to the configured Redshift; see the module docstring."""
    return RedshiftApplier(settings, data_api).apply()
