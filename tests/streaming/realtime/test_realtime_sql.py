"""The versioned Redshift SQL of the real-time path: rendered, split, parsed."""

from __future__ import annotations

import logging

import pytest
import sqlglot
from sqlglot import exp

from streaming.contracts.settings import RedshiftSettings, Settings
from streaming.realtime.redshift_apply import ledger_statements
from streaming.realtime.redshift_sql import SQL_DIR, render, split_statements, sql_files


@pytest.fixture
def settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(home=tmp_path, stage="prod", aws_account_id="210987654321")


def test_every_statement_parses_with_the_redshift_dialect(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    statements = [s.sql for s in render(settings)] + list(ledger_statements(settings).values())
    assert len(statements) >= 12
    for sql in statements:
        with caplog.at_level(logging.WARNING, logger="sqlglot"):
            parsed = sqlglot.parse(sql, read="redshift")
        assert len(parsed) == 1 and parsed[0] is not None, sql
        if sql.startswith("CREATE EXTERNAL SCHEMA"):
            # sqlglot has no node for Redshift's external schemas: it keeps them as a command
            assert isinstance(parsed[0], exp.Command), sql
        else:
            assert not isinstance(parsed[0], exp.Command), sql


def test_files_are_versioned_and_templated_only_with_settings(settings: Settings) -> None:
    names = [path.name for path in sql_files()]
    assert names == sorted(names) and names[0].startswith("V001__")
    rendered = "\n".join(s.sql for s in render(settings))
    assert "${" not in rendered
    assert "IAM_ROLE 'arn:aws:iam::210987654321:role/clickstream-prod-redshift-streaming'" in (
        rendered
    )
    assert 'FROM kds."clickstream-prod-events"' in rendered
    custom = Settings(
        home=settings.home,
        redshift=RedshiftSettings(
            external_schema="stream_src",
            rt_schema="live",
            iam_role_arn="arn:aws:iam::1:role/r",
        ),
    )
    text = "\n".join(s.sql for s in render(custom))
    assert "CREATE MATERIALIZED VIEW live.mv_events_min" in text
    assert 'stream_src."clickstream-dev-events"' in text and " rt." not in text
    assert len(list(SQL_DIR.glob("*.sql"))) == len(names)


def test_the_materialised_view_is_the_seed_design(settings: Settings) -> None:
    statements = render(settings)
    views = [s for s in statements if s.materialized_view]
    assert [s.materialized_view for s in views] == ["rt.mv_events_min"]
    sql = views[0].sql
    assert "AUTO REFRESH YES" in sql and "JSON_PARSE(kinesis_data) AS payload" in sql
    # the statement that creates the external schema comes first, the marts after the view
    order = [s.name for s in statements]
    assert order.index(views[0].name) > order.index("V001__external_schema.sql#1")


def test_splitting_respects_quotes_and_comments() -> None:
    text = "-- a; comment\nSELECT ';' AS x;\n\nSELECT \"a;b\" FROM t; -- trailing\n"
    assert split_statements(text) == ["SELECT ';' AS x", 'SELECT "a;b" FROM t']


def test_local_marts_have_the_redshift_names_and_columns(settings: Settings) -> None:
    """The DuckDB views the local consumer keeps answer to the same names and columns."""
    import duckdb

    from streaming.realtime.local_sql import schema_statements

    redshift: dict[str, list[str]] = {}
    for statement in render(settings):
        parsed = sqlglot.parse_one(statement.sql, read="redshift")
        if isinstance(parsed, exp.Create) and parsed.kind in ("VIEW",):
            name = parsed.this.name if isinstance(parsed.this, exp.Table) else parsed.this.this.name
            redshift[name] = parsed.expression.named_selects
        elif statement.materialized_view:
            redshift["mv_events_min"] = parsed.expression.named_selects
    conn = duckdb.connect()
    for sql in schema_statements():
        conn.execute(sql)
    local = {
        name: [row[0] for row in conn.execute(f"DESCRIBE {name}").fetchall()]
        for name in redshift
        if name != "v_events_payload"  # the raw SUPER payload is Redshift's alone
    }
    for name, columns in local.items():
        expected = [c for c in redshift[name] if c != "payload"]
        assert columns == expected, name
    assert set(local) >= {
        "events_per_minute",
        "active_users",
        "affiliate_per_minute",
        "top_pages_last_hour",
        "by_country_last_hour",
        "by_source_last_hour",
        "last_hour_per_minute",
        "events",
        "mv_events_min",
    }
