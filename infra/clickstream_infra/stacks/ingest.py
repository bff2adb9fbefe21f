"""Ingest: CloudFront with WAF in front of an HTTP API, the ingest Lambda and its secrets."""

from __future__ import annotations

import json
from pathlib import Path

import jsii
from aws_cdk import CfnOutput, Duration, Fn, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
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
from clickstream_infra.stacks.edge import EdgeStack, web_acl
from clickstream_infra.stacks.lake import LakeStack
from clickstream_infra.stacks.streaming import StreamingStack
from streaming.contracts.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[3]
INGEST_PACKAGE = "streaming"
# Third-party packages of the function: built by `make -C infra layer` before a deploy.
LAYER_DIR = REPO_ROOT / "infra" / "build" / "ingest-layer"
INGEST_ROUTES = ("/v1/events", "/v1/batch")


def function_code() -> lambda_.Code:
    """The repository root, limited to the ``streaming`` package (handler, schemas, settings).

    Git-style patterns: excluded directories are never walked, and the asset's hash depends on
    the package alone, not on what else a checkout holds (.venv, .clickstream, ...).
    """
    return lambda_.Code.from_asset(
        str(REPO_ROOT),
        ignore_mode=IgnoreMode.GIT,
        exclude=["/*", f"!/{INGEST_PACKAGE}", "__pycache__/", "*.pyc"],
    )


def layer_code() -> lambda_.Code:
    LAYER_DIR.mkdir(parents=True, exist_ok=True)
    return lambda_.Code.from_asset(str(LAYER_DIR))


def function_environment(settings: Settings) -> dict[str, str]:
    """The settings the function resolves every name from: the same as the deployment's."""
    return {
        **application_environment(settings, home="/tmp/clickstream"),  # Lambda's only writable path
        "CLICKSTREAM_INGEST__ALLOWED_ORIGINS": json.dumps(settings.ingest.allowed_origins),
        # API Gateway sees CloudFront's edge servers: their networks make X-Forwarded-For count.
        "CLICKSTREAM_INGEST__TRUSTED_PROXIES": json.dumps(settings.ingest.trusted_proxies),
    }


class IngestStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        config: DeploymentConfig,
        lake: LakeStack,
        streaming: StreamingStack,
        edge: EdgeStack | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.config = config
        self.key = customer_key(
            self, names.key_alias(settings, "ingest"), "clickstream ingest: secrets, logs"
        )
        allow_log_encryption(self.key)
        self.hmac_secret = secretsmanager.Secret(
            self,
            "HmacSecret",
            secret_name=settings.hmac_secret_name,
            description="Server key that re-keys user hashes (CLICKSTREAM_INGEST__HMAC_SECRET)",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.api_keys_secret = secretsmanager.Secret(
            self,
            "ApiKeysSecret",
            secret_name=names.api_keys_secret_name(settings),
            description="Ingest API keys, a JSON object name -> key (CLICKSTREAM_INGEST__API_KEYS)",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",
                generate_string_key="default",
                password_length=40,
                exclude_punctuation=True,
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Neither secret rotates on a timer: a new HMAC key re-keys every user id, and API keys
        # are shared with SDK clients; docs/deploy.md describes rotating them by hand.
        self.function = self._function(lake, streaming)
        self.api = self._http_api()
        if edge is None:
            # CloudFront's web ACLs live in us-east-1: in that region the ingest stack holds it.
            web_acl_arn = web_acl(self, settings, config, self.key).attr_arn
        else:
            web_acl_arn = edge.web_acl.attr_arn
        self.distribution = self._distribution(lake, web_acl_arn)
        CfnOutput(
            self,
            "IngestUrl",
            value=f"https://{self.distribution.distribution_domain_name}",
            description="Where SDKs and servers post events (/v1/events, /v1/batch)",
        )

    def _function(self, lake: LakeStack, streaming: StreamingStack) -> lambda_.Function:
        settings = self.settings
        log_group = encrypted_log_group(
            self,
            "FunctionLogs",
            f"/aws/lambda/{names.ingest_function_name(settings)}",
            self.key,
            self.config,
        )
        layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=layer_code(),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_11],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="third-party packages of the ingest function (make -C infra layer)",
        )
        function = lambda_.Function(
            self,
            "Function",
            function_name=names.ingest_function_name(settings),
            description="validate, consent, anonymise, re-key, enrich; put to Kinesis",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.X86_64,
            handler=names.INGEST_HANDLER,
            code=function_code(),
            layers=[layer],
            memory_size=self.config.ingest_memory_mb,
            timeout=Duration.seconds(10),
            reserved_concurrent_executions=self.config.ingest_reserved_concurrency,
            environment={
                **function_environment(settings),
                names.HMAC_SECRET_ARN_VARIABLE: self.hmac_secret.secret_arn,
                names.API_KEYS_SECRET_ARN_VARIABLE: self.api_keys_secret.secret_arn,
            },
            environment_encryption=self.key,
            dead_letter_queue=streaming.invocation_dlq,
            tracing=(
                lambda_.Tracing.ACTIVE
                if self.config.ingest_active_tracing
                else lambda_.Tracing.PASS_THROUGH
            ),
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            # START/END/REPORT lines at 1,000 requests/s would dominate the log bill.
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
        )
        for statement in self._function_permissions(lake, streaming):
            function.add_to_role_policy(statement)
        # The CDK adds an explicit DependsOn on the role next to the GetAtt that already orders it.
        cfn_function: lambda_.CfnFunction = function.node.default_child  # type: ignore[assignment]
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        skip_check(
            function,
            "CKV_AWS_117",
            "The function reaches only AWS APIs (Kinesis, SQS, S3, Secrets Manager) over TLS; "
            "a VPC would add NAT gateways or endpoints and cold-start cost for no isolation gain.",
        )
        return function

    def _function_permissions(
        self, lake: LakeStack, streaming: StreamingStack
    ) -> list[iam.PolicyStatement]:
        """Exactly what the ingest path does: put events, dead-letter them, quarantine them."""
        quarantine = lake.bronze.arn_for_objects(f"{self.settings.landing_quarantine_prefix}/*")
        return [
            iam.PolicyStatement(
                sid="PutEvents",
                actions=[
                    "kinesis:PutRecord",
                    "kinesis:PutRecords",
                    "kinesis:ListShards",
                    "kinesis:DescribeStreamSummary",
                ],
                resources=[streaming.stream.stream_arn],
            ),
            iam.PolicyStatement(
                sid="DeadLetter",
                actions=["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
                resources=[streaming.dlq.queue_arn],
            ),
            iam.PolicyStatement(
                sid="EncryptStreamAndDeadLetters",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[streaming.key.key_arn],
            ),
            iam.PolicyStatement(
                sid="Quarantine",
                actions=["s3:PutObject"],
                resources=[quarantine],
            ),
            iam.PolicyStatement(
                sid="EncryptQuarantine",
                actions=["kms:GenerateDataKey"],
                resources=[lake.key.key_arn],
            ),
            iam.PolicyStatement(
                sid="ReadSecrets",
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[self.hmac_secret.secret_arn, self.api_keys_secret.secret_arn],
            ),
            iam.PolicyStatement(
                sid="DecryptSecretsAndEnvironment",
                actions=["kms:Decrypt"],
                resources=[self.key.key_arn],
            ),
        ]

    def _http_api(self) -> apigw.HttpApi:
        settings = self.settings
        integration = integrations.HttpLambdaIntegration("Ingest", self.function)
        api = apigw.HttpApi(
            self,
            "Api",
            api_name=names.ingest_api_name(settings),
            description="clickstream ingest endpoint (behind CloudFront)",
            create_default_stage=False,
            cors_preflight=apigw.CorsPreflightOptions(
                allow_origins=settings.ingest.allowed_origins,
                allow_methods=[apigw.CorsHttpMethod.POST, apigw.CorsHttpMethod.OPTIONS],
                allow_headers=["content-type", "x-api-key"],
                max_age=Duration.hours(1),
            ),
        )
        for path in INGEST_ROUTES:
            api.add_routes(path=path, methods=[apigw.HttpMethod.POST], integration=integration)
        access_logs = encrypted_log_group(
            self,
            "ApiAccessLogs",
            f"/aws/apigateway/{names.ingest_api_name(settings)}",
            self.key,
            self.config,
        )
        stage = apigw.HttpStage(
            self,
            "DefaultStage",
            http_api=api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(
                rate_limit=self.config.api_rate_limit_per_second,
                burst_limit=self.config.api_burst_limit,
            ),
            access_log_settings=_AccessLogSettings(access_logs),
        )
        # Routes take no IAM authoriser: browsers post events without AWS credentials; the
        # function verifies API keys and payloads, WAF rate-limits at the edge.
        self.stage = stage
        return api

    def _distribution(self, lake: LakeStack, web_acl_arn: str) -> cloudfront.Distribution:
        api_host = Fn.select(2, Fn.split("/", self.api.api_endpoint))
        distribution = cloudfront.Distribution(
            self,
            "Edge",
            comment=f"{self.settings.resource_prefix} ingest",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(
                    api_host, protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY
                ),
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
            ),
            web_acl_id=web_acl_arn,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=lake.access_logs,
            log_file_prefix="cloudfront/ingest/",
        )
        skip_check(
            distribution,
            "CKV_AWS_174",
            "The distribution serves the default *.cloudfront.net certificate, whose minimum "
            "protocol CloudFront fixes; with a custom domain set TLSv1.2_2021 (docs/deploy.md).",
        )
        return distribution


# Access log lines carry no client IP: the project stores only truncated addresses.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
}


@jsii.implements(apigw.IAccessLogSettings)
class _AccessLogSettings:
    """JSON access log lines of the HTTP API stage, into an encrypted log group."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigw.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS))
