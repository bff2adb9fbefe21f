"""The Firehose delivery stream, the stream's event source mapping and the alarms as infra/
synthesises them, checked against the AWS service models: each resource's properties become the
API call that creates it, botocore validates the parameters (a misspelt or mistyped property
fails here), and moto creates the delivery stream and the alarms it emulates.

The templates are infra's synthesised ones (``infra/cdk.out``, written by ``make infra-check``),
synthesised again into a temporary directory with infra's environment when they are older than
the infra sources.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.validate import ParamValidator
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / "infra"
ACCOUNT = "123456789012"
pytestmark = pytest.mark.timeout(300)


def _newest_source() -> float:
    sources = [*(INFRA / "clickstream_infra").rglob("*.py"), INFRA / "app.py"]
    sources.append(ROOT / "streaming" / "contracts" / "settings.py")
    return max(path.stat().st_mtime for path in sources)


def _synthesised(target: Path) -> Path:
    cached = INFRA / "cdk.out"
    templates = list(cached.glob("*.template.json"))
    if templates and min(path.stat().st_mtime for path in templates) > _newest_source():
        return cached
    python = INFRA / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.skip("infra's environment is not installed (make infra-check installs it)")
    home = ROOT / ".clickstream"
    environment = os.environ | {
        "CDK_OUTDIR": str(target),
        "HOME": str(home / "home"),
        "JSII_RUNTIME_PACKAGE_CACHE_ROOT": str(home / "cache" / "jsii"),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    (home / "home").mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(python), "app.py"],
        check=False,
        cwd=INFRA,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return target


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Every resource of every stack by type, its intrinsic functions resolved to placeholders."""
    found: dict[str, list[dict[str, Any]]] = {}
    for template in sorted(_synthesised(tmp_path_factory.mktemp("cdk")).glob("*.template.json")):
        for logical_id, resource in json.loads(template.read_text())["Resources"].items():
            properties = _resolved(resource.get("Properties", {}), logical_id)
            found.setdefault(resource["Type"], []).append(properties)
    return found


def _resolved(value: Any, logical_id: str) -> Any:
    """Ref, Fn::GetAtt, Fn::ImportValue, ... as an ARN-shaped placeholder string."""
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::")):
            return f"arn:aws:iam::{ACCOUNT}:role/{logical_id}-resolved"
        return {key: _resolved(item, logical_id) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item, logical_id) for item in value]
    return value


def _validate(service: str, operation: str, parameters: dict[str, Any]) -> None:
    model = boto3.session.Session().client(service, region_name="us-east-1").meta.service_model
    report = ParamValidator().validate(parameters, model.operation_model(operation).input_shape)
    assert not report.has_errors(), f"{operation}: {report.generate_report()}"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_the_delivery_stream_is_a_valid_create_delivery_stream_call(
    resources: dict[str, list[dict[str, Any]]], aws: None
) -> None:
    (delivery,) = resources["AWS::KinesisFirehose::DeliveryStream"]
    _validate("firehose", "CreateDeliveryStream", delivery)
    firehose = boto3.client("firehose", region_name="us-east-1")
    firehose.create_delivery_stream(**delivery)
    described = firehose.describe_delivery_stream(DeliveryStreamName=delivery["DeliveryStreamName"])
    destination = described["DeliveryStreamDescription"]["Destinations"][0]
    s3 = destination["ExtendedS3DestinationDescription"]
    assert s3["Prefix"].startswith("bronze/events_type=!{partitionKeyFromQuery:events_type}/")
    assert s3["DynamicPartitioningConfiguration"]["Enabled"] is True


def test_every_alarm_is_a_valid_put_metric_alarm_call(
    resources: dict[str, list[dict[str, Any]]], aws: None
) -> None:
    alarms = resources["AWS::CloudWatch::Alarm"]
    assert len(alarms) >= 9
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    for alarm in alarms:
        _validate("cloudwatch", "PutMetricAlarm", alarm)
        cloudwatch.put_metric_alarm(**alarm)
    created = cloudwatch.describe_alarms()["MetricAlarms"]
    assert sorted(alarm["AlarmName"] for alarm in created) == sorted(
        alarm["AlarmName"] for alarm in alarms
    )


def test_every_event_source_mapping_is_a_valid_create_call(
    resources: dict[str, list[dict[str, Any]]],
) -> None:
    mappings = resources.get("AWS::Lambda::EventSourceMapping", [])
    assert mappings
    for mapping in mappings:
        # CloudFormation lists tags as Key/Value pairs; the API takes a map
        parameters = dict(mapping)
        if "Tags" in parameters:
            parameters["Tags"] = {tag["Key"]: tag["Value"] for tag in parameters["Tags"]}
        _validate("lambda", "CreateEventSourceMapping", parameters)


def test_a_misspelt_property_fails_the_validation(
    resources: dict[str, list[dict[str, Any]]],
) -> None:
    (delivery,) = resources["AWS::KinesisFirehose::DeliveryStream"]
    misspelt = json.loads(json.dumps(delivery))
    hints = misspelt["ExtendedS3DestinationConfiguration"]["BufferingHints"]
    hints["IntervalInSecond"] = hints.pop("IntervalInSeconds")
    with pytest.raises(AssertionError, match="Unknown parameter"):
        _validate("firehose", "CreateDeliveryStream", misspelt)
