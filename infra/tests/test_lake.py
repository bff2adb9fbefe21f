"""Lake: lifecycle of the landing data, Glue databases, the Athena workgroup's guards."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from clickstream_infra.config import DeploymentConfig
from streaming.contracts.settings import Settings


def _bucket(template: Template, name: str) -> dict[str, Any]:
    (bucket,) = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"BucketName": name}}
    ).values()
    return bucket["Properties"]


def _rules(template: Template, name: str) -> dict[str, dict[str, Any]]:
    rules = _bucket(template, name)["LifecycleConfiguration"]["Rules"]
    return {rule["Id"]: rule for rule in rules}


def test_bronze_tiers_after_7_days_and_goes_to_glacier_after_90(
    templates: dict[str, Template], settings: Settings
) -> None:
    for purpose in ("bronze", "quarantine"):
        rule = _rules(templates["lake"], settings.bucket_name(purpose))["tier-raw-landing"]
        assert rule["Status"] == "Enabled"
        assert rule["Transitions"] == [
            {"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 7},
            {"StorageClass": "GLACIER", "TransitionInDays": 90},
        ]


def test_every_bucket_expires_old_versions_and_abandoned_uploads(
    templates: dict[str, Template], settings: Settings
) -> None:
    for purpose in ("bronze", "silver", "gold", "quarantine", "athena-results"):
        rule = _rules(templates["lake"], settings.bucket_name(purpose))["housekeeping"]
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
        assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_curated_tables_are_never_tiered_away(
    templates: dict[str, Template], settings: Settings
) -> None:
    for purpose in ("silver", "gold"):
        assert set(_rules(templates["lake"], settings.bucket_name(purpose))) == {"housekeeping"}


def test_query_results_expire_after_30_days(
    templates: dict[str, Template], settings: Settings
) -> None:
    rules = _rules(templates["lake"], settings.bucket_name("athena-results"))
    assert rules["expire-query-results"]["ExpirationInDays"] == 30


def test_glue_databases_of_the_lake_and_the_mart(
    templates: dict[str, Template], settings: Settings
) -> None:
    lake, mart = settings.glue_databases
    for name, bucket in ((lake, "silver"), (mart, "gold")):
        templates["lake"].has_resource_properties(
            "AWS::Glue::Database",
            {
                "CatalogId": settings.account_id,
                "DatabaseInput": {
                    "Name": name,
                    "LocationUri": f"s3://{settings.bucket_name(bucket)}/{name}/",
                },
            },
        )
    templates["lake"].has_resource_properties(
        "AWS::Glue::DataCatalogEncryptionSettings",
        {
            "DataCatalogEncryptionSettings": {
                "EncryptionAtRest": {"CatalogEncryptionMode": "SSE-KMS"},
                "ConnectionPasswordEncryption": {"ReturnConnectionPasswordEncrypted": True},
            }
        },
    )


def test_athena_workgroup_engine_v3_encrypted_results_and_a_scan_limit(
    templates: dict[str, Template], settings: Settings, config: DeploymentConfig
) -> None:
    templates["lake"].has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "Name": settings.athena_workgroup,
            "State": "ENABLED",
            "WorkGroupConfiguration": {
                "EnforceWorkGroupConfiguration": True,
                "PublishCloudWatchMetricsEnabled": True,
                "BytesScannedCutoffPerQuery": config.athena_bytes_scanned_cutoff_per_query,
                "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
                "ResultConfiguration": {
                    "OutputLocation": Match.string_like_regexp(
                        f"^s3://{settings.bucket_name('athena-results')}/"
                    ),
                    "EncryptionConfiguration": {
                        "EncryptionOption": "SSE_KMS",
                        "KmsKey": Match.any_value(),
                    },
                },
            },
        },
    )
    assert config.athena_bytes_scanned_cutoff_per_query == 10 * 1024**3
