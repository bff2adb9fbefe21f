"""The deployed ingest resolves its secrets from Secrets Manager ARNs at cold start."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from streaming.contracts.settings import Settings
from streaming.ingest.secrets import (
    API_KEYS_SECRET_ARN_VARIABLE,
    API_KEYS_VARIABLE,
    HMAC_SECRET_ARN_VARIABLE,
    HMAC_SECRET_VARIABLE,
    SecretFormatError,
    api_keys_from_secret,
    load_secrets_into_environment,
)


@pytest.fixture
def secretsmanager():
    with mock_aws():
        yield boto3.client(
            "secretsmanager",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def test_secrets_named_by_arn_reach_the_settings(secretsmanager, tmp_path) -> None:
    hmac_arn = secretsmanager.create_secret(Name="hmac", SecretString="k" * 64)["ARN"]
    keys_arn = secretsmanager.create_secret(
        Name="keys", SecretString=json.dumps({"backend": "key-b", "partner": "key-a"})
    )["ARN"]
    environment = {HMAC_SECRET_ARN_VARIABLE: hmac_arn, API_KEYS_SECRET_ARN_VARIABLE: keys_arn}
    load_secrets_into_environment(secretsmanager, environment)
    assert environment[HMAC_SECRET_VARIABLE] == "k" * 64
    assert json.loads(environment[API_KEYS_VARIABLE]) == ["key-a", "key-b"]

    settings = Settings(
        _env_file=None,
        home=tmp_path,
        env="aws",
        aws_account_id="123456789012",
        ingest={
            "hmac_secret": environment[HMAC_SECRET_VARIABLE],
            "api_keys": json.loads(environment[API_KEYS_VARIABLE]),
        },
    )
    assert settings.hmac_key == b"k" * 64
    assert [key.get_secret_value() for key in settings.ingest.api_keys] == ["key-a", "key-b"]


def test_values_already_set_win(secretsmanager) -> None:
    environment = {HMAC_SECRET_ARN_VARIABLE: "arn:never-read", HMAC_SECRET_VARIABLE: "given"}
    load_secrets_into_environment(secretsmanager, environment)
    assert environment[HMAC_SECRET_VARIABLE] == "given"


@pytest.mark.parametrize("value", ["not json", "[]", '{"a": ""}', '{"a": 3}'])
def test_malformed_api_keys_secret_is_a_clear_error(value: str) -> None:
    with pytest.raises(SecretFormatError):
        api_keys_from_secret(value)


def test_settings_read_the_api_keys_variable_as_json(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(API_KEYS_VARIABLE, json.dumps(["a", "b"]))
    settings = Settings(_env_file=None, home=tmp_path)
    assert [key.get_secret_value() for key in settings.ingest.api_keys] == ["a", "b"]
