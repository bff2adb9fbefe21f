"""Dashboards: the analyst app on Fargate, behind an internal load balancer.

The image is the repository's own package (``infra/dashboards/Dockerfile``), started with
``CLICKSTREAM_ENV=aws``: the same pages and queries as locally, against the Athena workgroup and
the Glue databases, and the real-time marts through the Redshift Data API. The VPC has no route
to the internet; AWS APIs are reached through endpoints.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Fn, IgnoreMode, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from constructs import Construct

from clickstream_infra import names
from clickstream_infra.checkov import skip_check
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.common import (
    allow_log_encryption,
    application_environment,
    customer_key,
    encrypted_log_group,
)
from clickstream_infra.stacks.ingest import REPO_ROOT
from clickstream_infra.stacks.lake import ATHENA_RESULTS_PREFIX, LakeStack
from clickstream_infra.stacks.warehouse import WarehouseStack
from streaming.contracts.settings import Settings

DOCKERFILE = "infra/dashboards/Dockerfile"
PORT = 8501
HEALTH_PATH = "/_stcore/health"
COMMAND = ("clickstream", "dashboards", "--host", "0.0.0.0", "--port", str(PORT))
# The image has no curl: the health probe is the interpreter's own HTTP client.
HEALTH_CHECK_COMMAND = (
    "python",
    "-c",
    f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}{HEALTH_PATH}', "
    "timeout=4)",
)
# The root filesystem is read-only; this task volume is the app's only writable path.
WRITABLE_PATH = "/tmp"
AVAILABILITY_ZONES = 2
PRIVATE_SUBNETS = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

ATHENA_QUERY_ACTIONS = (
    "athena:StartQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:StopQueryExecution",
)
GLUE_READ_ACTIONS = (
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetPartition",
    "glue:GetPartitions",
)
TABLE_READ_ACTIONS = ("s3:GetObject",)
TABLE_LIST_ACTIONS = ("s3:ListBucket",)
# Iceberg tables outside silver and gold (lakehouse.catalog.table_location): the data-health page
# reads lake.quarantine_events, and the freshness of every table from its snapshots (metadata).
ICEBERG_PREFIX = "iceberg"
QUARANTINE_TABLE = "quarantine_events"
REDSHIFT_QUERY_ACTIONS = (
    "redshift-data:ExecuteStatement",
    "redshift-serverless:GetCredentials",
)
# Statement-level calls take no resource ARN: scoped to the caller's own statements.
REDSHIFT_OWN_STATEMENT_ACTIONS = (
    "redshift-data:DescribeStatement",
    "redshift-data:GetStatementResult",
)
STATEMENT_OWNER_CONDITION = {
    "StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}
}
RESULTS_OBJECT_ACTIONS = ("s3:PutObject", "s3:GetObject")
RESULTS_BUCKET_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation")
LAKE_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
# Glue reads the encrypted catalog, S3 the encrypted objects, on the caller's behalf.
LAKE_KEY_SERVICES = ("s3", "glue")

# Image pull (ECR API, image layers from S3), container logs, the query paths (the Data API is
# regional: Redshift reaches its workgroup, the tasks only the API).
INTERFACE_ENDPOINTS = {
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "Athena": ec2.InterfaceVpcEndpointAwsService.ATHENA,
    "Glue": ec2.InterfaceVpcEndpointAwsService.GLUE,
    "RedshiftData": ec2.InterfaceVpcEndpointAwsService.REDSHIFT_DATA,
}


def dashboards_environment(settings: Settings) -> dict[str, str]:
    return application_environment(settings, home=f"{WRITABLE_PATH}/clickstream")


class DashboardsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        config: DeploymentConfig,
        lake: LakeStack,
        warehouse: WarehouseStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.config = config
        self.name = names.dashboards_name(settings)
        self.key = customer_key(
            self, names.key_alias(settings, "dashboards"), "clickstream dashboards: logs"
        )
        allow_log_encryption(self.key)
        self.vpc = self._vpc()
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=self.name,
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        self.service_security_group = ec2.SecurityGroup(
            self,
            "ServiceSecurityGroup",
            vpc=self.vpc,
            description="dashboards tasks: the load balancer in, AWS APIs out",
            allow_all_outbound=False,
        )
        self.service_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "AWS APIs over TLS: the subnets route only to the VPC endpoints",
        )
        self._interface_endpoints()
        self.task_role = self._task_role(lake, warehouse)
        self.task_definition = self._task_definition()
        self.load_balancer = self._load_balancer(lake)
        self.service = self._service()
        scheme = "https" if config.dashboards_certificate_arn else "http"
        CfnOutput(
            self,
            "DashboardsUrl",
            value=f"{scheme}://{self.load_balancer.load_balancer_dns_name}",
            description="The analyst dashboards (internal: reachable from the VPC's clients)",
        )

    @property
    def availability_zones(self) -> list[str]:
        # Resolved at deploy time, so synthesis needs no account to look the zones up.
        return [Fn.select(index, Fn.get_azs()) for index in range(AVAILABILITY_ZONES)]

    @property
    def client_cidr(self) -> str:
        return self.config.dashboards_client_cidr or self.config.dashboards_vpc_cidr

    def _vpc(self) -> ec2.Vpc:
        vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=self.name,
            ip_addresses=ec2.IpAddresses.cidr(self.config.dashboards_vpc_cidr),
            max_azs=AVAILABILITY_ZONES,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                )
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(
                    service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[PRIVATE_SUBNETS]
                )
            },
        )
        vpc.add_flow_log(
            "FlowLogs",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                encrypted_log_group(
                    self,
                    "FlowLogGroup",
                    names.dashboards_flow_log_group_name(self.settings),
                    self.key,
                    self.config,
                )
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        return vpc

    def _interface_endpoints(self) -> None:
        """One security group for every endpoint: only the dashboards' tasks may call them."""
        security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="dashboards VPC endpoints: HTTPS from the dashboards tasks only",
            allow_all_outbound=False,
        )
        security_group.add_ingress_rule(
            self.service_security_group, ec2.Port.tcp(443), "AWS API calls of the dashboards"
        )
        for endpoint_id, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                endpoint_id,
                service=service,
                subnets=PRIVATE_SUBNETS,
                private_dns_enabled=True,
                security_groups=[security_group],
                open=False,
            )

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def _task_role(self, lake: LakeStack, warehouse: WarehouseStack) -> iam.Role:
        """Query the marts through the workgroups: nothing else, nowhere else."""
        role = iam.Role(
            self,
            "TaskRole",
            role_name=f"{self.name}-task",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description=(
                "Analyst dashboards: query the lake and mart databases through Athena, "
                "the real-time marts through the Redshift Data API"
            ),
        )
        databases = self.settings.glue_databases
        tables = [lake.buckets["silver"], lake.buckets["gold"]]
        landing_tables = [lake.buckets["bronze"], lake.buckets["quarantine"]]
        landing_prefix = f"{ICEBERG_PREFIX}/{self.settings.lake_namespace}/"
        results = lake.buckets["athena-results"]
        policy = iam.ManagedPolicy(
            self,
            "TaskPolicy",
            managed_policy_name=f"{self.name}-query-marts",
            statements=[
                iam.PolicyStatement(
                    sid="QueryInWorkgroup",
                    actions=list(ATHENA_QUERY_ACTIONS),
                    resources=[self._arn("athena", f"workgroup/{self.settings.athena_workgroup}")],
                ),
                iam.PolicyStatement(
                    sid="ReadCatalog",
                    actions=list(GLUE_READ_ACTIONS),
                    resources=[
                        self._arn("glue", "catalog"),
                        *[self._arn("glue", f"database/{name}") for name in databases],
                        *[self._arn("glue", f"table/{name}/*") for name in databases],
                    ],
                ),
                iam.PolicyStatement(
                    sid="ListLakeTables",
                    actions=list(TABLE_LIST_ACTIONS),
                    resources=[bucket.bucket_arn for bucket in tables],
                ),
                iam.PolicyStatement(
                    sid="ReadLakeTables",
                    actions=list(TABLE_READ_ACTIONS),
                    resources=[bucket.arn_for_objects("*") for bucket in tables],
                ),
                iam.PolicyStatement(
                    sid="ListLandingTables",
                    actions=list(TABLE_LIST_ACTIONS),
                    resources=[bucket.bucket_arn for bucket in landing_tables],
                    conditions={"StringLike": {"s3:prefix": [f"{landing_prefix}*"]}},
                ),
                iam.PolicyStatement(
                    sid="ReadQuarantineTable",
                    actions=list(TABLE_READ_ACTIONS),
                    resources=[
                        lake.buckets["quarantine"].arn_for_objects(
                            f"{landing_prefix}{QUARANTINE_TABLE}/*"
                        )
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadBronzeTableSnapshots",
                    actions=list(TABLE_READ_ACTIONS),
                    resources=[
                        lake.buckets["bronze"].arn_for_objects(f"{landing_prefix}*/metadata/*")
                    ],
                ),
                iam.PolicyStatement(
                    sid="LocateQueryResults",
                    actions=list(RESULTS_BUCKET_ACTIONS),
                    resources=[results.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="WriteQueryResults",
                    actions=list(RESULTS_OBJECT_ACTIONS),
                    resources=[results.arn_for_objects(f"{ATHENA_RESULTS_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    sid="UseLakeKeyThroughS3AndGlue",
                    actions=list(LAKE_KEY_ACTIONS),
                    resources=[lake.key.key_arn],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": [
                                f"{service}.{self.region}.amazonaws.com"
                                for service in LAKE_KEY_SERVICES
                            ]
                        }
                    },
                ),
                iam.PolicyStatement(
                    sid="QueryRealTimeMarts",
                    actions=list(REDSHIFT_QUERY_ACTIONS),
                    resources=[warehouse.workgroup.attr_workgroup_workgroup_arn],
                ),
                iam.PolicyStatement(
                    sid="FollowOwnStatements",
                    actions=list(REDSHIFT_OWN_STATEMENT_ACTIONS),
                    resources=["*"],
                    conditions=STATEMENT_OWNER_CONDITION,
                ),
            ],
        )
        role.add_managed_policy(policy)
        return role

    def _task_definition(self) -> ecs.FargateTaskDefinition:
        task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            family=self.name,
            cpu=self.config.dashboards_cpu,
            memory_limit_mib=self.config.dashboards_memory_mib,
            task_role=self.task_role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            volumes=[ecs.Volume(name="writable")],
        )
        image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(REPO_ROOT),
            file=DOCKERFILE,
            platform=ecr_assets.Platform.LINUX_AMD64,
            ignore_mode=IgnoreMode.DOCKER,
        )
        container = task_definition.add_container(
            "App",
            container_name="dashboards",
            image=ecs.ContainerImage.from_docker_image_asset(image),
            command=list(COMMAND),
            environment=dashboards_environment(self.settings),
            readonly_root_filesystem=True,
            port_mappings=[ecs.PortMapping(container_port=PORT, protocol=ecs.Protocol.TCP)],
            health_check=ecs.HealthCheck(
                command=["CMD", *HEALTH_CHECK_COMMAND],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(60),
            ),
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="dashboards",
                log_group=encrypted_log_group(
                    self,
                    "Logs",
                    names.dashboards_log_group_name(self.settings),
                    self.key,
                    self.config,
                ),
            ),
        )
        container.add_mount_points(
            ecs.MountPoint(container_path=WRITABLE_PATH, source_volume="writable", read_only=False)
        )
        return task_definition

    def _load_balancer(self, lake: LakeStack) -> elbv2.ApplicationLoadBalancer:
        security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSecurityGroup",
            vpc=self.vpc,
            description="dashboards load balancer: clients of the VPC in, the service out",
            allow_all_outbound=False,
        )
        load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            # unnamed: load balancer names stop at 32 characters, the resource prefix may not
            vpc=self.vpc,
            internet_facing=False,
            vpc_subnets=PRIVATE_SUBNETS,
            security_group=security_group,
            drop_invalid_header_fields=True,
            deletion_protection=True,
        )
        load_balancer.log_access_logs(lake.access_logs, prefix=f"elb/{self.name}")
        client = ec2.Peer.ipv4(self.client_cidr)
        certificate_arn = self.config.dashboards_certificate_arn
        if certificate_arn:
            self.listener = load_balancer.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                open=False,
            )
            load_balancer.add_redirect(source_port=80, target_port=443, open=False)
            ports = (443, 80)
        else:
            self.listener = load_balancer.add_listener(
                "Http", port=80, protocol=elbv2.ApplicationProtocol.HTTP, open=False
            )
            plain_http = (
                "Without a certificate (dashboards_certificate_arn) the internal load balancer "
                "serves HTTP to the VPC's clients only; docs/deploy.md describes adding HTTPS."
            )
            for check_id in ("CKV_AWS_2", "CKV_AWS_103"):
                skip_check(self.listener, check_id, plain_http)
            ports = (80,)
        for port in ports:
            security_group.add_ingress_rule(
                client, ec2.Port.tcp(port), f"dashboards users on {port} from {self.client_cidr}"
            )
        return load_balancer

    def _service(self) -> ecs.FargateService:
        service = ecs.FargateService(
            self,
            "Service",
            service_name=self.name,
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=self.config.dashboards_desired_count,
            assign_public_ip=False,
            vpc_subnets=PRIVATE_SUBNETS,
            security_groups=[self.service_security_group],
            platform_version=ecs.FargatePlatformVersion.LATEST,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            min_healthy_percent=100,
            health_check_grace_period=Duration.seconds(120),
            enable_execute_command=False,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
        )
        # The CDK adds an explicit DependsOn on the listener rule next to the Ref that orders it.
        cfn_service: ecs.CfnService = service.node.default_child  # type: ignore[assignment]
        cfn_service.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        self.listener.add_targets(
            "Service",
            port=PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[service],
            health_check=elbv2.HealthCheck(
                path=HEALTH_PATH, healthy_http_codes="200", interval=Duration.seconds(30)
            ),
            # A Streamlit session lives in one task: reconnects must return to it.
            stickiness_cookie_duration=Duration.hours(8),
            deregistration_delay=Duration.seconds(30),
        )
        return service
