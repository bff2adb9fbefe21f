"""One synthesis of the whole deployment, shared by every assertion test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk.assertions import Template

from clickstream_infra.app import Deployment, build, new_app
from clickstream_infra.config import DeploymentConfig
from streaming.contracts.settings import Settings

TEST_ACCOUNT = "210987654321"
TEST_REGION = "us-east-1"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(
        _env_file=None,
        env="aws",
        project="clickstream",
        stage="test",
        aws_account_id=TEST_ACCOUNT,
        aws_region=TEST_REGION,
    )


@pytest.fixture(scope="session")
def config() -> DeploymentConfig:
    return DeploymentConfig()


@pytest.fixture(scope="session")
def deployment(
    settings: Settings, config: DeploymentConfig, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    app = new_app(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    return build(settings, config, app=app)


@pytest.fixture(scope="session")
def templates(deployment: Deployment) -> dict[str, Template]:
    return {purpose: Template.from_stack(stack) for purpose, stack in deployment.stacks.items()}


@pytest.fixture(scope="session")
def resources(templates: dict[str, Template]) -> list[tuple[str, str, dict[str, Any]]]:
    """(stack purpose, logical id, resource) for every resource of every template."""
    return [
        (purpose, logical_id, resource)
        for purpose, template in templates.items()
        for logical_id, resource in template.to_json()["Resources"].items()
    ]


def of_type(
    resources: list[tuple[str, str, dict[str, Any]]], resource_type: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    for _, logical_id, resource in resources:
        if resource["Type"] == resource_type:
            yield logical_id, resource
