"""Names of resources only the deployment knows; all derive from the application's settings.

Names the application itself uses (stream, delivery stream, DLQ, buckets, Glue databases, Athena
workgroup, Redshift workgroup/namespace/role, HMAC secret) come straight from ``Settings``.
"""

from __future__ import annotations

from streaming.contracts.settings import Settings
from streaming.ingest.secrets import API_KEYS_SECRET_ARN_VARIABLE, HMAC_SECRET_ARN_VARIABLE

STACKS = (
    "lake",
    "streaming",
    "ingest",
    "alerts",
    "warehouse",
    "orchestration",
    "observability",
    "dashboards",
)
CLOUDFRONT_REGION = "us-east-1"

# The ingest function resolves the secrets named by HMAC_SECRET_ARN_VARIABLE and
# API_KEYS_SECRET_ARN_VARIABLE at cold start (streaming/ingest/secrets.py).
__all__ = ["API_KEYS_SECRET_ARN_VARIABLE", "HMAC_SECRET_ARN_VARIABLE"]
INGEST_HANDLER = "streaming.ingest.lambda_handler.handler"


def stack_name(settings: Settings, purpose: str) -> str:
    return f"{settings.resource_prefix}-{purpose}"


def key_alias(settings: Settings, purpose: str) -> str:
    return f"alias/{settings.resource_prefix}-{purpose}"


def access_logs_bucket_name(settings: Settings) -> str:
    return f"{settings.resource_prefix}-access-logs-{settings.account_id}-{settings.region}"


def ingest_function_name(settings: Settings) -> str:
    return f"{settings.resource_prefix}-ingest"


def ingest_api_name(settings: Settings) -> str:
    return f"{settings.resource_prefix}-ingest"


def api_keys_secret_name(settings: Settings) -> str:
    return f"{settings.resource_prefix}/ingest/api-keys"


def web_acl_name(settings: Settings) -> str:
    return f"{settings.resource_prefix}-ingest-edge"


def waf_log_group_name(settings: Settings) -> str:
    # WAF only logs to log groups whose name starts with aws-waf-logs-.
    return f"aws-waf-logs-{settings.resource_prefix}-ingest"


def delivery_log_group_name(settings: Settings) -> str:
    return f"/aws/kinesisfirehose/{settings.delivery_stream_name}"


def invocation_dlq_name(settings: Settings) -> str:
    return f"{settings.resource_prefix}-ingest-invocation-dlq"


def dagster_role_name(settings: Settings) -> str:
    return f"{settings.resource_prefix}-dagster"


def redshift_database_name(settings: Settings) -> str:
    return settings.project.replace("-", "_")


def alarm_topic_name(settings: Settings) -> str:
    return f"{settings.resource_prefix}-alarms"


def dashboard_name(settings: Settings) -> str:
    return f"{settings.resource_prefix}-pipeline"


def alarm_name(settings: Settings, what: str) -> str:
    return f"{settings.resource_prefix}-{what}"


def dashboards_name(settings: Settings) -> str:
    """The analyst dashboards' cluster, service and task family."""
    return f"{settings.resource_prefix}-dashboards"


def dashboards_log_group_name(settings: Settings) -> str:
    return f"/ecs/{dashboards_name(settings)}"


def dashboards_flow_log_group_name(settings: Settings) -> str:
    return f"/vpc/{dashboards_name(settings)}/flow-logs"
