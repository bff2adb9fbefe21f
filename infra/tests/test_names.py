"""Every resource name the application expects exists, with that name, in the templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from clickstream_infra import names
from clickstream_infra.app import Deployment
from clickstream_infra.stacks.ingest import function_environment
from clickstream_infra.stacks.lake import BUCKET_PURPOSES
from streaming.contracts.settings import Settings


def _named(templates: dict[str, Template], resource_type: str, prop: str) -> set[Any]:
    found = set()
    for template in templates.values():
        for resource in template.find_resources(resource_type).values():
            value = resource["Properties"].get(prop)
            found.add(value["Name"] if isinstance(value, dict) else value)
    return found


def expected_names(settings: Settings) -> list[tuple[str, str, str]]:
    """(resource type, name property, name) for each name the application code resolves."""
    lake, mart = settings.glue_databases
    delivery = "AWS::KinesisFirehose::DeliveryStream"
    return [
        ("AWS::Kinesis::Stream", "Name", settings.stream_name),
        (delivery, "DeliveryStreamName", settings.delivery_stream_name),
        ("AWS::SQS::Queue", "QueueName", settings.dlq_name),
        *[
            ("AWS::S3::Bucket", "BucketName", settings.bucket_name(purpose))
            for purpose in BUCKET_PURPOSES
        ],
        ("AWS::Glue::Database", "DatabaseInput", lake),
        ("AWS::Glue::Database", "DatabaseInput", mart),
        ("AWS::Athena::WorkGroup", "Name", settings.athena_workgroup),
        ("AWS::RedshiftServerless::Workgroup", "WorkgroupName", settings.redshift_workgroup),
        ("AWS::RedshiftServerless::Namespace", "NamespaceName", settings.redshift_namespace),
        ("AWS::IAM::Role", "RoleName", settings.redshift_streaming_role_name),
        ("AWS::SecretsManager::Secret", "Name", settings.hmac_secret_name),
        ("AWS::DynamoDB::Table", "TableName", settings.alerts_dedup_table_name),
    ]


def test_every_application_name_is_deployed(
    templates: dict[str, Template], settings: Settings
) -> None:
    for resource_type, prop, name in expected_names(settings):
        assert name in _named(templates, resource_type, prop), (resource_type, name)


def test_bucket_names_carry_the_account_and_region(settings: Settings) -> None:
    for purpose in BUCKET_PURPOSES:
        assert settings.bucket_name(purpose).endswith(f"-{settings.account_id}-{settings.region}")


def test_stream_arn_of_the_settings_is_the_deployed_stream(
    templates: dict[str, Template], settings: Settings
) -> None:
    prefix, _, name = settings.stream_arn.rpartition("/")
    assert prefix == f"arn:aws:kinesis:{settings.region}:{settings.account_id}:stream"
    assert name in _named(templates, "AWS::Kinesis::Stream", "Name")


def test_redshift_role_arn_of_the_settings_names_the_deployed_role(settings: Settings) -> None:
    assert settings.redshift_streaming_role_arn.endswith(
        f":role/{settings.redshift_streaming_role_name}"
    )


def test_the_function_resolves_the_same_names_from_its_environment(
    templates: dict[str, Template], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    functions = templates["ingest"].find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"FunctionName": names.ingest_function_name(settings)}},
    )
    (function,) = functions.values()
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables == {**variables, **function_environment(settings)}
    for variable, value in variables.items():
        if isinstance(value, str) and variable.startswith("CLICKSTREAM_"):
            monkeypatch.setenv(variable, value)
    resolved = Settings(_env_file=None)
    assert resolved.env == "aws"
    for attribute in ("stream_name", "stream_arn", "delivery_stream_name", "dlq_name"):
        assert getattr(resolved, attribute) == getattr(settings, attribute)
    assert resolved.bucket_name("bronze") == settings.bucket_name("bronze")
    assert resolved.hmac_secret_name == settings.hmac_secret_name
    assert names.HMAC_SECRET_ARN_VARIABLE in variables
    assert names.API_KEYS_SECRET_ARN_VARIABLE in variables
    assert function["Properties"]["Handler"] == names.INGEST_HANDLER


def test_deployment_knobs_come_from_cdk_context() -> None:
    from clickstream_infra.config import DeploymentConfig

    config = DeploymentConfig.from_context(
        {"ingest_active_tracing": "false", "redshift_max_rpu": "64", "alarm_email": None}
    )
    assert config.ingest_active_tracing is False
    assert config.redshift_max_rpu == 64
    assert config.alarm_email == ""


def test_synthesis_raises_no_warnings_or_errors(deployment: Deployment) -> None:
    directory = Path(deployment.app.synth().directory)
    messages = [
        (path.name, entry.get("data"))
        for path in directory.glob("*.metadata.json")
        for entries in json.loads(path.read_text()).values()
        for entry in entries
        if entry["type"] in ("aws:cdk:warning", "aws:cdk:error")
    ]
    assert list(directory.glob("*.metadata.json"))
    assert messages == []
