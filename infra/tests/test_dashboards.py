"""The dashboards: the image, the Fargate service behind an internal load balancer, its IAM."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Environment
from aws_cdk.assertions import Match, Template
from conftest import TEST_ACCOUNT, TEST_REGION

from clickstream_infra import names
from clickstream_infra.app import Deployment, new_app
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.dashboards import (
    ATHENA_QUERY_ACTIONS,
    COMMAND,
    DOCKERFILE,
    GLUE_READ_ACTIONS,
    HEALTH_CHECK_COMMAND,
    HEALTH_PATH,
    INTERFACE_ENDPOINTS,
    PORT,
    WRITABLE_PATH,
    DashboardsStack,
    dashboards_environment,
)
from clickstream_infra.stacks.ingest import REPO_ROOT
from clickstream_infra.stacks.lake import LakeStack
from clickstream_infra.stacks.streaming import StreamingStack
from clickstream_infra.stacks.warehouse import WarehouseStack
from streaming.contracts.settings import Settings


def _resource(template: Template, resource_type: str) -> dict[str, Any]:
    (resource,) = template.find_resources(resource_type).values()
    return resource["Properties"]


def _container(template: Template) -> dict[str, Any]:
    (container,) = _resource(template, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    return container


def _dockerfile_instruction(name: str) -> list[str]:
    """The exec-form arguments of a Dockerfile instruction (``CMD [...]``)."""
    text = (REPO_ROOT / DOCKERFILE).read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return json.loads(line[line.index("[") :])


def _arn_text(value: Any) -> str:
    """An ARN as text, intrinsic functions flattened (imports by their export name)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(_arn_text(part) for part in value)
    (function, argument), *_ = value.items()
    if function == "Fn::Join":
        return "".join(_arn_text(part) for part in argument[1])
    if function == "Fn::ImportValue":
        return f"<{argument}>"
    if function == "Ref":
        return f"<{argument}>"
    raise AssertionError(f"unexpected {function} in an ARN")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _dashboards_stack(app: Any, settings: Settings, config: DeploymentConfig) -> DashboardsStack:
    env = Environment(account=settings.account_id, region=settings.region)
    common: dict[str, Any] = {"settings": settings, "config": config, "env": env}
    lake = LakeStack(app, "lake", **common)
    streaming = StreamingStack(app, "streaming", lake=lake, **common)
    warehouse = WarehouseStack(app, "warehouse", streaming=streaming, **common)
    return DashboardsStack(app, "dashboards", lake=lake, warehouse=warehouse, **common)


def test_the_image_runs_the_app_on_its_port_as_a_user_with_a_health_check() -> None:
    dockerfile = (REPO_ROOT / DOCKERFILE).read_text()
    assert _dockerfile_instruction("CMD") == list(COMMAND)
    # HEALTHCHECK [options] CMD [...]: the same probe as the task definition's
    assert _dockerfile_instruction("HEALTHCHECK") == list(HEALTH_CHECK_COMMAND)
    assert HEALTH_PATH in " ".join(HEALTH_CHECK_COMMAND)
    assert f"\nEXPOSE {PORT}\n" in dockerfile
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert "--require-hashes --no-deps -r requirements/lock.txt" in dockerfile
    assert "CLICKSTREAM_ENV=aws" in dockerfile
    assert f'VOLUME ["{WRITABLE_PATH}"]' in dockerfile


def test_the_image_context_is_the_lock_and_the_packages(deployment: Deployment) -> None:
    (context,) = [
        path
        for path in Path(deployment.app.outdir).glob("asset.*")
        if (path / "pyproject.toml").exists()
    ]
    entries = {entry.name for entry in context.iterdir()}
    assert entries >= {"requirements", "pyproject.toml", "README.md", "streaming", "infra"}
    assert not entries & {".venv", ".clickstream", "node_modules", "tests", "dbt_project"}
    assert [path.name for path in (context / "requirements").iterdir()] == ["lock.txt"]
    infra = [path for path in (context / "infra").rglob("*") if path.is_file()]
    assert [path.relative_to(context).as_posix() for path in infra] == [DOCKERFILE]
    assert not list(context.rglob("__pycache__"))


