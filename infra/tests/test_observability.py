"""Observability: an alarm per failure mode, all to the encrypted SNS topic; a dashboard."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template

from clickstream_infra import names
from streaming.contracts.settings import Settings

# alarm -> (namespace, metric, the dimension naming the watched resource)
ALARMS = {
    "api-5xx": ("AWS/ApiGateway", "5xx", "ApiId"),
    "ingest-errors": ("AWS/Lambda", "Errors", "FunctionName"),
    "ingest-throttles": ("AWS/Lambda", "Throttles", "FunctionName"),
    "stream-iterator-age": ("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName"),
    "stream-write-throttles": ("AWS/Kinesis", "WriteProvisionedThroughputExceeded", "StreamName"),
    "delivery-freshness": ("AWS/Firehose", "DeliveryToS3.DataFreshness", "DeliveryStreamName"),
    "delivery-failures": ("AWS/Firehose", "DeliveryToS3.Success", "DeliveryStreamName"),
    "dlq-depth": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName"),
    "invocation-dlq-depth": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName"),
    "alerts-errors": ("AWS/Lambda", "Errors", "FunctionName"),
    "alerts-iterator-age": ("AWS/Lambda", "IteratorAge", "FunctionName"),
    "alerts-failures-depth": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName"),
}


def test_every_alarm_is_present_and_notifies_the_topic(
    templates: dict[str, Template], settings: Settings
) -> None:
    template = templates["observability"]
    template.resource_count_is("AWS::CloudWatch::Alarm", len(ALARMS))
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    for alarm, (namespace, metric, dimension) in ALARMS.items():
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "AlarmName": names.alarm_name(settings, alarm),
                "Namespace": namespace,
                "MetricName": metric,
                "Dimensions": Match.array_with([Match.object_like({"Name": dimension})]),
                "AlarmActions": [{"Ref": topic_id}],
                "OKActions": [{"Ref": topic_id}],
                "TreatMissingData": "notBreaching",
            },
        )


def test_alarms_watch_the_resources_the_settings_name(
    templates: dict[str, Template], settings: Settings
) -> None:
    watched = {
        "StreamName": {settings.stream_name},
        "DeliveryStreamName": {settings.delivery_stream_name},
        "FunctionName": {names.ingest_function_name(settings), settings.alerts_function_name},
        "QueueName": {
            settings.dlq_name,
            names.invocation_dlq_name(settings),
            settings.alerts_failure_queue_name,
        },
    }
    for alarm in templates["observability"].find_resources("AWS::CloudWatch::Alarm").values():
        for dimension in alarm["Properties"]["Dimensions"]:
            if dimension["Name"] in watched:
                assert dimension["Value"] in watched[dimension["Name"]]


def test_thresholds_of_lag_and_freshness(
    templates: dict[str, Template], settings: Settings
) -> None:
    template = templates["observability"]
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"AlarmName": names.alarm_name(settings, "stream-iterator-age"), "Threshold": 300_000},
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": names.alarm_name(settings, "delivery-failures"),
            "Threshold": 1,
            "ComparisonOperator": "LessThanThreshold",
        },
    )


def test_alarm_topic_is_encrypted_and_a_dashboard_exists(
    templates: dict[str, Template], settings: Settings
) -> None:
    template = templates["observability"]
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": names.alarm_topic_name(settings), "KmsMasterKeyId": Match.any_value()},
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": names.dashboard_name(settings)}
    )
