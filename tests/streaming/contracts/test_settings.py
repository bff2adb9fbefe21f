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


@pytest.mark.parametrize(
    ("variable", "value", "location"),
    [
        ("CLICKSTREAM_INGEST__PORT", "99999", ("ingest", "port")),
        ("CLICKSTREAM_INGEST__PORT", "0", ("ingest", "port")),
        ("CLICKSTREAM_LOCAL_AWS__PORT", "65536", ("local_aws", "port")),
        ("CLICKSTREAM_LOCAL_AWS__KINESIS_PORT", "-1", ("local_aws", "kinesis_port")),
        ("CLICKSTREAM_INGEST__MAX_BODY_BYTES", "-1", ("ingest", "max_body_bytes")),
        ("CLICKSTREAM_INGEST__MAX_EVENT_BYTES", "0", ("ingest", "max_event_bytes")),
        ("CLICKSTREAM_INGEST__MAX_BATCH_EVENTS", "0", ("ingest", "max_batch_events")),
        (
            "CLICKSTREAM_INGEST__QUARANTINE_PAYLOAD_BYTES",
            "-1",
            ("ingest", "quarantine_payload_bytes"),
        ),
        ("CLICKSTREAM_PRODUCER__MAX_RECORDS_PER_CALL", "0", ("producer", "max_records_per_call")),
        ("CLICKSTREAM_PRODUCER__MAX_BYTES_PER_CALL", "0", ("producer", "max_bytes_per_call")),
        ("CLICKSTREAM_PRODUCER__MAX_RECORD_BYTES", "0", ("producer", "max_record_bytes")),
        ("CLICKSTREAM_PRODUCER__LINGER_MS", "-1", ("producer", "linger_ms")),
        ("CLICKSTREAM_PRODUCER__BUFFER_RECORDS", "0", ("producer", "buffer_records")),
        ("CLICKSTREAM_PRODUCER__MAX_RETRIES", "-1", ("producer", "max_retries")),
        ("CLICKSTREAM_DELIVERY__BUFFER_SECONDS", "0", ("delivery", "buffer_seconds")),
        ("CLICKSTREAM_DELIVERY__BUFFER_SECONDS", "901", ("delivery", "buffer_seconds")),
        ("CLICKSTREAM_DELIVERY__BUFFER_BYTES", "0", ("delivery", "buffer_bytes")),
        (
            "CLICKSTREAM_DELIVERY__DELIVERY_STREAM_VERSION",
            "0",
            ("delivery", "delivery_stream_version"),
        ),
        (
            "CLICKSTREAM_ORCHESTRATION__MAINTENANCE_CRON",
            "61 * * * *",
            ("orchestration", "maintenance_cron"),
        ),
        ("CLICKSTREAM_ALERTS__WEBHOOK_URL", "notaurl", ("alerts", "webhook_url")),
        ("CLICKSTREAM_ALERTS__WEBHOOK_URL", "ftp://host/hook", ("alerts", "webhook_url")),
        ("CLICKSTREAM_HOME", "", ("home",)),
    ],
)
def test_a_setting_outside_its_bounds_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, location: tuple[str, ...]
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert [error["loc"] for error in refused.value.errors()] == [location]


def test_zero_is_taken_where_it_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKSTREAM_INGEST__QUARANTINE_PAYLOAD_BYTES", "0")
    monkeypatch.setenv("CLICKSTREAM_PRODUCER__LINGER_MS", "0")
    monkeypatch.setenv("CLICKSTREAM_PRODUCER__MAX_RETRIES", "0")
    settings = Settings()
    assert settings.ingest.quarantine_payload_bytes == 0
    assert (settings.producer.linger_ms, settings.producer.max_retries) == (0, 0)


def test_a_home_that_is_a_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "home").write_text("not a directory")
    monkeypatch.setenv("CLICKSTREAM_HOME", str(tmp_path / "home"))
    with pytest.raises(ValidationError) as refused:
        Settings()
    [error] = refused.value.errors()
    assert (error["loc"], error["msg"]) == (("home",), "Value error, is not a directory")


def test_lists_are_given_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKSTREAM_INGEST__TRUSTED_PROXIES", '["10.1.2.3/8"]')
    monkeypatch.setenv("CLICKSTREAM_INGEST__ALLOWED_ORIGINS", '["https://shop.example"]')
    monkeypatch.setenv("CLICKSTREAM_INGEST__API_KEYS", '["k1"]')
    ingest = Settings().ingest
    assert ingest.trusted_proxies == ["10.0.0.0/8"]
    assert ingest.allowed_origins == ["https://shop.example"]
    assert [key.get_secret_value() for key in ingest.api_keys] == ["k1"]
    monkeypatch.setenv("CLICKSTREAM_INGEST__TRUSTED_PROXIES", "10.0.0.0/8")
    with pytest.raises(ValidationError) as refused:
        Settings()
    [error] = refused.value.errors()
    assert error["loc"] == ("ingest", "trusted_proxies")
    assert error["msg"] == 'Value error, expected a JSON list, e.g. ["10.0.0.0/8"]'


@pytest.mark.parametrize(
    "cron",
    [
        *(
            "*/10 * * * *",
            "30 3 * * *",
            "@daily",
            "@HOURLY",
            "0 9 * JAN-MAR MON-FRI",
            "5-1 * * * *",
        ),
        *("0 0 L * *", "0 0 * * 5#3", "0 0 * * L5", "0 0 ? * *", "0 0 * * 7", "0,30 */2 1,15 * *"),
        *("not a cron", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *"),
        *("* * * 13 *", "* * * * 8", "*/0 * * * *", "0 0 31 2 *", "@reboot", "0 0 1W * *"),
        *("H * * * *", "0 0 * * 5L", "0 0 ?/2 * *", "0 0 * * 5#6"),
    ],
)
def test_a_cron_is_taken_exactly_when_dagster_takes_it(
    monkeypatch: pytest.MonkeyPatch, cron: str
) -> None:
    from dagster._utils.schedules import is_valid_cron_string

    monkeypatch.setenv("CLICKSTREAM_ORCHESTRATION__LAKE_REFRESH_CRON", cron)
    try:
        taken = Settings().orchestration.lake_refresh_cron == cron
    except ValidationError:
        taken = False
    assert taken is is_valid_cron_string(cron)