def test_the_service_runs_the_command_read_only_with_a_writable_tmp(
    templates: dict[str, Template], settings: Settings
) -> None:
    container = _container(templates["dashboards"])
    assert container["Command"] == list(COMMAND)
    assert container["ReadonlyRootFilesystem"] is True
    assert container["PortMappings"] == [{"ContainerPort": PORT, "Protocol": "tcp"}]
    assert container["HealthCheck"]["Command"] == ["CMD", *HEALTH_CHECK_COMMAND]
    (mount,) = container["MountPoints"]
    assert mount["ContainerPath"] == WRITABLE_PATH and mount["ReadOnly"] is False
    environment = {item["Name"]: item["Value"] for item in container["Environment"]}
    assert environment == dashboards_environment(settings)
    assert environment["CLICKSTREAM_HOME"].startswith(f"{WRITABLE_PATH}/")
    assert "Privileged" not in container
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"

    task = _resource(templates["dashboards"], "AWS::ECS::TaskDefinition")
    assert task["Family"] == names.dashboards_name(settings)
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["TaskRoleArn"] != task["ExecutionRoleArn"]


def test_the_container_resolves_the_deployed_names(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in dashboards_environment(settings).items():
        monkeypatch.setenv(variable, value)
    resolved = Settings(_env_file=None)
    assert resolved.env == "aws"
    assert resolved.athena_workgroup == settings.athena_workgroup
    assert resolved.glue_databases == settings.glue_databases
    for purpose in ("silver", "gold", "athena-results"):
        assert resolved.bucket_name(purpose) == settings.bucket_name(purpose)
    assert resolved.redshift_workgroup_name == settings.redshift_workgroup
    assert resolved.redshift_database == names.redshift_database_name(settings)


def test_the_service_is_private_behind_an_internal_load_balancer(
    templates: dict[str, Template], settings: Settings, config: DeploymentConfig
) -> None:
    template = templates["dashboards"]
    service = _resource(template, "AWS::ECS::Service")
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert service["LaunchType"] == "FARGATE" and service["PlatformVersion"] == "LATEST"
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }
    assert service["EnableExecuteCommand"] is False
    (target,) = service["LoadBalancers"]
    assert target["ContainerPort"] == PORT

    load_balancer = _resource(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert load_balancer["Scheme"] == "internal"
    attributes = {item["Key"]: item["Value"] for item in load_balancer["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert "AccessLogs" in str(attributes["access_logs.s3.bucket"])

    target_group = _resource(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert target_group["HealthCheckPath"] == HEALTH_PATH
    assert target_group["Matcher"] == {"HttpCode": "200"}
    assert target_group["Port"] == PORT

    for resource_type in (
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::EIP",
        "AWS::EC2::VPCGatewayAttachment",
    ):
        template.resource_count_is(resource_type, 0)
    for subnet in template.find_resources("AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    template.has_resource_properties(
        "AWS::ECS::Cluster",
        {
            "ClusterName": names.dashboards_name(settings),
            "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}],
        },
    )
    template.has_resource_properties(
        "AWS::EC2::FlowLog", {"ResourceType": "VPC", "TrafficType": "ALL"}
    )
    template.has_output("DashboardsUrl", {"Value": Match.any_value()})


def test_only_the_vpc_reaches_the_load_balancer_and_only_it_reaches_the_tasks(
    templates: dict[str, Template], config: DeploymentConfig
) -> None:
    template = templates["dashboards"]
    ingress = [
        rule
        for group in template.find_resources("AWS::EC2::SecurityGroup").values()
        for rule in group["Properties"].get("SecurityGroupIngress", [])
    ] + [
        rule["Properties"]
        for rule in template.find_resources("AWS::EC2::SecurityGroupIngress").values()
    ]
    cidrs = {rule["CidrIp"] for rule in ingress if "CidrIp" in rule}
    assert cidrs == {config.dashboards_vpc_cidr}
    assert not any("CidrIpv6" in rule for rule in ingress)
    from_groups = [rule for rule in ingress if "SourceSecurityGroupId" in rule]
    assert {(rule["FromPort"], rule["ToPort"]) for rule in from_groups} == {
        (PORT, PORT),
        (443, 443),
    }
    load_balancer_rules = [rule for rule in ingress if "CidrIp" in rule]
    assert {(rule["FromPort"], rule["ToPort"]) for rule in load_balancer_rules} == {(80, 80)}

    listener = _resource(template, "AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Port"] == 80 and listener["Protocol"] == "HTTP"
    (listener_resource,) = template.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()
    skipped = {skip["id"] for skip in listener_resource["Metadata"]["checkov"]["skip"]}
    assert skipped == {"CKV_AWS_2", "CKV_AWS_103"}


def test_the_task_role_only_queries_the_marts_through_the_workgroup(
    templates: dict[str, Template], settings: Settings
) -> None:
    template = templates["dashboards"]
    policy = _resource(template, "AWS::IAM::ManagedPolicy")
    assert policy["ManagedPolicyName"] == f"{names.dashboards_name(settings)}-query-marts"
    granted = {
        statement["Sid"]: (
            set(_as_list(statement["Action"])),
            sorted(_arn_text(resource) for resource in _as_list(statement["Resource"])),
            statement.get("Condition"),
        )
        for statement in policy["PolicyDocument"]["Statement"]
    }
    region, account = settings.region, settings.account_id
    glue = f"arn:<AWS::Partition>:glue:{region}:{account}"

    def bucket(logical: str) -> str:
        (export,) = [
            name
            for name in _exports(templates, "lake")
            if name.startswith(f"ExportsOutputFnGetAtt{logical}") and "Arn" in name
        ]
        return f"<clickstream-test-lake:{export}>"

    silver, gold, results = bucket("Silver"), bucket("Gold"), bucket("AthenaResults")
    bronze, quarantine = bucket("Bronze"), bucket("Quarantine")
    (workgroup_export,) = [
        name
        for name in _exports(templates, "warehouse")
        if name.startswith("ExportsOutputFnGetAttWorkgroup")
    ]
    (key_export,) = [
        name for name in _exports(templates, "lake") if name.startswith("ExportsOutputFnGetAttKey")
    ]
    assert granted == {
        "QueryInWorkgroup": (
            set(ATHENA_QUERY_ACTIONS),
            [
                f"arn:<AWS::Partition>:athena:{region}:{account}:"
                f"workgroup/{settings.athena_workgroup}"
            ],
            None,
        ),
        "ReadCatalog": (
            set(GLUE_READ_ACTIONS),
            sorted(
                [
                    f"{glue}:catalog",
                    *[f"{glue}:database/{name}" for name in settings.glue_databases],
                    *[f"{glue}:table/{name}/*" for name in settings.glue_databases],
                ]
            ),
            None,
        ),
        "ListLakeTables": ({"s3:ListBucket"}, sorted([gold, silver]), None),
        "ReadLakeTables": ({"s3:GetObject"}, sorted([f"{gold}/*", f"{silver}/*"]), None),
        "ListLandingTables": (
            {"s3:ListBucket"},
            sorted([bronze, quarantine]),
            {"StringLike": {"s3:prefix": ["iceberg/lake/*"]}},
        ),
        "ReadQuarantineTable": (
            {"s3:GetObject"},
            [f"{quarantine}/iceberg/lake/quarantine_events/*"],
            None,
        ),
        "ReadBronzeTableSnapshots": (
            {"s3:GetObject"},
            [f"{bronze}/iceberg/lake/*/metadata/*"],
            None,
        ),
        "LocateQueryResults": ({"s3:ListBucket", "s3:GetBucketLocation"}, [results], None),
        "WriteQueryResults": ({"s3:PutObject", "s3:GetObject"}, [f"{results}/results/*"], None),
        "UseLakeKeyThroughS3AndGlue": (
            {"kms:Decrypt", "kms:GenerateDataKey"},
            [f"<clickstream-test-lake:{key_export}>"],
            {
                "StringEquals": {
                    "kms:ViaService": [
                        f"s3.{region}.amazonaws.com",
                        f"glue.{region}.amazonaws.com",
                    ]
                }
            },
        ),
        "QueryRealTimeMarts": (
            {"redshift-data:ExecuteStatement", "redshift-serverless:GetCredentials"},
            [f"<clickstream-test-warehouse:{workgroup_export}>"],
            None,
        ),
        "FollowOwnStatements": (
            {"redshift-data:DescribeStatement", "redshift-data:GetStatementResult"},
            ["*"],
            {"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}},
        ),
    }
    assert ATHENA_QUERY_ACTIONS == (
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:StopQueryExecution",
    )
    roles = template.find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": f"{names.dashboards_name(settings)}-task"}}
    )
    (role,) = roles.values()
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert "Policies" not in role["Properties"]


def _exports(templates: dict[str, Template], purpose: str) -> list[str]:
    return [
        output["Export"]["Name"].split(":", 1)[1]
        for output in templates[purpose].to_json().get("Outputs", {}).values()
        if "Export" in output
    ]


def test_every_aws_api_the_tasks_call_has_an_endpoint_only_they_reach(
    templates: dict[str, Template], settings: Settings
) -> None:
    template = templates["dashboards"]
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
    interface = [
        resource["Properties"]
        for resource in endpoints.values()
        if resource["Properties"].get("VpcEndpointType") == "Interface"
    ]
    region = settings.region
    assert sorted(endpoint["ServiceName"] for endpoint in interface) == sorted(
        f"com.amazonaws.{region}.{service}"
        for service in ("ecr.api", "ecr.dkr", "logs", "athena", "glue", "redshift-data")
    )
    assert len(INTERFACE_ENDPOINTS) == len(interface)
    (endpoint_group,) = {json.dumps(endpoint["SecurityGroupIds"]) for endpoint in interface}
    (group_id,) = json.loads(endpoint_group)
    group = template.to_json()["Resources"][group_id["Fn::GetAtt"][0]]["Properties"]
    assert "SecurityGroupIngress" not in group
    (ingress,) = [
        rule["Properties"]
        for rule in template.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == group_id
    ]
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == ("tcp", 443, 443)
    assert ingress["SourceSecurityGroupId"]["Fn::GetAtt"][0].startswith("ServiceSecurityGroup")
    for endpoint in interface:
        assert endpoint["PrivateDnsEnabled"] is True


def test_logs_are_encrypted_and_kept_a_year(
    templates: dict[str, Template], settings: Settings
) -> None:
    for name in (
        names.dashboards_log_group_name(settings),
        names.dashboards_flow_log_group_name(settings),
    ):
        templates["dashboards"].has_resource_properties(
            "AWS::Logs::LogGroup",
            {"LogGroupName": name, "RetentionInDays": 365, "KmsKeyId": Match.any_value()},
        )


def test_with_a_certificate_the_load_balancer_serves_https_and_redirects_http(
    tmp_path: Path, settings: Settings
) -> None:
    certificate = f"arn:aws:acm:{TEST_REGION}:{TEST_ACCOUNT}:certificate/0c1d2e3f-0000-4000-8000-1"
    config = DeploymentConfig(
        dashboards_certificate_arn=certificate, dashboards_client_cidr="10.0.0.0/8"
    )
    stack = _dashboards_stack(new_app(outdir=str(tmp_path)), settings, config)
    template = Template.from_stack(stack)
    listeners = {
        properties["Port"]: properties
        for resource in template.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()
        if (properties := resource["Properties"])
    }
    assert listeners[443]["Protocol"] == "HTTPS"
    assert listeners[443]["Certificates"] == [{"CertificateArn": certificate}]
    assert listeners[443]["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    (redirect,) = listeners[80]["DefaultActions"]
    assert redirect["RedirectConfig"] == {
        "Port": "443",
        "Protocol": "HTTPS",
        "StatusCode": "HTTP_301",
    }
    for resource in template.find_resources("AWS::ElasticLoadBalancingV2::Listener").values():
        assert "checkov" not in resource.get("Metadata", {})
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupIngress": Match.array_with(
                [Match.object_like({"CidrIp": "10.0.0.0/8", "FromPort": 443})]
            )
        },
    )
    url = template.to_json()["Outputs"]["DashboardsUrl"]["Value"]
    assert "https://" in json.dumps(url)


def test_the_longest_prefix_the_settings_accept_still_synthesises(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        env="aws",
        stage="production-eu",
        aws_account_id=TEST_ACCOUNT,
        aws_region=TEST_REGION,
    )
    assert len(settings.bucket_name("athena-results")) == 63
    stack = _dashboards_stack(new_app(outdir=str(tmp_path)), settings, DeploymentConfig())
    Template.from_stack(stack).resource_count_is("AWS::ECS::Service", 1)
