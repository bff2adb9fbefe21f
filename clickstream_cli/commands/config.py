"""``clickstream config``: the resolved settings, as every component sees them."""

from __future__ import annotations

from typing import get_args

import orjson
import typer


def show_config() -> None:
    """Print the resolved settings and the resource names derived from them (secrets masked)."""
    from streaming.contracts.settings import BucketPurpose, get_settings

    settings = get_settings()
    resolved = settings.model_dump(mode="json")
    resolved["derived"] = {
        "stream_name": settings.stream_name,
        "stream_arn": settings.stream_arn,
        "delivery_stream_name": settings.delivery_stream_name,
        "dlq_name": settings.dlq_name,
        "buckets": {purpose: settings.bucket_name(purpose) for purpose in get_args(BucketPurpose)},
        "glue_databases": list(settings.glue_databases),
        "athena_workgroup": settings.athena_workgroup,
        "redshift_workgroup": settings.redshift_workgroup_name,
        "redshift_database": settings.redshift_database,
        "redshift_iam_role_arn": settings.redshift_iam_role_arn,
        "realtime_dir": str(settings.realtime_dir),
        "aws_endpoint_url": settings.aws_endpoint_url,
        "kinesis_endpoint_url": settings.kinesis_endpoint_url,
        "ingest_url": settings.ingest_url,
        "catalog_uri": settings.catalog_uri,
        "landing_dir": str(settings.landing_dir),
    }
    typer.echo(orjson.dumps(resolved, option=orjson.OPT_INDENT_2).decode())
