"""Streaming: on-demand encrypted Kinesis, Firehose landing the seed's bronze layout, the DLQ."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aws_cdk.assertions import Match, Template

from clickstream_infra import names
from clickstream_infra.stacks.streaming import bronze_prefix, error_prefix
from streaming.contracts.landing import bronze_key
from streaming.contracts.settings import Settings


def _destination(template: Template) -> dict[str, Any]:
    (delivery,) = template.find_resources("AWS::KinesisFirehose::DeliveryStream").values()
    return delivery["Properties"]["ExtendedS3DestinationConfiguration"]


def test_stream_is_on_demand_kms_encrypted_with_a_day_of_retention(
    templates: dict[str, Template], settings: Settings
) -> None:
    templates["streaming"].has_resource_properties(
        "AWS::Kinesis::Stream",
        {
            "Name": settings.stream_name,
            "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
            "StreamEncryption": {"EncryptionType": "KMS", "KeyId": Match.any_value()},
            "RetentionPeriodHours": 24,
        },
    )


def test_firehose_reads_the_stream_and_writes_gzip_to_bronze(
    templates: dict[str, Template], settings: Settings
) -> None:
    templates["streaming"].has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "DeliveryStreamName": settings.delivery_stream_name,
            "DeliveryStreamType": "KinesisStreamAsSource",
            "KinesisStreamSourceConfiguration": {"KinesisStreamARN": Match.any_value()},
        },
    )
    destination = _destination(templates["streaming"])
    assert destination["CompressionFormat"] == "GZIP"
    assert "bronze" in str(destination["BucketARN"]).lower()
    assert destination["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"]
    assert destination["CloudWatchLoggingOptions"]["Enabled"] is True


def test_buffering_is_60_s_and_the_smallest_size_dynamic_partitioning_allows(
    templates: dict[str, Template], settings: Settings
) -> None:
    hints = _destination(templates["streaming"])["BufferingHints"]
    assert hints["IntervalInSeconds"] == settings.delivery.buffer_seconds == 60
    # 5 MiB in the settings; Firehose requires >= 64 MiB with dynamic partitioning.
    assert hints["SizeInMBs"] == 64


def test_dynamic_partitioning_extracts_the_event_type_with_jq(
    templates: dict[str, Template],
) -> None:
    destination = _destination(templates["streaming"])
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    processors = {p["Type"]: p for p in destination["ProcessingConfiguration"]["Processors"]}
    assert set(processors) == {"MetadataExtraction", "AppendDelimiterToRecord"}
    assert "Parameters" not in processors["AppendDelimiterToRecord"]  # newline, the default
    parameters = {
        p["ParameterName"]: p["ParameterValue"]
        for p in processors["MetadataExtraction"]["Parameters"]
    }
    assert parameters == {
        "MetadataExtractionQuery": "{events_type: .event_type}",
        "JsonParsingEngine": "JQ-1.6",
    }


def _render(prefix: str, event_type: str, arrival: datetime) -> str:
    return (
        prefix.replace("!{partitionKeyFromQuery:events_type}", event_type)
        .replace("!{timestamp:yyyy-MM-dd}", f"{arrival:%Y-%m-%d}")
        .replace("!{timestamp:HH}", f"{arrival:%H}")
    )


def test_firehose_prefix_is_the_layout_the_lake_reads(
    templates: dict[str, Template], settings: Settings
) -> None:
    destination = _destination(templates["streaming"])
    assert destination["Prefix"] == bronze_prefix(settings)
    arrival = datetime(2026, 11, 23, 7, 5, 9, tzinfo=UTC)
    for event_type in ("page_view", "chart_interaction", "affiliate_click"):
        key = bronze_key(settings, event_type, arrival, "0f1e2d3c")
        rendered = _render(destination["Prefix"], event_type, arrival)
        assert rendered == f"bronze/events_type={event_type}/ingest_dt=2026-11-23/hour=07/"
        assert key.startswith(rendered)
        # Firehose names objects <stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<id>.gz
        assert re.fullmatch(
            rf"{settings.delivery_stream_name}-\d+-2026-11-23-07-05-09-[0-9a-f-]+\.gz",
            key.removeprefix(rendered),
        )


def test_failed_records_land_under_the_error_prefix(
    templates: dict[str, Template], settings: Settings
) -> None:
    destination = _destination(templates["streaming"])
    assert destination["ErrorOutputPrefix"] == error_prefix(settings)
    assert destination["ErrorOutputPrefix"].startswith(f"{settings.landing_error_prefix}/")
    assert "!{firehose:error-output-type}" in destination["ErrorOutputPrefix"]


def test_dead_letter_queues_are_encrypted_and_keep_messages_14_days(
    templates: dict[str, Template], settings: Settings
) -> None:
    for name in (settings.dlq_name, names.invocation_dlq_name(settings)):
        templates["streaming"].has_resource_properties(
            "AWS::SQS::Queue",
            {
                "QueueName": name,
                "KmsMasterKeyId": Match.any_value(),
                "MessageRetentionPeriod": 14 * 24 * 3600,
            },
        )


def test_firehose_role_reads_only_the_stream_and_writes_only_bronze(
    templates: dict[str, Template],
) -> None:
    (policy,) = templates["streaming"].find_resources("AWS::IAM::Policy").values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {
        "ReadEventStream",
        "DecryptEventStream",
        "WriteBronze",
        "EncryptBronze",
        "WriteDeliveryLogs",
    }
    assert "kinesis:PutRecords" not in statements["ReadEventStream"]["Action"]
    assert "s3:DeleteObject" not in statements["WriteBronze"]["Action"]
