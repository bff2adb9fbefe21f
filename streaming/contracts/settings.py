"""The one settings object: every path, endpoint and resource name derives from it.

Values come from environment variables prefixed ``CLICKSTREAM_`` (nested groups use ``__``,
e.g. ``CLICKSTREAM_INGEST__PORT=9000``) or from a ``.env`` file in the working directory.
``CLICKSTREAM_ENV`` selects ``local`` (everything on this machine, the default) or ``aws``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from streaming.contracts.cron import valid_cron

Environment = Literal["local", "aws"]
BucketPurpose = Literal["bronze", "silver", "gold", "quarantine", "athena-results"]
"""The buckets of a deployment, one per purpose."""

LOOPBACK = "127.0.0.1"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")

Port = Annotated[int, Field(ge=1, le=65535)]


def _json_list(example: str) -> BeforeValidator:
    """A list given as one JSON text (an environment variable, a line of ``.env``); the
    error shows ``example`` of the expected form."""

    def decode(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if not isinstance(decoded, list):
            raise ValueError(f"expected a JSON list, e.g. {example}")
        return decoded

    return BeforeValidator(decode)


Cron = Annotated[str, AfterValidator(valid_cron)]


def _http_url(url: SecretStr) -> SecretStr:
    parts = urlsplit(url.get_secret_value())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL")
    return url


def url_origin(url: SecretStr) -> str:
    """What may be shown of a secret URL: its scheme and host (the path may hold a token)."""
    parts = urlsplit(url.get_secret_value())
    return f"{parts.scheme}://{parts.hostname}/…"


class IngestSettings(BaseModel):
    host: str = LOOPBACK
    port: Port = 8780
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    max_event_bytes: int = Field(default=32 * 1024, ge=1)
    max_batch_events: int = Field(default=500, ge=1)
    quarantine_payload_bytes: int = Field(default=16 * 1024, ge=0)
    """How much of a rejected event's payload its quarantine row keeps (0: none)."""
    allowed_origins: Annotated[list[str], NoDecode, _json_list('["https://shop.example"]')] = Field(
        default_factory=lambda: ["http://localhost:3000"]
    )
    api_keys: Annotated[list[SecretStr], NoDecode, _json_list('["a-long-random-key"]')] = Field(
        default_factory=list
    )
    hmac_secret: SecretStr | None = None
    max_nesting_depth: int = Field(default=64, ge=1)
    """Arrays and objects nested deeper in one event are rejected before validation."""
    trusted_proxies: Annotated[list[str], NoDecode, _json_list('["10.0.0.0/8"]')] = Field(
        default_factory=list
    )
    """Networks (CIDR) of the proxies in front of the ingest. A request from one of them is
    attributed to the right-most ``X-Forwarded-For`` hop outside them; empty: the socket peer."""
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    """Request line and headers together (Node.js: 16 KiB)."""
    max_headers: int = Field(default=100, ge=8)
    """Header fields per request (Apache's LimitRequestFields: 100)."""
    header_timeout_s: float = Field(default=20.0, gt=0)
    """From the connection (or the previous answer) to the end of the headers."""
    body_timeout_s: float = Field(default=20.0, gt=0)
    """From the end of the headers to the end of the body (Apache's mod_reqtimeout: 20 s)."""
    keep_alive_timeout_s: int = Field(default=5, ge=1)
    """An idle kept-alive connection is closed after this long (uvicorn, Node.js, Apache: 5)."""
    max_connections: int = Field(default=1024, ge=1)
    """Open connections at once; requests past it are answered 503."""
    health_cache_s: float = Field(default=2.0, ge=0)
    """How long /healthz reuses the last check of the stream and the dead-letter queue."""
    workers: int = Field(default=1, ge=1)
    """Server processes of ``clickstream ingest serve``, sharing its port. Each has its own
    producer and buffer, its own ``max_connections`` and its own ``/metrics`` counters."""

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies_are_networks(cls, entries: list[str]) -> list[str]:
        import ipaddress

        return [str(ipaddress.ip_network(entry.strip(), strict=False)) for entry in entries]


class ProducerSettings(BaseModel):
    max_records_per_call: int = Field(default=500, ge=1)
    max_bytes_per_call: int = Field(default=5 * 1024 * 1024, ge=1)
    max_record_bytes: int = Field(default=1024 * 1024, ge=1)
    linger_ms: int = Field(default=20, ge=0)
    buffer_records: int = Field(default=50_000, ge=1)
    max_retries: int = Field(default=8, ge=0)


