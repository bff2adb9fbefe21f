from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from streaming.contracts.settings import Settings

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("CLICKSTREAM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_local_is_the_default_and_state_lives_under_one_home(tmp_path: Path) -> None:
    settings = Settings()
    assert settings.env == "local"
    assert settings.home == (tmp_path / ".clickstream").resolve()
    local_paths = [
        settings.landing_dir,
        settings.warehouse_dir,
        settings.duckdb_dir,
        settings.checkpoint_dir,
        settings.generated_dir,
        settings.dagster_home,
        settings.dbt_state_dir,
        settings.secrets_dir,
        settings.log_dir,
    ]
    for path in local_paths:
        assert path.is_relative_to(settings.home)
    assert settings.catalog_uri == f"sqlite:///{settings.home / 'catalog.db'}"
    assert settings.aws_endpoint_url == "http://127.0.0.1:4599"


def test_home_is_overridable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLICKSTREAM_HOME", str(tmp_path / "elsewhere"))
    assert Settings().home == tmp_path / "elsewhere"


def test_nested_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKSTREAM_INGEST__PORT", "9123")
    monkeypatch.setenv("CLICKSTREAM_DELIVERY__BUFFER_SECONDS", "2")
    settings = Settings()
    assert settings.ingest.port == 9123
    assert settings.ingest_url == "http://127.0.0.1:9123"
    assert settings.delivery.buffer_seconds == 2


def test_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKSTREAM_ENV", "staging")
    with pytest.raises(ValidationError, match="local"):
        Settings()


def test_aws_requires_an_account_and_uses_no_endpoint_override(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLICKSTREAM_ENV", "aws")
    with pytest.raises(ValidationError, match="AWS_ACCOUNT_ID"):
        Settings()
    monkeypatch.setenv("CLICKSTREAM_AWS_ACCOUNT_ID", "210987654321")
    monkeypatch.setenv("CLICKSTREAM_AWS_REGION", "eu-west-1")
    settings = Settings()
    assert settings.aws_endpoint_url is None
    assert settings.region == "eu-west-1"
    assert settings.stream_arn == (
        "arn:aws:kinesis:eu-west-1:210987654321:stream/clickstream-dev-events"
    )


def test_resource_names_derive_from_project_and_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKSTREAM_PROJECT", "shop")
    monkeypatch.setenv("CLICKSTREAM_STAGE", "prod")
    settings = Settings()
    names = [
        settings.stream_name,
        settings.delivery_stream_name,
        settings.dlq_name,
        settings.athena_workgroup,
        settings.redshift_workgroup,
        settings.redshift_streaming_role_name,
    ]
    assert all(name.startswith("shop-prod-") for name in names)
    assert len(set(names)) == len(names)
    for purpose in ("bronze", "silver", "gold", "quarantine", "athena-results"):
        bucket = settings.bucket_name(purpose)
        assert BUCKET_NAME.match(bucket), bucket
        assert bucket.startswith(f"shop-prod-{purpose}-123456789012-")


def test_table_identifiers_use_the_lake_and_mart_namespaces() -> None:
    settings = Settings()
    assert settings.table_identifier("silver_events") == "lake.silver_events"
    assert settings.table_identifier("bronze_events") == "lake.bronze_events"
    assert settings.table_identifier("fact_funnel") == "mart.fact_funnel"


def test_process_environment_turns_telemetry_off_and_keeps_state_at_home() -> None:
    settings = Settings()
    environment = settings.process_environment()
    assert environment["DO_NOT_TRACK"] == "1"
    assert environment["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "False"
    assert Path(environment["DAGSTER_HOME"]).is_relative_to(settings.home)
    assert Path(environment["DBT_LOG_PATH"]).is_relative_to(settings.home)


def test_local_hmac_key_is_created_once_per_home_and_kept_private() -> None:
    first = Settings().hmac_key
    again = Settings().hmac_key
    assert first == again
    assert len(first) == 64
    key_file = Settings().secrets_dir / "hmac.key"
    assert key_file.stat().st_mode & 0o077 == 0


def test_configured_hmac_secret_wins_and_aws_refuses_to_run_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLICKSTREAM_INGEST__HMAC_SECRET", "s3cr3t")
    assert Settings().hmac_key == b"s3cr3t"
    assert "s3cr3t" not in repr(Settings())
    monkeypatch.delenv("CLICKSTREAM_INGEST__HMAC_SECRET")
    monkeypatch.setenv("CLICKSTREAM_ENV", "aws")
    monkeypatch.setenv("CLICKSTREAM_AWS_ACCOUNT_ID", "210987654321")
    with pytest.raises(RuntimeError, match="HMAC_SECRET"):
        _ = Settings().hmac_key


def test_names_that_aws_would_refuse_are_caught_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKSTREAM_PROJECT", "a-very-long-project-name-for-buckets")
    with pytest.raises(ValidationError, match="63"):
        Settings()
    monkeypatch.setenv("CLICKSTREAM_PROJECT", "Shop_Analytics")
    with pytest.raises(ValidationError, match="lowercase"):
        Settings()


@pytest.mark.parametrize("name", ["LAKE_REFRESH_CRON", "GOLD_REFRESH_CRON"])
def test_the_refresh_cron_is_read_under_its_name_and_its_first_name(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(f"CLICKSTREAM_ORCHESTRATION__{name}", "*/5 * * * *")
    assert Settings().orchestration.lake_refresh_cron == "*/5 * * * *"


def test_duckdb_is_sized_to_the_machine_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    sized = Settings().duckdb
    physical_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert sized.memory_limit == f"{max(512, physical_mb // 10)}MiB"
    assert sized.thread_count == os.cpu_count()
    monkeypatch.setenv("CLICKSTREAM_DUCKDB__MEMORY_LIMIT_MB", "2048")
    monkeypatch.setenv("CLICKSTREAM_DUCKDB__THREADS", "3")
    chosen = Settings().duckdb
    assert (chosen.memory_limit, chosen.thread_count) == ("2048MiB", 3)
