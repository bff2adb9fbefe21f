"""Deployment knobs that are not application settings; overridable with ``cdk -c key=value``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

GIB = 1024**3


@dataclass(frozen=True)
class DeploymentConfig:
    # Athena refuses a query once it has scanned this much (the workgroup's cost guard).
    athena_bytes_scanned_cutoff_per_query: int = 10 * GIB
    # Redshift Serverless capacity in RPUs (8 is the smallest base).
    redshift_base_rpu: int = 8
    redshift_max_rpu: int = 32
    # Concurrency reserved for the ingest function; new accounts may need a quota raise.
    ingest_reserved_concurrency: int = 100
    ingest_memory_mb: int = 512
    # X-Ray active tracing samples 1 request/s + 5 % of the rest (see the costs in deploy.md).
    ingest_active_tracing: bool = True
    # Requests per 5 minutes one client IP may send before WAF blocks it.
    waf_rate_limit_per_ip: int = 3000
    # Stage-wide HTTP API throttling.
    api_rate_limit_per_second: int = 2000
    api_burst_limit: int = 4000
    kinesis_retention_hours: int = 24
    # Log retention (a member of aws_logs.RetentionDays) and dead-letter retention.
    log_retention: str = "ONE_YEAR"
    dlq_retention_days: int = 14
    # Optional e-mail address subscribed to the alarm topic.
    alarm_email: str = ""
    # The alert function's Kinesis event source mapping and concurrency.
    alerts_batch_size: int = 100
    alerts_retry_attempts: int = 10
    alerts_max_record_age_hours: int = 6
    alerts_reserved_concurrency: int = 10
    # The alert function lags this far behind the stream before its alarm fires.
    alerts_iterator_age_alarm_ms: int = 60_000
    # The dashboards' own VPC (no route to the internet) and the network its internal load
    # balancer admits (empty: the VPC itself; set the range of a VPN or peered network).
    dashboards_vpc_cidr: str = "10.80.0.0/20"
    dashboards_client_cidr: str = ""
    # An ACM certificate for the load balancer's DNS name: HTTPS on 443 and HTTP redirected;
    # empty: HTTP on 80, inside the VPC only (docs/deploy.md).
    dashboards_certificate_arn: str = ""
    dashboards_cpu: int = 1024
    dashboards_memory_mib: int = 2048
    dashboards_desired_count: int = 1

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> DeploymentConfig:
        values: dict[str, Any] = {}
        for field in fields(cls):
            if field.name in context and context[field.name] is not None:
                values[field.name] = _coerce(getattr(cls, field.name), context[field.name])
        return cls(**values)


def _coerce(default: object, value: Any) -> Any:
    """Context values from ``cdk -c`` arrive as strings."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    return type(default)(value)