class DeliverySettings(BaseModel):
    """Firehose buffering hints: a buffer is flushed at whichever limit is reached first."""

    buffer_seconds: int = Field(default=60, ge=1, le=900)
    """Firehose takes 0 to 900 seconds; the local delivery at least 1."""
    buffer_bytes: int = Field(default=5 * 1024 * 1024, ge=1, le=128 * 1024 * 1024)
    """Firehose takes 1 to 128 MiB."""
    delivery_stream_version: int = Field(default=1, ge=1)


class LocalAwsSettings(BaseModel):
    """The local AWS APIs of the ``local`` environment, two servers on this machine.

    Kinesis is served by kinesalite on ``kinesis_port``, its records kept on disk under the
    home; every other API the local default calls (SQS, STS, Glue) by a moto server on ``port``.
    """

    host: str = LOOPBACK
    port: Port = 4599
    kinesis_port: Port = 4598
    region: str = "us-east-1"
    account_id: str = "123456789012"
    stream_shards: int = Field(default=2, ge=1)
    """Shards of the Kinesis stream ``clickstream local up`` creates."""


class OrchestrationSettings(BaseModel):
    """How Dagster drives the lake: partitions, the landing sensor, schedules, maintenance."""

    start_date: date | None = None
    """First ingest day of the bronze and dbt partitions; unset, the first day anything
    landed (today on an empty landing store), read when the code location loads."""
    sensor_interval_seconds: int = Field(default=30, ge=5)
    sensor_lag_seconds: int = Field(default=300, ge=0)
    """Objects whose last-modified time is this close to the newest one seen are remembered by
    key, so a listing that shows an object late (same second, or eventual listing) never loses
    it and never re-requests it."""
    lake_refresh_cron: Cron = Field(
        default="*/10 * * * *",
        validation_alias=AliasChoices("lake_refresh_cron", "gold_refresh_cron"),
    )
    """The ``lake_refresh_schedule``'s cron (``gold_refresh_cron``, its first name, is still
    read)."""
    maintenance_cron: Cron = "30 3 * * *"
    snapshot_retention_hours: int = Field(default=24, ge=1)
    gold_freshness_hours: int = Field(default=2, ge=1)


def _physical_memory_mb() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20


class DuckDBSettings(BaseModel):
    """What each local DuckDB process (the bronze load, every dbt run) may use; unset, sized
    to the machine."""

    memory_limit_mb: int | None = Field(default=None, ge=256)
    """DuckDB's memory limit in MiB; unset, a tenth of the physical memory (at least 512 MiB).
    It bounds DuckDB's buffers: past it, sorts, joins and aggregates spill under
    ``<home>/duckdb``. A dbt run's process grows about 0.7 GiB past it (dbt itself, DuckDB's
    allocations outside its buffers)."""
    threads: int | None = Field(default=None, ge=1)
    """DuckDB's worker threads, and the bronze load's decompression threads; unset, the CPUs."""
    scratch_dir: Path | None = None
    """Where the bronze load inflates landed objects for DuckDB to read; unset, a folder in the
    memory-backed ``/dev/shm`` when that has room, else ``<home>/duckdb/scratch``."""

    @property
    def memory_limit(self) -> str:
        return f"{self.memory_limit_mb or max(512, _physical_memory_mb() // 10)}MiB"

    @property
    def thread_count(self) -> int:
        return self.threads or os.cpu_count() or 1


class RealtimeSettings(BaseModel):
    """The local real-time consumer: a second reader of the stream keeping minute marts."""

    refresh_seconds: float = Field(default=0.5, gt=0)
    """How often the consumer commits what it read and publishes a new snapshot of the marts."""
    poll_seconds: float = Field(default=0.1, ge=0)
    """Pause between reads of a shard that is at its tip."""
    retention_hours: float = Field(default=48.0, gt=0)
    """Events stay in the marts this long after they arrived (also the dedup window)."""


AlertOperator = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "exists"]
"""How a condition compares a field of the event with its value."""


