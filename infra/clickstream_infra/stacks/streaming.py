"""Streaming: the Kinesis stream, Firehose into the bronze prefix, and the ingest DLQ."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from clickstream_infra import names
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.common import allow_log_encryption, customer_key, encrypted_log_group
from clickstream_infra.stacks.lake import LakeStack
from streaming.contracts.settings import Settings

MIB = 1024 * 1024
# Firehose requires a buffer of at least 64 MiB once dynamic partitioning is on; the interval
# (60 s, as the settings say) is what flushes at the project's event rates.
DYNAMIC_PARTITIONING_MIN_BUFFER_MIB = 64
PARTITION_KEY = "events_type"
PARTITION_QUERY = "{" + PARTITION_KEY + ": .event_type}"
DELIVERY_LOG_STREAM = "S3Delivery"


def bronze_prefix(settings: Settings) -> str:
    """Firehose's S3 prefix: the layout of ``streaming.contracts.landing.bronze_key``."""
    return (
        f"{settings.landing_bronze_prefix}/{PARTITION_KEY}=!{{partitionKeyFromQuery:{PARTITION_KEY}}}"
        "/ingest_dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/"
    )


def error_prefix(settings: Settings) -> str:
    return (
        f"{settings.landing_error_prefix}/!{{firehose:error-output-type}}"
        "/ingest_dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/"
    )


def buffer_size_mib(settings: Settings) -> int:
    return max(DYNAMIC_PARTITIONING_MIN_BUFFER_MIB, -(-settings.delivery.buffer_bytes // MIB))


class StreamingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        config: DeploymentConfig,
        lake: LakeStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.key = customer_key(
            self, names.key_alias(settings, "stream"), "clickstream stream, DLQ, delivery logs"
        )
        allow_log_encryption(self.key)
        self.stream = kinesis.Stream(
            self,
            "Events",
            stream_name=settings.stream_name,
            stream_mode=kinesis.StreamMode.ON_DEMAND,
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=self.key,
            retention_period=Duration.hours(config.kinesis_retention_hours),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.dlq = sqs.Queue(
            self,
            "IngestDlq",
            queue_name=settings.dlq_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            data_key_reuse=Duration.hours(1),
            retention_period=Duration.days(config.dlq_retention_days),
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Events the ingest function's own async invocations fail on (API Gateway invokes it
        # synchronously, so this stays empty unless someone invokes it asynchronously); kept
        # apart from the application's DLQ so that one holds only replayable events.
        self.invocation_dlq = sqs.Queue(
            self,
            "InvocationDlq",
            queue_name=names.invocation_dlq_name(settings),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            data_key_reuse=Duration.hours(1),
            retention_period=Duration.days(config.dlq_retention_days),
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.delivery_log_group = encrypted_log_group(
            self, "DeliveryLogs", names.delivery_log_group_name(settings), self.key, config
        )
        logs.LogStream(
            self,
            "DeliveryLogStream",
            log_group=self.delivery_log_group,
            log_stream_name=DELIVERY_LOG_STREAM,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.delivery = self._delivery_stream(lake)

    def _delivery_role(self, lake: LakeStack) -> iam.Role:
        role = iam.Role(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com",
                conditions={"StringEquals": {"sts:ExternalId": self.account}},
            ),
            description="Firehose: read the event stream, write the bronze bucket",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadEventStream",
                actions=[
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords",
                    "kinesis:ListShards",
                ],
                resources=[self.stream.stream_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DecryptEventStream",
                actions=["kms:Decrypt"],
                resources=[self.key.key_arn],
            )
        )
        bronze = lake.bronze
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteBronze",
                actions=[
                    "s3:AbortMultipartUpload",
                    "s3:GetBucketLocation",
                    "s3:GetObject",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                    "s3:PutObject",
                ],
                resources=[bronze.bucket_arn, bronze.arn_for_objects("*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="EncryptBronze",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[lake.key.key_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteDeliveryLogs",
                actions=["logs:PutLogEvents"],
                resources=[
                    self.delivery_log_group.log_group_arn,
                    f"{self.delivery_log_group.log_group_arn}:log-stream:{DELIVERY_LOG_STREAM}",
                ],
            )
        )
        return role

    def _delivery_stream(self, lake: LakeStack) -> firehose.CfnDeliveryStream:
        role = self._delivery_role(lake)
        settings = self.settings
        delivery = firehose.CfnDeliveryStream(
            self,
            "BronzeDelivery",
            delivery_stream_name=settings.delivery_stream_name,
            delivery_stream_type="KinesisStreamAsSource",
            kinesis_stream_source_configuration=firehose.CfnDeliveryStream.KinesisStreamSourceConfigurationProperty(
                kinesis_stream_arn=self.stream.stream_arn, role_arn=role.role_arn
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=lake.bronze.bucket_arn,
                role_arn=role.role_arn,
                prefix=bronze_prefix(settings),
                error_output_prefix=error_prefix(settings),
                compression_format="GZIP",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=settings.delivery.buffer_seconds,
                    size_in_m_bs=buffer_size_mib(settings),
                ),
                encryption_configuration=firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
                    kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                        awskms_key_arn=lake.key.key_arn
                    )
                ),
                dynamic_partitioning_configuration=firehose.CfnDeliveryStream.DynamicPartitioningConfigurationProperty(
                    enabled=True,
                    retry_options=firehose.CfnDeliveryStream.RetryOptionsProperty(
                        duration_in_seconds=300
                    ),
                ),
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="MetadataExtraction",
                            parameters=[
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="MetadataExtractionQuery",
                                    parameter_value=PARTITION_QUERY,
                                ),
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="JsonParsingEngine",
                                    parameter_value="JQ-1.6",
                                ),
                            ],
                        ),
                        # a newline after each record: the NDJSON framing of the landing objects
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="AppendDelimiterToRecord"
                        ),
                    ],
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True,
                    log_group_name=self.delivery_log_group.log_group_name,
                    log_stream_name=DELIVERY_LOG_STREAM,
                ),
            ),
        )
        # The role's policy must exist before Firehose first reads the stream.
        delivery.node.add_dependency(role.node.find_child("DefaultPolicy"))
        return delivery
