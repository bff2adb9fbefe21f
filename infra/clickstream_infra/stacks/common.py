"""Building blocks every stack uses the same way: keys, log groups, the settings' variables."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from clickstream_infra.config import DeploymentConfig
from streaming.contracts.settings import Settings


def customer_key(scope: Construct, alias: str, description: str) -> kms.Key:
    """A rotated customer-managed KMS key, kept when its stack is deleted."""
    return kms.Key(
        scope,
        "Key",
        alias=alias,
        description=description,
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN,
    )


def allow_log_encryption(key: kms.Key) -> None:
    """Let CloudWatch Logs of this account and region use the key for its log groups."""
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogs",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    )
                }
            },
        )
    )


def encrypted_log_group(
    scope: Construct, construct_id: str, name: str, key: kms.Key, config: DeploymentConfig
) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        encryption_key=key,
        retention=getattr(logs.RetentionDays, config.log_retention),
        removal_policy=RemovalPolicy.RETAIN,
    )


def application_environment(settings: Settings, home: str) -> dict[str, str]:
    """The variables a deployed process resolves every name from: the deployment's settings."""
    return {
        "CLICKSTREAM_ENV": "aws",
        "CLICKSTREAM_PROJECT": settings.project,
        "CLICKSTREAM_STAGE": settings.stage,
        "CLICKSTREAM_AWS_ACCOUNT_ID": settings.account_id,
        "CLICKSTREAM_AWS_REGION": settings.region,
        "CLICKSTREAM_HOME": home,
    }
