"""Alerts: the alert rules as a Lambda function on the event stream, publishing to SNS.

The function runs ``streaming.alerts.lambda_handler`` (the rule code the local alert reader
uses) from the same package asset and dependency layer as the ingest function. Its Kinesis event
source mapping reports partial batch failures, bisects a batch whose invocation fails, and
sends what is still failing after its retries to an encrypted SQS queue (the on-failure
destination). Its claims of alerts (the dedup by ``alert_id`` across batches and retries) live in
a DynamoDB table keyed by ``alert_id``, with a TTL. The alarms on it live in the observability
stack.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from clickstream_infra import names
from clickstream_infra.checkov import skip_check
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.common import allow_log_encryption, customer_key, encrypted_log_group
from clickstream_infra.stacks.ingest import function_code, layer_code
from clickstream_infra.stacks.streaming import StreamingStack
from streaming.contracts.settings import Settings

TOPIC_ARN_VARIABLE = "CLICKSTREAM_ALERTS_TOPIC_ARN"
"""The variable ``streaming.alerts.lambda_handler`` reads the topic from (kept in step by a
test: infra's environment does not import the handler)."""
DEDUP_TABLE_VARIABLE = "CLICKSTREAM_ALERTS__DEDUP_TABLE"
"""The setting ``alerts.dedup_table`` the function reads its claims table from."""
FUNCTION_TIMEOUT_S = 60
CLAIM_TTL_ATTRIBUTE = "expires_at"


def alerts_environment(settings: Settings) -> dict[str, str]:
    """The settings the function resolves its rules and clients from."""
    return {
        "CLICKSTREAM_ENV": "aws",
        "CLICKSTREAM_PROJECT": settings.project,
        "CLICKSTREAM_STAGE": settings.stage,
        "CLICKSTREAM_AWS_ACCOUNT_ID": settings.account_id,
        "CLICKSTREAM_AWS_REGION": settings.region,
        "CLICKSTREAM_HOME": "/tmp/clickstream",  # Lambda's only writable path
        "CLICKSTREAM_ALERTS__RULES": json.dumps(
            [rule.model_dump(mode="json") for rule in settings.alerts.rules]
        ),
        # A pending claim may expire only once the invocation that made it cannot be running.
        "CLICKSTREAM_ALERTS__CLAIM_LEASE_S": str(
            max(settings.alerts.claim_lease_s, FUNCTION_TIMEOUT_S)
        ),
        "CLICKSTREAM_ALERTS__CLAIM_TTL_DAYS": str(settings.alerts.claim_ttl_days),
    }


class AlertsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        config: DeploymentConfig,
        streaming: StreamingStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.key = customer_key(
            self,
            names.key_alias(settings, "alerts"),
            "clickstream alerts: topic, claims, queue, logs",
        )
        allow_log_encryption(self.key)
        self.topic = sns.Topic(
            self,
            "Alerts",
            topic_name=settings.alerts_topic_name,
            display_name=f"{settings.resource_prefix} key-event alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.failures = sqs.Queue(
            self,
            "Failures",
            queue_name=settings.alerts_failure_queue_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            data_key_reuse=Duration.hours(1),
            retention_period=Duration.days(config.dlq_retention_days),
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.claims = dynamodb.Table(
            self,
            "Claims",
            table_name=settings.alerts_dedup_table_name,
            partition_key=dynamodb.Attribute(name="alert_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=CLAIM_TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.function = self._function(config)
        for statement in self._permissions(streaming):
            self.function.add_to_role_policy(statement)
        self.mapping = self._mapping(streaming, config)

    def _permissions(self, streaming: StreamingStack) -> list[iam.PolicyStatement]:
        """Exactly what the function does: read the stream, claim, publish, dead-letter."""
        return [
            iam.PolicyStatement(
                sid="ReadEventStream",
                actions=[
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetRecords",
                    "kinesis:GetShardIterator",
                    "kinesis:ListShards",
                ],
                resources=[streaming.stream.stream_arn],
            ),
            iam.PolicyStatement(
                sid="DecryptEventStream",
                actions=["kms:Decrypt"],
                resources=[streaming.key.key_arn],
            ),
            iam.PolicyStatement(
                sid="ClaimAlerts",
                actions=[
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:GetItem",
                ],
                resources=[self.claims.table_arn],
            ),
            iam.PolicyStatement(
                sid="PublishAlerts",
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
            ),
            iam.PolicyStatement(
                sid="SendFailures",
                actions=["sqs:SendMessage", "sqs:GetQueueAttributes"],
                resources=[self.failures.queue_arn],
            ),
            iam.PolicyStatement(
                sid="EncryptAlertsClaimsAndFailures",
                actions=["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt", "kms:DescribeKey"],
                resources=[self.key.key_arn],
            ),
        ]

    def _mapping(
        self, streaming: StreamingStack, config: DeploymentConfig
    ) -> lambda_.CfnEventSourceMapping:
        mapping = lambda_.CfnEventSourceMapping(
            self,
            "StreamMapping",
            function_name=self.function.function_name,
            event_source_arn=streaming.stream.stream_arn,
            starting_position="LATEST",
            batch_size=config.alerts_batch_size,
            maximum_batching_window_in_seconds=0,
            bisect_batch_on_function_error=True,
            function_response_types=["ReportBatchItemFailures"],
            maximum_retry_attempts=config.alerts_retry_attempts,
            maximum_record_age_in_seconds=config.alerts_max_record_age_hours * 3600,
            destination_config=lambda_.CfnEventSourceMapping.DestinationConfigProperty(
                on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(
                    destination=self.failures.queue_arn
                )
            ),
        )
        # The role must be allowed to read the stream before the mapping first polls it.
        role = self.function.role
        assert role is not None
        mapping.node.add_dependency(role.node.find_child("DefaultPolicy"))
        return mapping

    def _function(self, config: DeploymentConfig) -> lambda_.Function:
        settings = self.settings
        log_group = encrypted_log_group(
            self,
            "FunctionLogs",
            f"/aws/lambda/{settings.alerts_function_name}",
            self.key,
            config,
        )
        layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=layer_code(),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_11],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="third-party packages of the alert function (make -C infra layer)",
        )
        function = lambda_.Function(
            self,
            "Function",
            function_name=settings.alerts_function_name,
            description="evaluate the alert rules on the event stream; publish alerts to SNS",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.X86_64,
            handler="streaming.alerts.lambda_handler.handler",
            code=function_code(),
            layers=[layer],
            memory_size=256,
            timeout=Duration.seconds(FUNCTION_TIMEOUT_S),
            reserved_concurrent_executions=config.alerts_reserved_concurrency,
            environment={
                **alerts_environment(settings),
                TOPIC_ARN_VARIABLE: self.topic.topic_arn,
                DEDUP_TABLE_VARIABLE: self.claims.table_name,
            },
            environment_encryption=self.key,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
        )
        cfn_function: lambda_.CfnFunction = function.node.default_child  # type: ignore[assignment]
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        # Asynchronous invocations only (the stream's failures go to the mapping's
        # destination); set here so the CDK adds no key grant beyond the explicit statements.
        cfn_function.add_property_override("DeadLetterConfig.TargetArn", self.failures.queue_arn)
        skip_check(
            function,
            "CKV_AWS_117",
            "The function reaches only AWS APIs (Kinesis, DynamoDB, SNS, SQS) over TLS; a VPC "
            "would add NAT gateways or endpoints and cold-start cost for no isolation gain.",
        )
        return function
