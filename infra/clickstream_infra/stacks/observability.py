"""Observability: the alarm topic, an alarm per failure mode of the pipeline, one dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from clickstream_infra import names
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.common import customer_key
from clickstream_infra.stacks.ingest import IngestStack
from streaming.contracts.settings import Settings

PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    description: str
    metric: cloudwatch.Metric
    threshold: float
    comparison: cloudwatch.ComparisonOperator = (
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    )
    evaluation_periods: int = 1
    missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING


class ObservabilityStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        config: DeploymentConfig,
        ingest: IngestStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.config = config
        self.key = customer_key(self, names.key_alias(settings, "alarms"), "clickstream alarms")
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Alarms",
            topic_name=names.alarm_topic_name(settings),
            display_name=f"{settings.resource_prefix} alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for spec in self._alarm_specs(ingest):
            alarm = cloudwatch.Alarm(
                self,
                spec.name,
                alarm_name=names.alarm_name(settings, spec.name),
                alarm_description=spec.description,
                metric=spec.metric,
                threshold=spec.threshold,
                comparison_operator=spec.comparison,
                evaluation_periods=spec.evaluation_periods,
                treat_missing_data=spec.missing,
            )
            alarm.add_alarm_action(actions.SnsAction(self.topic))
            alarm.add_ok_action(actions.SnsAction(self.topic))
            self.alarms[spec.name] = alarm
        self.dashboard = self._dashboard()
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.topic.topic_arn,
            description="Subscribe on-call here (or deploy with -c alarm_email=...)",
        )

    def _alarm_specs(self, ingest: IngestStack) -> list[AlarmSpec]:
        settings = self.settings
        api = {"ApiId": ingest.api.api_id, "Stage": "$default"}
        function = {"FunctionName": names.ingest_function_name(settings)}
        stream = {"StreamName": settings.stream_name}
        delivery = {"DeliveryStreamName": settings.delivery_stream_name}
        queue = {"QueueName": settings.dlq_name}
        invocation_queue = {"QueueName": names.invocation_dlq_name(settings)}
        alerts_function = {"FunctionName": settings.alerts_function_name}
        alerts_failures = {"QueueName": settings.alerts_failure_queue_name}

        def metric(namespace: str, name: str, dims: dict[str, str], stat: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=namespace,
                metric_name=name,
                dimensions_map=dims,
                statistic=stat,
                period=PERIOD,
            )

        return [
            AlarmSpec(
                "api-5xx",
                "The ingest API answered 5XX: events are being lost or retried by clients.",
                metric("AWS/ApiGateway", "5xx", api, "Sum"),
                threshold=10,
            ),
            AlarmSpec(
                "ingest-errors",
                "The ingest function raised errors.",
                metric("AWS/Lambda", "Errors", function, "Sum"),
                threshold=5,
            ),
            AlarmSpec(
                "ingest-throttles",
                "The ingest function was throttled: raise its reserved concurrency.",
                metric("AWS/Lambda", "Throttles", function, "Sum"),
                threshold=1,
            ),
            AlarmSpec(
                "stream-iterator-age",
                "A stream consumer (Firehose, Redshift) lags more than 5 minutes behind.",
                metric("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", stream, "Maximum"),
                threshold=5 * 60 * 1000,
                evaluation_periods=2,
            ),
            AlarmSpec(
                "stream-write-throttles",
                "Writes to the stream were throttled (on-demand capacity is adapting).",
                metric("AWS/Kinesis", "WriteProvisionedThroughputExceeded", stream, "Sum"),
                threshold=10,
            ),
            AlarmSpec(
                "delivery-freshness",
                "The oldest record not yet in bronze is older than 15 minutes.",
                metric("AWS/Firehose", "DeliveryToS3.DataFreshness", delivery, "Maximum"),
                threshold=15 * 60,
                evaluation_periods=2,
            ),
            AlarmSpec(
                "delivery-failures",
                "Firehose failed to deliver to the bronze bucket.",
                metric("AWS/Firehose", "DeliveryToS3.Success", delivery, "Minimum"),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            ),
            AlarmSpec(
                "dlq-depth",
                "Events are waiting in the ingest dead-letter queue: replay them.",
                metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, "Maximum"),
                threshold=1,
            ),
            AlarmSpec(
                "invocation-dlq-depth",
                "Asynchronous invocations of the ingest function failed.",
                metric(
                    "AWS/SQS", "ApproximateNumberOfMessagesVisible", invocation_queue, "Maximum"
                ),
                threshold=1,
            ),
            AlarmSpec(
                "alerts-errors",
                "The alert function failed on a batch of the stream (it is bisected and retried).",
                metric("AWS/Lambda", "Errors", alerts_function, "Sum"),
                threshold=1,
            ),
            AlarmSpec(
                "alerts-iterator-age",
                "The alert function lags behind the stream: alerts arrive late.",
                metric("AWS/Lambda", "IteratorAge", alerts_function, "Maximum"),
                threshold=self.config.alerts_iterator_age_alarm_ms,
                evaluation_periods=2,
            ),
            AlarmSpec(
                "alerts-failures-depth",
                "Stream batches the alert function gave up on wait in its failure queue.",
                metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", alerts_failures, "Maximum"),
                threshold=1,
            ),
        ]

    def _dashboard(self) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=names.dashboard_name(self.settings)
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="alarms", alarms=list(self.alarms.values()), width=24, height=3
            )
        )
        widgets = [
            cloudwatch.GraphWidget(
                title=name,
                left=[alarm.metric],
                left_annotations=[alarm.to_annotation()],
                width=8,
            )
            for name, alarm in self.alarms.items()
        ]
        for start in range(0, len(widgets), 3):
            dashboard.add_widgets(*widgets[start : start + 3])
        return dashboard
