"""Applying the real-time SQL through the Redshift Data API (botocore Stubber and moto)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from conftest import free_port  # noqa: F401  (keeps the shared fixtures importable)

from streaming.contracts.aws_clients import client
from streaming.contracts.settings import LocalAwsSettings, RedshiftSettings, Settings
from streaming.realtime.redshift_apply import (
    RedshiftApplier,
    RedshiftSqlError,
    apply_redshift_sql,
    ledger_statements,
)
from streaming.realtime.redshift_sql import SqlStatement, render

IDS = iter(f"00000000-0000-0000-0000-{n:012d}" for n in range(1, 10_000))


def _settings(home: Path, **redshift: Any) -> Settings:
    return Settings(
        home=home,
        stage="prod",
        env="aws",
        aws_account_id="210987654321",
        redshift=RedshiftSettings(poll_seconds=0.01, **redshift),
    )


def _data_api() -> Any:
    return boto3.client(
        "redshift-data",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


class Script:
    """Expected Data API calls, in order, on a stubbed client."""

    def __init__(self, settings: Settings) -> None:
        self.api = _data_api()
        self.stub = Stubber(self.api)
        self.target = {"WorkgroupName": "clickstream-prod-rt", "Database": "clickstream"}
        self.sent: list[str] = []

    def statement(
        self,
        sql: str,
        name: str,
        *,
        parameters: list[dict[str, str]] | None = None,
        status: str = "FINISHED",
        error: str | None = None,
        polls: int = 0,
        result_set: bool = False,
    ) -> str:
        statement_id = next(IDS)
        expected = self.target | {"Sql": sql, "StatementName": name}
        if parameters:
            expected["Parameters"] = parameters
        self.stub.add_response("execute_statement", {"Id": statement_id}, expected)
        for _ in range(polls):
            self.stub.add_response(
                "describe_statement",
                {"Id": statement_id, "Status": "STARTED"},
                {"Id": statement_id},
            )
        final: dict[str, Any] = {"Id": statement_id, "Status": status, "HasResultSet": result_set}
        if error:
            final["Error"] = error
        self.stub.add_response("describe_statement", final, {"Id": statement_id})
        self.sent.append(sql)
        return statement_id

    def empty_ledger(self, settings: Settings) -> None:
        ledger = ledger_statements(settings)
        self.statement(ledger["schema"], "ledger:schema#1")
        self.statement(ledger["table"], "ledger:table#1")
        self.statement(ledger["read"], "ledger:read#1")


def test_first_apply_sends_every_statement_in_order_with_the_ledger(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    statements = render(settings)
    script = Script(settings)
    script.empty_ledger(settings)
    ledger = ledger_statements(settings)
    for statement in statements:
        view = statement.materialized_view
        if view:
            script.statement(f"DROP MATERIALIZED VIEW IF EXISTS {view} CASCADE", statement.name)
            script.statement(statement.sql, statement.name, polls=2)
            parameters = [
                {"name": "statement", "value": statement.name},
                {"name": "checksum", "value": statement.checksum},
            ]
            script.statement(ledger["forget"], "ledger:forget#1", parameters=parameters)
            script.statement(ledger["record"], "ledger:record#1", parameters=parameters)
        else:
            script.statement(statement.sql, statement.name)
    slept: list[float] = []
    with script.stub:
        result = RedshiftApplier(settings, script.api, sleep=slept.append).apply()
    script.stub.assert_no_pending_responses()
    assert result.executed == len(script.sent) and result.skipped == 0
    assert slept == [0.01, 0.01]  # the materialised view was polled twice
    assert script.sent[3].startswith("CREATE EXTERNAL SCHEMA IF NOT EXISTS kds")
    metadata = result.as_metadata()
    assert [row["statement"] for row in metadata["statements"]][:4] == [
        "ledger:schema",
        "ledger:table",
        "ledger:read",
        "V001__external_schema.sql#1",
    ]
    assert all(row["id"] for row in metadata["statements"])


def test_an_unchanged_materialised_view_is_skipped(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    statements = render(settings)
    view = next(s for s in statements if s.materialized_view)
    script = Script(settings)
    ledger = ledger_statements(settings)
    script.statement(ledger["schema"], "ledger:schema#1")
    script.statement(ledger["table"], "ledger:table#1")
    read_id = script.statement(ledger["read"], "ledger:read#1", result_set=True)
    script.stub.add_response(
        "get_statement_result",
        {
            "ColumnMetadata": [{"name": "statement"}, {"name": "checksum"}],
            "Records": [[{"stringValue": view.name}, {"stringValue": view.checksum}]],
        },
        {"Id": read_id},
    )
    for statement in statements:
        if not statement.materialized_view:
            script.statement(statement.sql, statement.name)
    with script.stub:
        result = RedshiftApplier(settings, script.api, sleep=lambda _: None).apply()
    script.stub.assert_no_pending_responses()
    assert result.skipped == 1
    assert not any("DROP MATERIALIZED VIEW" in sql for sql in script.sent)


def test_a_failed_statement_raises_a_clear_error_and_stops(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    statements = render(settings)
    script = Script(settings)
    script.empty_ledger(settings)
    message = 'ERROR: permission denied for schema kds; role "clickstream-prod-redshift-streaming"'
    failing = script.statement(
        statements[0].sql, statements[0].name, status="FAILED", error=message
    )
    with script.stub, pytest.raises(RedshiftSqlError) as raised:
        RedshiftApplier(settings, script.api, sleep=lambda _: None).apply()
    script.stub.assert_no_pending_responses()  # nothing after the failed statement was sent
    error = raised.value
    assert error.statement is not None and error.statement.file == "V001__external_schema.sql"
    assert error.statement_id == failing and error.error == message
    text = str(error)
    assert text.startswith("V001__external_schema.sql#1 FAILED: ERROR: permission denied")
    assert "CREATE EXTERNAL SCHEMA IF NOT EXISTS kds" in text


def test_throttling_is_retried_with_backoff_then_gives_up(tmp_path: Path) -> None:
    settings = _settings(tmp_path, max_attempts=3)
    statement = SqlStatement("V002__rt_schema.sql", 1, "CREATE SCHEMA IF NOT EXISTS rt")
    api = _data_api()
    stub = Stubber(api)
    expected = {
        "WorkgroupName": "clickstream-prod-rt",
        "Database": "clickstream",
        "Sql": statement.sql,
        "StatementName": statement.name,
    }
    stub.add_client_error(
        "execute_statement", "ThrottlingException", "Rate exceeded", 400, expected
    )
    stub.add_client_error(
        "execute_statement", "ActiveStatementsExceededException", "too many", 400, expected
    )
    stub.add_response("execute_statement", {"Id": next(IDS)}, expected)
    stub.add_response("describe_statement", {"Id": "x", "Status": "FINISHED"}, {"Id": ANY})
    for _ in range(3):
        stub.add_client_error("execute_statement", "ThrottlingException", "Rate exceeded", 400)
    slept: list[float] = []
    applier = RedshiftApplier(settings, api, sleep=slept.append)
    with stub:
        applier.execute(statement)
        assert slept == [0.5, 1.0]
        with pytest.raises(RedshiftSqlError, match=r"V002__rt_schema.sql#1: execute_statement "):
            applier.execute(statement)
    stub.assert_no_pending_responses()


def test_a_statement_that_never_finishes_is_cancelled(tmp_path: Path) -> None:
    settings = _settings(tmp_path, statement_timeout_seconds=1.0)
    statement = SqlStatement("V002__rt_schema.sql", 1, "CREATE SCHEMA IF NOT EXISTS rt")
    api = _data_api()
    stub = Stubber(api)
    stub.add_response("execute_statement", {"Id": "11111111-1111-1111-1111-111111111111"})
    now = [0.0]
    for _ in range(3):
        stub.add_response("describe_statement", {"Id": "x", "Status": "STARTED"})
    stub.add_response("cancel_statement", {"Status": True})

    def sleep(seconds: float) -> None:
        now[0] += 0.5

    with stub, pytest.raises(RedshiftSqlError, match="did not finish within 1 s"):
        RedshiftApplier(settings, api, sleep=sleep, clock=lambda: now[0]).execute(statement)
    stub.assert_no_pending_responses()


def test_apply_against_the_local_data_api(tmp_path: Path, local_aws: LocalAwsSettings) -> None:
    """moto answers the Data API without running SQL: a thread plays the warehouse and marks
    each statement finished; the statements moto recorded are exactly those rendered."""
    from moto.redshiftdata.models import redshiftdata_backends

    settings = Settings(home=tmp_path, local_aws=local_aws)
    backend = redshiftdata_backends[settings.account_id][settings.region]
    stop = threading.Event()

    def warehouse() -> None:
        while not stop.is_set():
            for statement in list(backend.statements.values()):
                statement.status = "FINISHED"
            stop.wait(0.01)

    before = set(backend.statements)
    thread = threading.Thread(target=warehouse, daemon=True)
    thread.start()
    try:
        result = apply_redshift_sql(settings)
    finally:
        stop.set()
        thread.join()
    recorded = [s for key, s in backend.statements.items() if key not in before]
    ledger = ledger_statements(settings)
    expected = [ledger["schema"], ledger["table"], ledger["read"]]
    for statement in render(settings):
        if statement.materialized_view:
            drop = f"DROP MATERIALIZED VIEW IF EXISTS {statement.materialized_view} CASCADE"
            expected += [drop, statement.sql, ledger["forget"], ledger["record"]]
        else:
            expected.append(statement.sql)
    assert [s.query_string for s in recorded] == expected
    assert recorded[-1].query_parameters is None
    assert {p["name"] for s in recorded if s.query_parameters for p in s.query_parameters} == {
        "statement",
        "checksum",
    }
    assert result.executed == len(recorded)
    assert {s.database for s in recorded} == {"clickstream"}
    described = client(settings, "redshift-data").describe_statement(Id=recorded[-1].id)
    assert described["Status"] == "FINISHED"


# --- the Dagster asset ---------------------------------------------------------------------

_STUBBED: dict[str, Any] = {}


def _materialize_realtime_asset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: Script
) -> Any:
    import dagster as dg

    from clickstream_orchestration.assets.realtime import redshift_streaming_mvs
    from clickstream_orchestration.resources import LakehouseResource, RedshiftRealtime

    class StubbedRedshift(RedshiftRealtime):
        def data_api(self, settings: Settings) -> Any:
            return _STUBBED["api"]

    for name, value in {
        "CLICKSTREAM_ENV": "aws",
        "CLICKSTREAM_AWS_ACCOUNT_ID": "210987654321",
        "CLICKSTREAM_STAGE": "prod",
        "CLICKSTREAM_REDSHIFT__POLL_SECONDS": "0.01",
    }.items():
        monkeypatch.setenv(name, value)
    _STUBBED["api"] = script.api
    with script.stub:
        return dg.materialize(
            [redshift_streaming_mvs],
            resources={
                "lakehouse": LakehouseResource(home=str(tmp_path)),
                "realtime": StubbedRedshift(),
            },
            raise_on_error=False,
        )


def test_the_dagster_asset_applies_every_statement_and_records_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    settings.redshift.poll_seconds = 0.01
    script = Script(settings)
    script.empty_ledger(settings)
    ledger = ledger_statements(settings)
    for statement in render(settings):
        view = statement.materialized_view
        if view:
            script.statement(f"DROP MATERIALIZED VIEW IF EXISTS {view} CASCADE", statement.name)
            script.statement(statement.sql, statement.name)
            parameters = [
                {"name": "statement", "value": statement.name},
                {"name": "checksum", "value": statement.checksum},
            ]
            script.statement(ledger["forget"], "ledger:forget#1", parameters=parameters)
            script.statement(ledger["record"], "ledger:record#1", parameters=parameters)
        else:
            script.statement(statement.sql, statement.name)
    result = _materialize_realtime_asset(tmp_path, monkeypatch, script)
    assert result.success
    script.stub.assert_no_pending_responses()
    [event] = result.get_asset_materialization_events()
    materialization = event.materialization
    assert materialization.metadata["executed"].value == len(script.sent)
    table = materialization.metadata["statements"].value
    assert "V001__external_schema.sql#1" in table and "executed" in table


def test_the_dagster_asset_fails_with_the_statement_and_the_redshift_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    script = Script(settings)
    script.empty_ledger(settings)
    first = render(settings)[0]
    script.statement(first.sql, first.name, status="FAILED", error="ERROR: role cannot assume")
    result = _materialize_realtime_asset(tmp_path, monkeypatch, script)
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    error = failure.event_specific_data.error
    message = error.message + (error.cause.message if error.cause else "")
    assert "V001__external_schema.sql#1 FAILED: ERROR: role cannot assume" in message
