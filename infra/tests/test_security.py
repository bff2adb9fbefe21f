"""Encryption everywhere, no public buckets, TLS only, least-privilege IAM, justified skips."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk.assertions import Template
from conftest import of_type

from clickstream_infra import names
from clickstream_infra.stacks.orchestration import REDSHIFT_DATA_OWN_STATEMENTS
from streaming.contracts.settings import Settings

Resources = list[tuple[str, str, dict[str, Any]]]

# Every resource type the deployment creates, and where it keeps data encrypted with a
# customer-managed key (None: the type holds no data at rest). A new type fails the test
# until someone decides how it is encrypted.
ENCRYPTION_PROPERTY: dict[str, str | None] = {
    "AWS::S3::Bucket": "BucketEncryption",
    "AWS::Kinesis::Stream": "StreamEncryption",
    "AWS::KinesisFirehose::DeliveryStream": "ExtendedS3DestinationConfiguration",
    "AWS::SQS::Queue": "KmsMasterKeyId",
    "AWS::SNS::Topic": "KmsMasterKeyId",
    "AWS::DynamoDB::Table": "SSESpecification",
    "AWS::SecretsManager::Secret": "KmsKeyId",
    "AWS::Logs::LogGroup": "KmsKeyId",
    "AWS::Lambda::Function": "KmsKeyArn",
    "AWS::RedshiftServerless::Namespace": "KmsKeyId",
    "AWS::Athena::WorkGroup": "WorkGroupConfiguration",
    "AWS::Glue::DataCatalogEncryptionSettings": "DataCatalogEncryptionSettings",
    "AWS::KMS::Key": None,
    "AWS::KMS::Alias": None,
    "AWS::S3::BucketPolicy": None,
    "AWS::SQS::QueuePolicy": None,
    "AWS::SNS::TopicPolicy": None,
    "AWS::IAM::Role": None,
    "AWS::IAM::Policy": None,
    "AWS::IAM::ManagedPolicy": None,
    "AWS::Logs::LogStream": None,
    "AWS::Lambda::LayerVersion": None,
    "AWS::Lambda::Permission": None,
    "AWS::Lambda::EventSourceMapping": None,
    "AWS::ApiGatewayV2::Api": None,
    "AWS::ApiGatewayV2::Integration": None,
    "AWS::ApiGatewayV2::Route": None,
    "AWS::ApiGatewayV2::Stage": None,
    "AWS::CloudFront::Distribution": None,
    "AWS::WAFv2::WebACL": None,
    "AWS::WAFv2::LoggingConfiguration": None,
    "AWS::Glue::Database": None,
    "AWS::RedshiftServerless::Workgroup": None,
    "AWS::CloudWatch::Alarm": None,
    "AWS::CloudWatch::Dashboard": None,
    "AWS::CDK::Metadata": None,
    # The dashboards: network, service and load balancer hold no data; the task's storage is
    # Fargate's ephemeral volume (encrypted by Fargate), /tmp only, the root filesystem read-only.
    "AWS::EC2::VPC": None,
    "AWS::EC2::Subnet": None,
    "AWS::EC2::RouteTable": None,
    "AWS::EC2::SubnetRouteTableAssociation": None,
    "AWS::EC2::VPCEndpoint": None,
    "AWS::EC2::SecurityGroup": None,
    "AWS::EC2::SecurityGroupIngress": None,
    "AWS::EC2::SecurityGroupEgress": None,
    "AWS::EC2::FlowLog": None,
    "AWS::ECS::Cluster": None,
    "AWS::ECS::TaskDefinition": None,
    "AWS::ECS::Service": None,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": None,
    "AWS::ElasticLoadBalancingV2::Listener": None,
    "AWS::ElasticLoadBalancingV2::TargetGroup": None,
}


def _is_key_reference(value: Any) -> bool:
    """A KMS key ARN taken from a key resource (never an AWS-managed alias)."""
    text = str(value)
    return bool(value) and "alias/aws/" not in text and ("Key" in text or "arn:aws:kms" in text)


def test_every_resource_type_has_an_encryption_decision(resources: Resources) -> None:
    unknown = {resource["Type"] for _, _, resource in resources} - set(ENCRYPTION_PROPERTY)
    assert not unknown, f"decide how these are encrypted: {sorted(unknown)}"


def test_every_data_store_uses_a_customer_managed_key(
    resources: Resources, settings: Settings
) -> None:
    access_logs = names.access_logs_bucket_name(settings)
    for _, logical_id, resource in resources:
        prop = ENCRYPTION_PROPERTY[resource["Type"]]
        if prop is None:
            continue
        properties = resource["Properties"]
        if properties.get("BucketName") == access_logs:
            # S3 server access logs can only be delivered to an SSE-S3 bucket.
            rule = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
            continue
        assert prop in properties, (logical_id, prop)
        assert _is_key_reference(properties[prop]), (logical_id, properties[prop])


def test_buckets_use_sse_kms_with_the_lake_key(resources: Resources, settings: Settings) -> None:
    buckets = [
        properties
        for _, resource in of_type(resources, "AWS::S3::Bucket")
        if (properties := resource["Properties"])["BucketName"]
        != names.access_logs_bucket_name(settings)
    ]
    assert len(buckets) == 5
    for properties in buckets:
        (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        default = rule["ServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == "aws:kms"
        assert "KMSMasterKeyID" in default
        assert rule["BucketKeyEnabled"] is True


def test_no_bucket_is_public_and_all_are_versioned_and_logged(
    resources: Resources, settings: Settings
) -> None:
    access_logs = names.access_logs_bucket_name(settings)
    for logical_id, resource in of_type(resources, "AWS::S3::Bucket"):
        properties = resource["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id
        assert "AccessControl" not in properties, logical_id
        if properties["BucketName"] != access_logs:
            assert "LoggingConfiguration" in properties, logical_id


def test_every_bucket_denies_requests_without_tls(resources: Resources) -> None:
    buckets = {logical_id for logical_id, _ in of_type(resources, "AWS::S3::Bucket")}
    tls_only = set()
    for _, policy in of_type(resources, "AWS::S3::BucketPolicy"):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                tls_only.add(policy["Properties"]["Bucket"]["Ref"])
    assert tls_only == buckets


def test_queues_and_topics_deny_requests_without_tls(resources: Resources) -> None:
    for policy_type in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
        policies = list(of_type(resources, policy_type))
        assert policies
        for _, policy in policies:
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            assert any(
                s["Effect"] == "Deny"
                and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
                for s in statements
            )


def test_every_key_rotates(resources: Resources) -> None:
    keys = list(of_type(resources, "AWS::KMS::Key"))
    assert len(keys) == 7  # lake, stream, ingest, alerts, warehouse, alarms, dashboards
    for _, key in keys:
        assert key["Properties"]["EnableKeyRotation"] is True
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            assert statement["Principal"] != "*"
            assert statement["Principal"] != {"AWS": "*"}


def test_log_groups_are_retained_for_a_year(resources: Resources) -> None:
    log_groups = list(of_type(resources, "AWS::Logs::LogGroup"))
    # ingest and alert functions, API access, WAF, Firehose, dashboards containers and flow logs
    assert len(log_groups) == 7
    for _, log_group in log_groups:
        assert log_group["Properties"]["RetentionInDays"] == 365


# --- least privilege ---------------------------------------------------------------------

# Actions AWS defines without resource types: "*" is the only resource they accept.
NO_RESOURCE_LEVEL = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ecr:GetAuthorizationToken",
}
OWNER_SCOPED = set(REDSHIFT_DATA_OWN_STATEMENTS)


def _identity_statements(resources: Resources) -> list[tuple[str, dict[str, Any]]]:
    statements = []
    for _, logical_id, resource in resources:
        documents = []
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(resource["Properties"]["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::Role":
            documents += [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
        for document in documents:
            statements += [(logical_id, statement) for statement in document["Statement"]]
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_identity_policies_name_every_action(resources: Resources) -> None:
    statements = _identity_statements(resources)
    assert len(statements) > 20
    for logical_id, statement in statements:
        assert statement["Effect"] == "Allow", logical_id
        assert "NotAction" not in statement and "NotResource" not in statement, logical_id
        for action in _as_list(statement["Action"]):
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), (logical_id, action)


def test_identity_policies_scope_resources_to_arns(resources: Resources) -> None:
    for logical_id, statement in _identity_statements(resources):
        actions = set(_as_list(statement["Action"]))
        for resource in _as_list(statement["Resource"]):
            if resource != "*":
                assert "*" not in str(resource).replace("/*", ""), (logical_id, resource)
                continue
            if actions <= OWNER_SCOPED:
                condition = statement["Condition"]["StringEquals"]
                assert condition == {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}
            else:
                assert actions <= NO_RESOURCE_LEVEL, (logical_id, actions)


def test_roles_trust_only_named_services_or_this_account(resources: Resources) -> None:
    for logical_id, role in of_type(resources, "AWS::IAM::Role"):
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            principal = statement["Principal"]
            assert principal != "*" and principal.get("AWS") != "*", logical_id
            for service in _as_list(principal.get("Service", [])):
                assert service.endswith(".amazonaws.com"), (logical_id, service)


# --- checkov suppressions ----------------------------------------------------------------


def test_every_checkov_suppression_is_justified(templates: dict[str, Template]) -> None:
    skips = [
        skip
        for template in templates.values()
        for resource in template.to_json()["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert {skip["id"] for skip in skips} == {
        "CKV_AWS_18",
        "CKV_AWS_117",
        "CKV_AWS_174",
        "CKV_AWS_2",
        "CKV_AWS_103",
    }
    for skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"])
        assert len(skip["comment"]) >= 40, skip
