"""Orchestration: the role Dagster runs as, scoped to the lake, stream, catalog and workgroups."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from clickstream_infra import names
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.lake import LakeStack
from clickstream_infra.stacks.streaming import StreamingStack
from clickstream_infra.stacks.warehouse import WarehouseStack
from streaming.contracts.settings import Settings

S3_READ = ("s3:GetObject", "s3:GetObjectVersion")
S3_WRITE = ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
S3_LIST = ("s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads")
GLUE_READ = (
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetTableVersion",
    "glue:GetTableVersions",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
)
GLUE_WRITE = (
    "glue:CreateTable",
    "glue:UpdateTable",
    "glue:DeleteTable",
    "glue:DeleteTableVersion",
    "glue:BatchDeleteTableVersion",
    "glue:CreatePartition",
    "glue:BatchCreatePartition",
    "glue:UpdatePartition",
    "glue:BatchUpdatePartition",
    "glue:DeletePartition",
    "glue:BatchDeletePartition",
)
ATHENA_QUERY = (
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
    "athena:GetQueryExecution",
    "athena:BatchGetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetQueryRuntimeStatistics",
    "athena:ListQueryExecutions",
    "athena:GetWorkGroup",
)
ATHENA_CATALOG = (
    "athena:GetDataCatalog",
    "athena:GetDatabase",
    "athena:ListDatabases",
    "athena:GetTableMetadata",
    "athena:ListTableMetadata",
)
# The Redshift Data API's statement-level calls take no resource ARN: AWS scopes them to the
# caller with the statement-owner condition below.
REDSHIFT_DATA_OWN_STATEMENTS = (
    "redshift-data:DescribeStatement",
    "redshift-data:GetStatementResult",
    "redshift-data:CancelStatement",
    "redshift-data:ListStatements",
)


class OrchestrationStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        config: DeploymentConfig,
        lake: LakeStack,
        streaming: StreamingStack,
        warehouse: WarehouseStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.role = iam.Role(
            self,
            "DagsterRole",
            role_name=names.dagster_role_name(settings),
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
                iam.AccountRootPrincipal(),
            ),
            description="Dagster: build the lake with dbt on Athena, refresh the real-time marts",
        )
        policy = iam.ManagedPolicy(
            self,
            "DagsterPolicy",
            managed_policy_name=f"{names.dagster_role_name(settings)}-data",
            statements=[
                *self._lake_statements(lake),
                *self._catalog_statements(),
                *self._athena_statements(),
                *self._stream_statements(streaming),
                *self._redshift_statements(warehouse),
            ],
        )
        self.role.add_managed_policy(policy)
        CfnOutput(
            self,
            "DagsterRoleArn",
            value=self.role.role_arn,
            description="The role Dagster (and dbt on Athena) runs as",
        )

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def _lake_statements(self, lake: LakeStack) -> list[iam.PolicyStatement]:
        read_only = [lake.buckets["bronze"], lake.buckets["quarantine"]]
        read_write = [lake.buckets["silver"], lake.buckets["gold"], lake.buckets["athena-results"]]
        return [
            iam.PolicyStatement(
                sid="ListLakeBuckets",
                actions=list(S3_LIST),
                resources=[bucket.bucket_arn for bucket in read_only + read_write],
            ),
            iam.PolicyStatement(
                sid="ReadLanding",
                actions=list(S3_READ),
                resources=[bucket.arn_for_objects("*") for bucket in read_only],
            ),
            iam.PolicyStatement(
                sid="ReadWriteLakeTables",
                actions=[*S3_READ, *S3_WRITE],
                resources=[bucket.arn_for_objects("*") for bucket in read_write],
            ),
            iam.PolicyStatement(
                sid="UseLakeKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[lake.key.key_arn],
            ),
        ]

    def _catalog_statements(self) -> list[iam.PolicyStatement]:
        catalog = self._arn("glue", "catalog")
        databases = [self._arn("glue", f"database/{name}") for name in self.settings.glue_databases]
        tables = [self._arn("glue", f"table/{name}/*") for name in self.settings.glue_databases]
        return [
            iam.PolicyStatement(
                sid="ReadCatalog",
                actions=list(GLUE_READ),
                resources=[catalog, *databases, *tables],
            ),
            iam.PolicyStatement(
                sid="WriteLakeTables",
                actions=list(GLUE_WRITE),
                resources=[catalog, *databases, *tables],
            ),
        ]

    def _athena_statements(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                sid="QueryInWorkgroup",
                actions=list(ATHENA_QUERY),
                resources=[self._arn("athena", f"workgroup/{self.settings.athena_workgroup}")],
            ),
            iam.PolicyStatement(
                sid="ReadAthenaCatalog",
                actions=list(ATHENA_CATALOG),
                resources=[self._arn("athena", "datacatalog/AwsDataCatalog")],
            ),
        ]

    def _stream_statements(self, streaming: StreamingStack) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                sid="ReplayDeadLetters",
                actions=["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                resources=[streaming.dlq.queue_arn],
            ),
            iam.PolicyStatement(
                sid="PutReplayedEvents",
                actions=[
                    "kinesis:PutRecord",
                    "kinesis:PutRecords",
                    "kinesis:DescribeStreamSummary",
                ],
                resources=[streaming.stream.stream_arn],
            ),
            iam.PolicyStatement(
                sid="UseStreamKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[streaming.key.key_arn],
            ),
        ]

    def _redshift_statements(self, warehouse: WarehouseStack) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                sid="RunStatementsInWorkgroup",
                actions=[
                    "redshift-data:ExecuteStatement",
                    "redshift-data:BatchExecuteStatement",
                    "redshift-serverless:GetCredentials",
                ],
                resources=[warehouse.workgroup.attr_workgroup_workgroup_arn],
            ),
            iam.PolicyStatement(
                sid="FollowOwnStatements",
                actions=list(REDSHIFT_DATA_OWN_STATEMENTS),
                resources=["*"],
                conditions={
                    "StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}
                },
            ),
        ]
