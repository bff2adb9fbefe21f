"""Warehouse: Redshift Serverless for the real-time marts, and its streaming-ingestion role."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_redshiftserverless as redshift
from constructs import Construct

from clickstream_infra import names
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.common import customer_key
from clickstream_infra.stacks.streaming import StreamingStack
from streaming.contracts.settings import Settings

ADMIN_USERNAME = "clickstream_admin"
LOG_EXPORTS = ("userlog", "connectionlog", "useractivitylog")
STREAM_READ_ACTIONS = (
    "kinesis:DescribeStreamSummary",
    "kinesis:GetShardIterator",
    "kinesis:GetRecords",
    "kinesis:ListShards",
    "kinesis:DescribeStream",
)


class WarehouseStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        config: DeploymentConfig,
        streaming: StreamingStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.key = customer_key(
            self, names.key_alias(settings, "warehouse"), "clickstream Redshift Serverless"
        )
        self.streaming_role = self._streaming_role(streaming)
        self.namespace = redshift.CfnNamespace(
            self,
            "Namespace",
            namespace_name=settings.redshift_namespace,
            db_name=names.redshift_database_name(settings),
            admin_username=ADMIN_USERNAME,
            manage_admin_password=True,
            admin_password_secret_kms_key_id=self.key.key_arn,
            kms_key_id=self.key.key_arn,
            iam_roles=[self.streaming_role.role_arn],
            default_iam_role_arn=self.streaming_role.role_arn,
            log_exports=list(LOG_EXPORTS),
        )
        self.workgroup = redshift.CfnWorkgroup(
            self,
            "Workgroup",
            workgroup_name=settings.redshift_workgroup,
            namespace_name=settings.redshift_namespace,
            base_capacity=config.redshift_base_rpu,
            max_capacity=config.redshift_max_rpu,
            publicly_accessible=False,
            enhanced_vpc_routing=False,
            config_parameters=[
                redshift.CfnWorkgroup.ConfigParameterProperty(
                    parameter_key="require_ssl", parameter_value="true"
                ),
                redshift.CfnWorkgroup.ConfigParameterProperty(
                    parameter_key="enable_user_activity_logging", parameter_value="true"
                ),
            ],
        )
        self.workgroup.add_resource_dependency(self.namespace)

    def _streaming_role(self, streaming: StreamingStack) -> iam.Role:
        role = iam.Role(
            self,
            "StreamingRole",
            role_name=self.settings.redshift_streaming_role_name,
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("redshift.amazonaws.com"),
                iam.ServicePrincipal("redshift-serverless.amazonaws.com"),
            ),
            description="Redshift streaming ingestion: read the event stream",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadEventStream",
                actions=list(STREAM_READ_ACTIONS),
                resources=[streaming.stream.stream_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DecryptEventStream",
                actions=["kms:Decrypt"],
                resources=[streaming.key.key_arn],
            )
        )
        return role
