"""boto3 clients built from settings: the local moto endpoint in ``local``, real AWS in ``aws``.

Every AWS call in the project goes through :func:`client`, so the same code runs in both
environments and only the endpoint (and, locally, dummy credentials) differ.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from streaming.settings import Settings

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def client(settings: Settings, service: str, **config: Any) -> Any:
    """A boto3 client for ``service``; ``config`` overrides botocore Config fields."""
    options: dict[str, Any] = {"retries": {"max_attempts": 3, "mode": "standard"}}
    options.update(config)
    kwargs: dict[str, Any] = {"region_name": settings.region, "config": Config(**options)}
    if settings.aws_endpoint_url is not None:
        kwargs["endpoint_url"] = settings.aws_endpoint_url
        kwargs.update(LOCAL_CREDENTIALS)
    return boto3.session.Session().client(service, **kwargs)
