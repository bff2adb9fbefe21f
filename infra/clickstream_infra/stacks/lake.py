"""Lake: the S3 buckets, the Glue databases and the Athena workgroup."""

from __future__ import annotations

from typing import Literal, get_args

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from clickstream_infra import names
from clickstream_infra.checkov import skip_check
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.common import customer_key
from streaming.contracts.settings import Settings

BucketPurpose = Literal["bronze", "silver", "gold", "quarantine", "athena-results"]
BUCKET_PURPOSES: tuple[BucketPurpose, ...] = get_args(BucketPurpose)

# Raw landing data cools quickly: Intelligent-Tiering after a week (S3 refuses STANDARD_IA
# before 30 days; Intelligent-Tiering moves objects unread for 30 days to its IA tier),
# Glacier Flexible Retrieval after 90 days.
BRONZE_TIERING_AFTER = Duration.days(7)
BRONZE_GLACIER_AFTER = Duration.days(90)
NONCURRENT_VERSIONS_KEPT_FOR = Duration.days(30)
ATHENA_RESULTS_KEPT_FOR = Duration.days(30)
ATHENA_RESULTS_PREFIX = "results/"
ACCESS_LOGS_KEPT_FOR = Duration.days(365)
ATHENA_ENGINE = "Athena engine version 3"


class LakeStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        config: DeploymentConfig,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.key = customer_key(
            self, names.key_alias(settings, "lake"), "clickstream lake: buckets, catalog, Athena"
        )
        self.access_logs = self._access_logs_bucket()
        self.buckets: dict[BucketPurpose, s3.Bucket] = {
            purpose: self._data_bucket(purpose) for purpose in BUCKET_PURPOSES
        }
        self.databases = self._glue_databases()
        self._catalog_encryption()
        self.workgroup = self._athena_workgroup(config)

    @property
    def bronze(self) -> s3.Bucket:
        return self.buckets["bronze"]

    def _access_logs_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=names.access_logs_bucket_name(self.settings),
            # S3 server access logging delivers only to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # CloudFront standard logs are written with an ACL: the bucket owner keeps them.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=ACCESS_LOGS_KEPT_FOR,
                    noncurrent_version_expiration=NONCURRENT_VERSIONS_KEPT_FOR,
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        skip_check(
            bucket,
            "CKV_AWS_18",
            "This is the access-log bucket itself; logging it into itself would loop.",
        )
        return bucket

    def _data_bucket(self, purpose: BucketPurpose) -> s3.Bucket:
        return s3.Bucket(
            self,
            "".join(part.capitalize() for part in purpose.split("-")),
            bucket_name=self.settings.bucket_name(purpose),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"s3/{purpose}/",
            lifecycle_rules=_lifecycle_rules(purpose),
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _glue_databases(self) -> dict[str, glue.CfnDatabase]:
        lake, mart = self.settings.glue_databases
        locations = {
            lake: f"s3://{self.settings.bucket_name('silver')}/{lake}/",
            mart: f"s3://{self.settings.bucket_name('gold')}/{mart}/",
        }
        databases = {}
        for name, location in locations.items():
            database = glue.CfnDatabase(
                self,
                f"{name.capitalize()}Database",
                catalog_id=self.account,
                database_input=glue.CfnDatabase.DatabaseInputProperty(
                    name=name,
                    description=f"clickstream {name} tables (Iceberg)",
                    location_uri=location,
                ),
            )
            databases[name] = database
        return databases

    def _catalog_encryption(self) -> None:
        glue.CfnDataCatalogEncryptionSettings(
            self,
            "CatalogEncryption",
            catalog_id=self.account,
            data_catalog_encryption_settings=glue.CfnDataCatalogEncryptionSettings.DataCatalogEncryptionSettingsProperty(
                encryption_at_rest=glue.CfnDataCatalogEncryptionSettings.EncryptionAtRestProperty(
                    catalog_encryption_mode="SSE-KMS",
                    sse_aws_kms_key_id=self.key.key_arn,
                ),
                connection_password_encryption=glue.CfnDataCatalogEncryptionSettings.ConnectionPasswordEncryptionProperty(
                    return_connection_password_encrypted=True,
                    kms_key_id=self.key.key_arn,
                ),
            ),
        )

    def _athena_workgroup(self, config: DeploymentConfig) -> athena.CfnWorkGroup:
        results = self.settings.bucket_name("athena-results")
        workgroup = athena.CfnWorkGroup(
            self,
            "Workgroup",
            name=self.settings.athena_workgroup,
            description="clickstream analytics: dbt and ad-hoc queries",
            state="ENABLED",
            recursive_delete_option=False,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=config.athena_bytes_scanned_cutoff_per_query,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version=ATHENA_ENGINE
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{results}/{ATHENA_RESULTS_PREFIX}",
                    expected_bucket_owner=self.account,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.key.key_arn
                    ),
                ),
            ),
        )
        workgroup.node.add_dependency(self.buckets["athena-results"])
        return workgroup


def _lifecycle_rules(purpose: BucketPurpose) -> list[s3.LifecycleRule]:
    housekeeping = s3.LifecycleRule(
        id="housekeeping",
        noncurrent_version_expiration=NONCURRENT_VERSIONS_KEPT_FOR,
        abort_incomplete_multipart_upload_after=Duration.days(7),
    )
    if purpose in ("bronze", "quarantine"):
        return [
            housekeeping,
            s3.LifecycleRule(
                id="tier-raw-landing",
                transitions=[
                    s3.Transition(
                        storage_class=s3.StorageClass.INTELLIGENT_TIERING,
                        transition_after=BRONZE_TIERING_AFTER,
                    ),
                    s3.Transition(
                        storage_class=s3.StorageClass.GLACIER,
                        transition_after=BRONZE_GLACIER_AFTER,
                    ),
                ],
            ),
        ]
    if purpose == "athena-results":
        return [
            housekeeping,
            s3.LifecycleRule(id="expire-query-results", expiration=ATHENA_RESULTS_KEPT_FOR),
        ]
    return [housekeeping]
