"""Alerts: the rule function on the stream (bisect, partial failures, an on-failure queue),
its SNS topic, its claims table, and the same rules as the settings."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk.assertions import Match, Template

from clickstream_infra.app import Deployment
from clickstream_infra.stacks.alerts import (
    CLAIM_TTL_ATTRIBUTE,
    DEDUP_TABLE_VARIABLE,
    TOPIC_ARN_VARIABLE,
)
from streaming.contracts.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
HANDLER_MODULE = REPO_ROOT / "streaming" / "alerts" / "lambda_handler.py"


def _function(template: Template, settings: Settings) -> dict:
    (function,) = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"FunctionName": settings.alerts_function_name}}
    ).values()
    return function["Properties"]


def test_the_function_runs_the_alert_handler_with_the_settings_rules(
    templates: dict[str, Template], settings: Settings
) -> None:
    properties = _function(templates["alerts"], settings)
    assert properties["Handler"] == "streaming.alerts.lambda_handler.handler"
    assert HANDLER_MODULE.exists()
    assert f'TOPIC_ARN_VARIABLE = "{TOPIC_ARN_VARIABLE}"' in HANDLER_MODULE.read_text()
    variables = properties["Environment"]["Variables"]
    assert json.loads(variables["CLICKSTREAM_ALERTS__RULES"]) == [
        rule.model_dump(mode="json") for rule in settings.alerts.rules
    ]
    assert variables["CLICKSTREAM_STAGE"] == settings.stage
    assert TOPIC_ARN_VARIABLE in variables
    assert "KmsKeyArn" in properties
    assert "DeadLetterConfig" in properties


def test_the_mapping_bisects_reports_partial_failures_and_has_a_failure_queue(
    templates: dict[str, Template], settings: Settings
) -> None:
    template = templates["alerts"]
    (queue_id,) = template.find_resources(
        "AWS::SQS::Queue", {"Properties": {"QueueName": settings.alerts_failure_queue_name}}
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BisectBatchOnFunctionError": True,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "StartingPosition": "LATEST",
            "MaximumRetryAttempts": Match.any_value(),
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
            "EventSourceArn": Match.any_value(),
        },
    )


def test_the_topic_is_encrypted_and_the_function_may_publish_to_it(
    templates: dict[str, Template], settings: Settings
) -> None:
    template = templates["alerts"]
    (topic_id,) = template.find_resources(
        "AWS::SNS::Topic",
        {
            "Properties": {
                "TopicName": settings.alerts_topic_name,
                "KmsMasterKeyId": Match.any_value(),
            }
        },
    )
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any(
        statement["Action"] == "sns:Publish" and statement["Resource"] == {"Ref": topic_id}
        for statement in statements
    )
    reads = [s for s in statements if "kinesis:GetRecords" in s.get("Action", [])]
    assert reads, "the function reads the stream"


def test_the_alerts_stack_is_deployed_after_the_stream(deployment: Deployment) -> None:
    assert deployment.streaming in deployment.alerts.dependencies


def _statements(template: Template) -> list[dict]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_claims_table_is_keyed_by_alert_id_expires_and_is_encrypted_and_recoverable(
    templates: dict[str, Template], settings: Settings
) -> None:
    template = templates["alerts"]
    (key_id,) = template.find_resources("AWS::KMS::Key")
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": settings.alerts_dedup_table_name,
            "KeySchema": [{"AttributeName": "alert_id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": CLAIM_TTL_ATTRIBUTE, "Enabled": True},
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            },
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )


def test_the_function_claims_in_its_table_only_and_knows_its_name_and_lease(
    templates: dict[str, Template], settings: Settings
) -> None:
    template = templates["alerts"]
    (table_id,) = template.find_resources("AWS::DynamoDB::Table")
    claims = [s for s in _statements(template) if str(s["Action"]).startswith("['dynamodb:")]
    assert claims == [
        {
            "Sid": "ClaimAlerts",
            "Effect": "Allow",
            "Action": [
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
            ],
            "Resource": {"Fn::GetAtt": [table_id, "Arn"]},
        }
    ]
    properties = _function(template, settings)
    variables = properties["Environment"]["Variables"]
    assert variables[DEDUP_TABLE_VARIABLE] == {"Ref": table_id}
    assert DEDUP_TABLE_VARIABLE == "CLICKSTREAM_ALERTS__DEDUP_TABLE"
    assert "dedup_table" in type(settings.alerts).model_fields
    # a pending claim expires only once the invocation that made it has timed out
    assert int(variables["CLICKSTREAM_ALERTS__CLAIM_LEASE_S"]) >= properties["Timeout"]
