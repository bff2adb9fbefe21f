"""Secrets the deployed ingest reads at cold start: the HMAC key and the API keys.

The deployment passes secret ARNs, never values, in the function's environment; the values are
fetched once from Secrets Manager into the variables the settings object reads.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from typing import Any

HMAC_SECRET_ARN_VARIABLE = "CLICKSTREAM_INGEST_HMAC_SECRET_ARN"
API_KEYS_SECRET_ARN_VARIABLE = "CLICKSTREAM_INGEST_API_KEYS_SECRET_ARN"
HMAC_SECRET_VARIABLE = "CLICKSTREAM_INGEST__HMAC_SECRET"
API_KEYS_VARIABLE = "CLICKSTREAM_INGEST__API_KEYS"


class SecretFormatError(ValueError):
    """A secret's value is not in the form the ingest needs."""


def api_keys_from_secret(value: str) -> list[str]:
    """The API-keys secret is a JSON object of sender name -> key."""
    try:
        document = json.loads(value)
    except json.JSONDecodeError as error:
        raise SecretFormatError("the API-keys secret must be a JSON object") from error
    if not isinstance(document, dict) or not all(
        isinstance(key, str) and key for key in document.values()
    ):
        raise SecretFormatError("the API-keys secret must map sender names to non-empty keys")
    return sorted(document.values())


def load_secrets_into_environment(
    secretsmanager: Any, environment: MutableMapping[str, str] = os.environ
) -> None:
    """Fetch the secrets named by ARN variables into the settings' variables (if not set)."""
    hmac_arn = environment.get(HMAC_SECRET_ARN_VARIABLE)
    if hmac_arn and HMAC_SECRET_VARIABLE not in environment:
        value = secretsmanager.get_secret_value(SecretId=hmac_arn)["SecretString"]
        if not value.strip():
            raise SecretFormatError("the HMAC secret is empty")
        environment[HMAC_SECRET_VARIABLE] = value.strip()
    keys_arn = environment.get(API_KEYS_SECRET_ARN_VARIABLE)
    if keys_arn and API_KEYS_VARIABLE not in environment:
        value = secretsmanager.get_secret_value(SecretId=keys_arn)["SecretString"]
        environment[API_KEYS_VARIABLE] = json.dumps(api_keys_from_secret(value))
