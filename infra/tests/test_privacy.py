"""Erasure on S3: a privacy request rewrites landing objects and Iceberg files, and the buckets
are versioned, so the erased bytes stay in noncurrent versions until a lifecycle rule expires
them. Every bucket that can hold a user's rows must expire them, for every key, within the
bound ``docs/privacy.md`` promises."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from streaming.contracts.settings import Settings

ERASED_BYTES_GONE_WITHIN_DAYS = 30
USER_DATA_BUCKETS = ("bronze", "quarantine", "silver", "gold", "athena-results")


def _rules(template: Template, name: str) -> list[dict[str, Any]]:
    (bucket,) = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"BucketName": name}}
    ).values()
    return bucket["Properties"]["LifecycleConfiguration"]["Rules"]


def test_every_bucket_with_user_data_expires_noncurrent_versions_of_every_key(
    templates: dict[str, Template], settings: Settings
) -> None:
    for purpose in USER_DATA_BUCKETS:
        expiring = [
            rule
            for rule in _rules(templates["lake"], settings.bucket_name(purpose))
            if rule["Status"] == "Enabled"
            and "NoncurrentVersionExpiration" in rule
            and not rule.get("Prefix")
            and not rule.get("Filter")
        ]
        assert expiring, f"{purpose}: no rule expires the noncurrent versions of every key"
        days = min(rule["NoncurrentVersionExpiration"]["NoncurrentDays"] for rule in expiring)
        assert days <= ERASED_BYTES_GONE_WITHIN_DAYS, purpose
