"""boto3 clients built from settings: the local servers in ``local``, real AWS in ``aws``.

Every AWS call in the project goes through :func:`client`, so the same code runs in both
environments and only the endpoint of each service (and, locally, dummy credentials) differ.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.utils import parse_timestamp

from streaming.contracts.settings import Settings

LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def client(settings: Settings, service: str, **config: Any) -> Any:
    """A boto3 client for ``service``; ``config`` overrides botocore Config fields."""
    options: dict[str, Any] = {"retries": {"max_attempts": 3, "mode": "standard"}}
    options.update(config)
    kwargs: dict[str, Any] = {"region_name": settings.region, "config": Config(**options)}
    endpoint = settings.endpoint_url(service)
    if endpoint is not None:
        kwargs["endpoint_url"] = endpoint
        kwargs.update(LOCAL_CREDENTIALS)
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=utc_timestamp
    )
    # The stubs type Session.client() per literal service name; here the name is a run-time str.
    session: Any = boto3.session.Session(botocore_session=core)
    return session.client(service, **kwargs)


def utc_timestamp(value: Any) -> datetime:
    """A timestamp of a response as an aware UTC datetime. botocore's own parser gives epoch
    numbers (Kinesis' arrival times, one per record) the local zone through ``dateutil``, at
    about 27 µs each; other forms still go to it, and what it answers is put in UTC (a time
    without a zone is read as UTC, as AWS means it)."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    parsed = parse_timestamp(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
