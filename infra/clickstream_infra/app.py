"""The CDK app: eight stacks, in deploy order, named and configured from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import App, Environment, Stack, Tags

from clickstream_infra import names
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.alerts import AlertsStack
from clickstream_infra.stacks.dashboards import DashboardsStack
from clickstream_infra.stacks.edge import EdgeStack
from clickstream_infra.stacks.ingest import IngestStack
from clickstream_infra.stacks.lake import LakeStack
from clickstream_infra.stacks.observability import ObservabilityStack
from clickstream_infra.stacks.orchestration import OrchestrationStack
from clickstream_infra.stacks.streaming import StreamingStack
from clickstream_infra.stacks.warehouse import WarehouseStack
from streaming.contracts.settings import Settings

# CDK behaviours this app relies on (the CLI's cdk.json context is not read by tests).
FEATURE_FLAGS = {
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/core:checkSecretUsage": True,
    "@aws-cdk/aws-lambda:recognizeLayerVersion": True,
    "@aws-cdk/aws-kms:reduceCrossAccountRegionPolicyScope": True,
    # Stacks reference each other through exports, which protect the producer from removal.
    "@aws-cdk/core:defaultCrossStackReferences": "strong",
}


def new_app(outdir: str | None = None) -> App:
    return App(outdir=outdir, context=dict(FEATURE_FLAGS))


@dataclass(frozen=True)
class Deployment:
    app: App
    lake: LakeStack
    streaming: StreamingStack
    ingest: IngestStack
    alerts: AlertsStack
    warehouse: WarehouseStack
    orchestration: OrchestrationStack
    observability: ObservabilityStack
    dashboards: DashboardsStack
    edge: EdgeStack | None = None

    @property
    def stacks(self) -> dict[str, Stack]:
        return {purpose: getattr(self, purpose) for purpose in names.STACKS}


def deployment_settings(**overrides: Any) -> Settings:
    """The application's settings for ``aws``: from the same ``CLICKSTREAM_*`` variables.

    Without ``CLICKSTREAM_AWS_ACCOUNT_ID`` (offline checks, CI) the local placeholder account
    is used; a deploy with it fails at the CDK's account check rather than deploying elsewhere.
    """
    base = Settings(**overrides)
    return Settings(
        **{
            **overrides,
            "env": "aws",
            "aws_account_id": base.aws_account_id or base.local_aws.account_id,
        }
    )


def build(
    settings: Settings, config: DeploymentConfig | None = None, app: App | None = None
) -> Deployment:
    if settings.env != "aws":
        raise ValueError("the deployment is built from settings with env='aws'")
    app = app or new_app()
    config = config or DeploymentConfig.from_context(
        {key: app.node.try_get_context(key) for key in DeploymentConfig.__dataclass_fields__}
    )
    env = Environment(account=settings.account_id, region=settings.region)

    def stack_id(purpose: str) -> str:
        return names.stack_name(settings, purpose)

    common: dict[str, Any] = {"settings": settings, "config": config, "env": env}
    edge = None
    if settings.region != names.CLOUDFRONT_REGION:
        edge = EdgeStack(
            app,
            stack_id("edge"),
            settings=settings,
            config=config,
            env=Environment(account=settings.account_id, region=names.CLOUDFRONT_REGION),
            cross_region_references=True,
        )
    lake = LakeStack(app, stack_id("lake"), **common)
    streaming = StreamingStack(app, stack_id("streaming"), lake=lake, **common)
    ingest = IngestStack(
        app,
        stack_id("ingest"),
        lake=lake,
        streaming=streaming,
        edge=edge,
        cross_region_references=edge is not None,
        **common,
    )
    alerts = AlertsStack(app, stack_id("alerts"), streaming=streaming, **common)
    warehouse = WarehouseStack(app, stack_id("warehouse"), streaming=streaming, **common)
    orchestration = OrchestrationStack(
        app,
        stack_id("orchestration"),
        lake=lake,
        streaming=streaming,
        warehouse=warehouse,
        **common,
    )
    observability = ObservabilityStack(app, stack_id("observability"), ingest=ingest, **common)
    dashboards = DashboardsStack(
        app, stack_id("dashboards"), lake=lake, warehouse=warehouse, **common
    )
    Tags.of(app).add("project", settings.project)
    Tags.of(app).add("stage", settings.stage)
    return Deployment(
        app,
        lake,
        streaming,
        ingest,
        alerts,
        warehouse,
        orchestration,
        observability,
        dashboards,
        edge,
    )
