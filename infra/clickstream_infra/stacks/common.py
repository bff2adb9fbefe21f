"""Building blocks every stack uses the same way: customer-managed keys and log groups."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from clickstream_infra.config import DeploymentConfig


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