class AlertCondition(BaseModel):
    """One condition on a field of the event as it is on the stream (the producer record)."""

    field: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
    """Dotted path into the event, e.g. ``affiliate.payout_cents``."""
    op: AlertOperator
    value: Any = None
    """What the field is compared with (a list for ``in``; ``true``/``false`` for ``exists``)."""

    @model_validator(mode="after")
    def _value_fits_operator(self) -> AlertCondition:
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError(f"{self.field}: 'in' needs a list value")
        if self.op == "exists" and self.value is None:
            self.value = True
        if self.op in ("gt", "gte", "lt", "lte") and (
            isinstance(self.value, bool) or not isinstance(self.value, int | float)
        ):
            raise ValueError(f"{self.field}: {self.op!r} needs a number value")
        return self


class AlertRule(BaseModel):
    """A key event: every condition must hold on an event of ``event_type``."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    event_type: str = Field(min_length=1)
    conditions: list[AlertCondition] = Field(default_factory=list)


def _default_alert_rules() -> list[AlertRule]:
    return [
        AlertRule(
            name="high_payout_click",
            event_type="affiliate_click",
            conditions=[AlertCondition(field="affiliate.payout_cents", op="gte", value=1000)],
        ),
        AlertRule(
            name="large_purchase",
            event_type="purchase",
            conditions=[AlertCondition(field="purchase.revenue_cents", op="gte", value=50_000)],
        ),
    ]


class AlertSettings(BaseModel):
    """Key-event alerts: rules evaluated on every event of the stream, and where alerts go.

    ``CLICKSTREAM_ALERTS__RULES`` takes the rules as JSON, e.g.
    ``[{"name": "big_order", "event_type": "purchase",
    "conditions": [{"field": "purchase.revenue_cents", "op": "gt", "value": 100000}]}]``.
    """

    enabled: bool = True
    """Whether ``clickstream dev`` and ``make demo`` start the local alert reader."""
    rules: Annotated[
        list[AlertRule],
        NoDecode,
        _json_list('[{"name": "big_order", "event_type": "purchase", "conditions": []}]'),
    ] = Field(default_factory=_default_alert_rules)
    webhook_url: Annotated[SecretStr, AfterValidator(_http_url)] | None = None
    """An HTTP endpoint every alert is POSTed to as JSON (none: the alert log only). A secret:
    such URLs often carry their token; only :func:`url_origin` of it is ever shown."""
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_attempts: int = Field(default=8, ge=1)
    """Attempts per alert before it goes to the dead-letter file."""
    backoff_base_s: float = Field(default=0.1, gt=0)
    backoff_cap_s: float = Field(default=5.0, gt=0)
    poll_seconds: float = Field(default=0.05, ge=0)
    """Pause between reads of a shard that is at its tip."""
    dedup_capacity: int = Field(default=1_000_000, ge=100)
    """Event ids remembered for dedup (the oldest are forgotten first)."""
    dedup_table: str | None = None
    """On AWS: the DynamoDB table of alert claims; default ``<project>-<stage>-alert-claims``."""
    claim_lease_s: int = Field(default=60, ge=1)
    """On AWS: how long a pending claim of an alert keeps others from publishing it (at least
    the function's timeout, so only a dead invocation's claim expires)."""
    claim_ttl_days: int = Field(default=14, ge=1)
    """On AWS: how long a claim is kept (DynamoDB TTL); re-sends within it are recognised."""

    @field_validator("rules")
    @classmethod
    def _rule_names_are_unique(cls, rules: list[AlertRule]) -> list[AlertRule]:
        names = [rule.name for rule in rules]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"alert rule names must be unique: {', '.join(repeated)}")
        return rules


class RedshiftSettings(BaseModel):
    """Where the real-time SQL is applied in ``aws`` (Redshift Serverless by default).

    Unset names derive from the rest of the settings, like the names ``infra/`` deploys.
    """

    workgroup: str | None = None
    """Redshift Serverless workgroup; default ``<project>-<stage>-rt``."""
    cluster_identifier: str | None = None
    """A provisioned cluster instead of a workgroup (then ``db_user`` or ``secret_arn``)."""
    database: str | None = None
    """Default: the project name with ``_`` for ``-`` (the namespace's database)."""
    db_user: str | None = None
    secret_arn: str | None = None
    iam_role_arn: str | None = None
    """Role Redshift assumes to read the stream; default the deployed streaming role."""
    external_schema: str = "kds"
    rt_schema: str = "rt"
    statement_timeout_seconds: float = Field(default=900.0, gt=0)
    poll_seconds: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    """Attempts per Data API call when it is throttled or fails transiently."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLICKSTREAM_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    env: Environment = "local"
    home: Path = Path(".clickstream")
    project: str = "clickstream"
    stage: str = "dev"
    aws_region: str = "us-east-1"
    aws_account_id: str | None = None

    lake_namespace: str = "lake"
    mart_namespace: str = "mart"
    iceberg_catalog_name: str = "clickstream"
    docs_port: int = Field(default=8580, ge=1, le=65535)
    """Port of the dbt docs site ``clickstream docs`` serves on 127.0.0.1."""
    dashboards_port: int = Field(default=8501, ge=1, le=65535)
    """Port of the analyst dashboards ``clickstream dashboards`` (and ``make dev``) serve."""

    ingest: IngestSettings = Field(default_factory=IngestSettings)
    producer: ProducerSettings = Field(default_factory=ProducerSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    local_aws: LocalAwsSettings = Field(default_factory=LocalAwsSettings)
    orchestration: OrchestrationSettings = Field(default_factory=OrchestrationSettings)
    realtime: RealtimeSettings = Field(default_factory=RealtimeSettings)
    duckdb: DuckDBSettings = Field(default_factory=DuckDBSettings)
    redshift: RedshiftSettings = Field(default_factory=RedshiftSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @field_validator("home", mode="before")
    @classmethod
    def _home_is_given(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty: give a directory, or unset it for ./.clickstream")
        return value

    @field_validator("home")
    @classmethod
    def _home_is_a_directory(cls, home: Path) -> Path:
        home = home.expanduser().resolve()
        if home.exists() and not home.is_dir():
            raise ValueError("is not a directory")
        return home

    @model_validator(mode="after")
    def _names_are_valid_aws_names(self) -> Settings:
        if not _NAME.match(self.resource_prefix):
            raise ValueError(
                "project and stage must be lowercase letters, digits and '-': "
                f"{self.resource_prefix!r}"
            )
        longest = self.bucket_name("athena-results")
        if len(longest) > 63:
            raise ValueError(f"bucket name {longest!r} is longer than S3's 63 characters")
        return self

    @model_validator(mode="after")
    def _aws_needs_account(self) -> Settings:
        if self.env == "aws" and not self.aws_account_id:
            raise ValueError("CLICKSTREAM_AWS_ACCOUNT_ID is required when CLICKSTREAM_ENV=aws")
        return self

    # --- names shared by the application and infra/ -------------------------------------

    @property
    def resource_prefix(self) -> str:
        return f"{self.project}-{self.stage}"

    @property
    def region(self) -> str:
        return self.local_aws.region if self.env == "local" else self.aws_region

    @property
    def account_id(self) -> str:
        return self.aws_account_id or self.local_aws.account_id

    @property
    def stream_name(self) -> str:
        return f"{self.resource_prefix}-events"

    @property
    def stream_arn(self) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account_id}:stream/{self.stream_name}"

    @property
    def delivery_stream_name(self) -> str:
        return f"{self.resource_prefix}-bronze-delivery"

    @property
    def dlq_name(self) -> str:
        return f"{self.resource_prefix}-ingest-dlq"

    def bucket_name(self, purpose: BucketPurpose) -> str:
        """S3 bucket names are global: they carry the account and region."""
        return f"{self.resource_prefix}-{purpose}-{self.account_id}-{self.region}"

    @property
    def glue_databases(self) -> tuple[str, str]:
        return (self.lake_namespace, self.mart_namespace)

    @property
    def athena_workgroup(self) -> str:
        return f"{self.resource_prefix}-analytics"

    @property
    def redshift_workgroup(self) -> str:
        return f"{self.resource_prefix}-rt"

    @property
    def redshift_workgroup_name(self) -> str:
        """The workgroup the real-time SQL is applied in (configured, or the deployed one)."""
        return self.redshift.workgroup or self.redshift_workgroup

    @property
    def redshift_database(self) -> str:
        return self.redshift.database or self.project.replace("-", "_")

    @property
    def redshift_iam_role_arn(self) -> str:
        return self.redshift.iam_role_arn or self.redshift_streaming_role_arn

    @property
    def redshift_namespace(self) -> str:
        return f"{self.resource_prefix}-rt"

    @property
    def redshift_streaming_role_name(self) -> str:
        return f"{self.resource_prefix}-redshift-streaming"

    @property
    def redshift_streaming_role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.redshift_streaming_role_name}"

    @property
    def alerts_topic_name(self) -> str:
        return f"{self.resource_prefix}-alerts"

    @property
    def alerts_function_name(self) -> str:
        return f"{self.resource_prefix}-alerts"

    @property
    def alerts_failure_queue_name(self) -> str:
        return f"{self.resource_prefix}-alerts-failures"

    @property
    def alerts_dedup_table_name(self) -> str:
        """The DynamoDB table the alert function claims each alert in (configured, or deployed)."""
        return self.alerts.dedup_table or f"{self.resource_prefix}-alert-claims"

    @property
    def hmac_secret_name(self) -> str:
        return f"{self.resource_prefix}/ingest/hmac-secret"

    def table_identifier(self, table: str) -> str:
        """``lake.silver_events`` style identifier for a lake or mart table."""
        namespace = self.mart_namespace if table.startswith("fact_") else self.lake_namespace
        return f"{namespace}.{table}"

    # --- landing layout (Firehose prefixes) ----------------------------------------------

    landing_bronze_prefix: str = "bronze"
    landing_quarantine_prefix: str = "quarantine"
    landing_error_prefix: str = "errors"

    # --- local paths: everything lives under one home -------------------------------------

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def catalog_uri(self) -> str:
        return f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def duckdb_dir(self) -> Path:
        return self.home / "duckdb"

    @property
    def checkpoint_dir(self) -> Path:
        return self.home / "checkpoints"

    @property
    def realtime_dir(self) -> Path:
        """The local real-time marts: the consumer's state and the snapshots queries read."""
        return self.home / "realtime"

    @property
    def alerts_dir(self) -> Path:
        """The local alert reader: its alert log, dead letters and dedup state."""
        return self.home / "alerts"

    @property
    def generated_dir(self) -> Path:
        return self.home / "generated"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def dbt_state_dir(self) -> Path:
        return self.home / "dbt"

    @property
    def dbt_target_dir(self) -> Path:
        return self.dbt_state_dir / "target"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def aws_endpoint_url(self) -> str | None:
        """The endpoint of every AWS API but Kinesis: the local moto server, None for AWS."""
        if self.env == "aws":
            return None
        return f"http://{self.local_aws.host}:{self.local_aws.port}"

    @property
    def kinesis_endpoint_url(self) -> str | None:
        """The Kinesis endpoint: the local stream engine, None for AWS."""
        if self.env == "aws":
            return None
        return f"http://{self.local_aws.host}:{self.local_aws.kinesis_port}"

    def endpoint_url(self, service: str) -> str | None:
        """The endpoint a boto3 client of ``service`` talks to (None: AWS's own)."""
        return self.kinesis_endpoint_url if service == "kinesis" else self.aws_endpoint_url

    @property
    def local_stream_dir(self) -> Path:
        """Where the local stream engine keeps the stream's records (LevelDB)."""
        return self.home / "kinesis"

    @property
    def ingest_url(self) -> str:
        return f"http://{self.ingest.host}:{self.ingest.port}"

    @property
    def docs_url(self) -> str:
        return f"http://{LOOPBACK}:{self.docs_port}"

    @property
    def dashboards_url(self) -> str:
        return f"http://{LOOPBACK}:{self.dashboards_port}"

    @cached_property
    def hmac_key(self) -> bytes:
        """The server-side key that re-keys client user hashes.

        In ``aws`` it must be configured (the deployment reads it from Secrets Manager into
        ``CLICKSTREAM_INGEST__HMAC_SECRET``). Locally a random key is created once per home,
        so local data is still unlinkable to outside data without it.
        """
        if self.ingest.hmac_secret is not None:
            return self.ingest.hmac_secret.get_secret_value().encode()
        if self.env == "aws":
            raise RuntimeError(
                "CLICKSTREAM_INGEST__HMAC_SECRET must be set when CLICKSTREAM_ENV=aws"
            )
        key_file = self.secrets_dir / "hmac.key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return key_file.read_text().strip().encode()

    def process_environment(self) -> dict[str, str]:
        """Variables every tool started by this project runs with: telemetry off, state at home."""
        return {
            "CLICKSTREAM_HOME": str(self.home),
            "CLICKSTREAM_ENV": self.env,
            "DAGSTER_HOME": str(self.dagster_home),
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "DBT_LOG_PATH": str(self.dbt_state_dir / "logs"),
            "DBT_TARGET_PATH": str(self.dbt_target_dir),
            "MPLCONFIGDIR": str(self.home / "matplotlib"),
            "GX_ANALYTICS_ENABLED": "False",
            "AWS_DEFAULT_REGION": self.region,
        }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
