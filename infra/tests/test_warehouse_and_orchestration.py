"""Redshift Serverless and its streaming role; the Dagster role scoped to the lake's resources."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from clickstream_infra import names
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.warehouse import STREAM_READ_ACTIONS
from streaming.contracts.settings import Settings


def _statements(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    statements = {}
    for resource in template.find_resources(resource_type).values():
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            statements[statement["Sid"]] = statement
    return statements


def test_redshift_serverless_is_private_encrypted_and_8_rpu(
    templates: dict[str, Template], settings: Settings, config: DeploymentConfig
) -> None:
    templates["warehouse"].has_resource_properties(
        "AWS::RedshiftServerless::Namespace",
        {
            "NamespaceName": settings.redshift_namespace,
            "KmsKeyId": Match.any_value(),
            "ManageAdminPassword": True,
            "AdminPasswordSecretKmsKeyId": Match.any_value(),
            "LogExports": ["userlog", "connectionlog", "useractivitylog"],
            "IamRoles": Match.any_value(),
        },
    )
    templates["warehouse"].has_resource_properties(
        "AWS::RedshiftServerless::Workgroup",
        {
            "WorkgroupName": settings.redshift_workgroup,
            "NamespaceName": settings.redshift_namespace,
            "BaseCapacity": 8,
            "MaxCapacity": config.redshift_max_rpu,
            "PubliclyAccessible": False,
            "ConfigParameters": Match.array_with(
                [{"ParameterKey": "require_ssl", "ParameterValue": "true"}]
            ),
        },
    )


def test_streaming_role_is_assumed_by_redshift_and_only_reads_the_stream(
    templates: dict[str, Template], settings: Settings
) -> None:
    templates["warehouse"].has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": settings.redshift_streaming_role_name,
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {
                                "Service": [
                                    "redshift-serverless.amazonaws.com",
                                    "redshift.amazonaws.com",
                                ]
                            }
                        }
                    )
                ]
            },
        },
    )
    statements = _statements(templates["warehouse"], "AWS::IAM::Policy")
    assert set(statements["ReadEventStream"]["Action"]) == set(STREAM_READ_ACTIONS)
    assert statements["DecryptEventStream"]["Action"] == "kms:Decrypt"


def test_dagster_reads_landing_and_writes_only_curated_buckets(
    templates: dict[str, Template], settings: Settings
) -> None:
    templates["orchestration"].has_resource_properties(
        "AWS::IAM::Role", {"RoleName": names.dagster_role_name(settings)}
    )
    statements = _statements(templates["orchestration"], "AWS::IAM::ManagedPolicy")
    writes = str(statements["ReadWriteLakeTables"]["Resource"])
    for purpose in ("silver", "gold", "athena-results"):
        assert purpose.replace("-", "").lower() in writes.replace("-", "").lower()
    assert "Bronze" not in writes and "Quarantine" not in writes
    assert "s3:PutObject" not in statements["ReadLanding"]["Action"]


def test_dagster_catalog_and_query_rights_name_the_databases_and_workgroup(
    templates: dict[str, Template], settings: Settings
) -> None:
    statements = _statements(templates["orchestration"], "AWS::IAM::ManagedPolicy")
    catalog = str(statements["WriteLakeTables"]["Resource"])
    for database in settings.glue_databases:
        assert f"database/{database}" in catalog
        assert f"table/{database}/*" in catalog
    assert f"workgroup/{settings.athena_workgroup}" in str(
        statements["QueryInWorkgroup"]["Resource"]
    )
    assert "WorkgroupArn" in str(statements["RunStatementsInWorkgroup"]["Resource"])
