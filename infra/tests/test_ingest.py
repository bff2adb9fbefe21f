"""Ingest: WAF at the edge, HTTPS only, the function packaged from streaming/ with its limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match, Template

from clickstream_infra import names
from clickstream_infra.app import Deployment, build, new_app
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.edge import MANAGED_RULE_GROUPS
from clickstream_infra.stacks.ingest import INGEST_ROUTES, REPO_ROOT
from streaming.contracts.settings import Settings


def _one(template: Template, resource_type: str) -> dict[str, Any]:
    (resource,) = template.find_resources(resource_type).values()
    return resource["Properties"]


def test_waf_has_the_managed_rule_groups_and_a_rate_limit(
    templates: dict[str, Template], settings: Settings, config: DeploymentConfig
) -> None:
    acl = _one(templates["ingest"], "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["Name"] == names.web_acl_name(settings)
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    rate = rules["rate-limit-per-ip"]["Statement"]["RateBasedStatement"]
    assert rate == {"Limit": config.waf_rate_limit_per_ip, "AggregateKeyType": "IP"}
    assert "Block" in rules["rate-limit-per-ip"]["Action"]
    for group in MANAGED_RULE_GROUPS:
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        assert statement == {"VendorName": "AWS", "Name": group}
    assert "AWSManagedRulesKnownBadInputsRuleSet" in rules  # Log4j and friends
    logging = _one(templates["ingest"], "AWS::WAFv2::LoggingConfiguration")
    assert logging["LoggingFilter"]["DefaultBehavior"] == "DROP"  # allowed requests unlogged
    (destination,) = logging["LogDestinationConfigs"]
    # WAF rejects the log group's Arn attribute (it ends in ":*"): the ARN is built by name.
    assert "Fn::GetAtt" not in str(destination)
    assert ":log-group:" in str(destination)


def test_cloudfront_is_https_only_uncached_and_behind_the_waf(
    templates: dict[str, Template],
) -> None:
    config = _one(templates["ingest"], "AWS::CloudFront::Distribution")["DistributionConfig"]
    assert "WebACLId" in config
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "https-only"
    assert "POST" in behavior["AllowedMethods"]
    assert behavior["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # disabled
    (origin,) = config["Origins"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert config["Logging"]["Prefix"] == "cloudfront/ingest/"


def test_http_api_routes_throttling_and_access_logs(
    templates: dict[str, Template], config: DeploymentConfig
) -> None:
    routes = templates["ingest"].find_resources("AWS::ApiGatewayV2::Route")
    keys = {route["Properties"]["RouteKey"] for route in routes.values()}
    assert keys == {f"POST {path}" for path in INGEST_ROUTES}
    stage = _one(templates["ingest"], "AWS::ApiGatewayV2::Stage")
    assert stage["StageName"] == "$default"
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": config.api_rate_limit_per_second,
        "ThrottlingBurstLimit": config.api_burst_limit,
    }
    assert "sourceIp" not in stage["AccessLogSettings"]["Format"]
    assert "$context.requestId" in stage["AccessLogSettings"]["Format"]


def test_function_limits_tracing_dead_letters_and_quiet_system_logs(
    templates: dict[str, Template], settings: Settings, config: DeploymentConfig
) -> None:
    templates["ingest"].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": names.ingest_function_name(settings),
            "Handler": "streaming.ingest.lambda_handler.handler",
            "Runtime": "python3.11",
            "ReservedConcurrentExecutions": config.ingest_reserved_concurrency,
            "TracingConfig": {"Mode": "Active"},
            "DeadLetterConfig": {"TargetArn": Match.any_value()},
            "KmsKeyArn": Match.any_value(),
            "Layers": Match.any_value(),
            "LoggingConfig": {
                "LogFormat": "JSON",
                "SystemLogLevel": "WARN",
                "ApplicationLogLevel": "INFO",
                "LogGroup": Match.any_value(),
            },
        },
    )


def test_function_package_is_the_streaming_package_only(deployment: Deployment) -> None:
    """The asset is the repository root with everything but ``streaming/`` left out."""
    staged = [
        path
        for path in Path(deployment.app.outdir).glob("asset.*")
        # the dashboards' image context holds streaming/ too, next to its Dockerfile
        if (path / "streaming").is_dir() and not (path / "pyproject.toml").exists()
    ]
    (package,) = staged
    assert {entry.name for entry in package.iterdir()} == {"streaming"}
    assert (package / "streaming" / "contracts" / "settings.py").is_file()
    assert (package / "streaming" / "schemas").is_dir()
    assert not list(package.rglob("__pycache__"))
    assert (REPO_ROOT / "streaming").is_dir()


def test_secrets_are_generated_and_encrypted_with_the_ingest_key(
    templates: dict[str, Template], settings: Settings
) -> None:
    for name in (settings.hmac_secret_name, names.api_keys_secret_name(settings)):
        templates["ingest"].has_resource_properties(
            "AWS::SecretsManager::Secret",
            {
                "Name": name,
                "KmsKeyId": Match.any_value(),
                "GenerateSecretString": Match.object_like({"ExcludePunctuation": True}),
            },
        )


def test_outside_us_east_1_the_web_acl_lives_in_an_edge_stack_there(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        env="aws",
        stage="eu",
        aws_account_id="210987654321",
        aws_region="eu-west-1",
    )
    deployment = build(settings, DeploymentConfig(), app=new_app(outdir=str(tmp_path)))
    assert deployment.edge is not None
    assert deployment.edge.region == "us-east-1"
    assert deployment.ingest.region == "eu-west-1"
    Template.from_stack(deployment.edge).resource_count_is("AWS::WAFv2::WebACL", 1)
    ingest = Template.from_stack(deployment.ingest)
    ingest.resource_count_is("AWS::WAFv2::WebACL", 0)
    ingest.resource_count_is("AWS::CloudFront::Distribution", 1)
