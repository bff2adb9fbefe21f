"""The ingest as an AWS Lambda function behind an API Gateway HTTP API (payload format 2.0).

Handler path: ``streaming.ingest.lambda_handler.handler``. The same service as the ASGI server;
each invocation flushes the producer and waits for every record's acknowledgement (Kinesis or
the dead-letter queue) and for the quarantine write before it answers.

The client address starts from API Gateway's ``requestContext.http.sourceIp`` (the connection
API Gateway received); behind CloudFront that is an edge server, so the deployment lists
CloudFront's networks in ``CLICKSTREAM_INGEST__TRUSTED_PROXIES`` and the address is the
right-most ``X-Forwarded-For`` hop outside them (see ``docs/event-contract.md``).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from typing import Any

from streaming.contracts.aws_clients import client
from streaming.contracts.settings import Settings, get_settings
from streaming.ingest.http_contract import HttpRequest, HttpResponse, error_response
from streaming.ingest.runtime import Runtime, build_runtime
from streaming.ingest.secrets import (
    API_KEYS_SECRET_ARN_VARIABLE,
    HMAC_SECRET_ARN_VARIABLE,
    load_secrets_into_environment,
)

INVOCATION_TIMEOUT_S = 25.0
logger = logging.getLogger(__name__)
_runtime: list[Runtime] = []


def runtime() -> Runtime:
    """Built once per execution environment and reused by every invocation."""
    if not _runtime:
        if HMAC_SECRET_ARN_VARIABLE in os.environ or API_KEYS_SECRET_ARN_VARIABLE in os.environ:
            load_secrets_into_environment(client(Settings(), "secretsmanager"))
            get_settings.cache_clear()
        _runtime.append(build_runtime(get_settings()))
    return _runtime[0]


def use_runtime(instance: Runtime | None) -> None:
    """Replace (or with None, forget) the runtime invocations use."""
    _runtime.clear()
    if instance is not None:
        _runtime.append(instance)


def request_from_event(event: dict[str, Any]) -> HttpRequest:
    http = event.get("requestContext", {}).get("http", {})
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    body_text = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body_text, validate=True)
    else:
        body = body_text.encode()
    return HttpRequest(
        method=http.get("method", "GET").upper(),
        path=event.get("rawPath") or http.get("path", "/"),
        headers=headers,
        body=body,
        peer_ip=http.get("sourceIp"),
        forwarded_for=[headers["x-forwarded-for"]] if "x-forwarded-for" in headers else [],
    )


def _proxy_response(answer: HttpResponse) -> dict[str, Any]:
    return {
        "statusCode": answer.status,
        "headers": answer.headers,
        "body": answer.body.decode(),
        "isBase64Encoded": False,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    current = runtime()
    try:
        return _proxy_response(_answer(current, event))
    except Exception:
        logger.exception("the ingest failed to answer a request")
        current.service.metrics.count_response(500)
        answer = error_response(500, "internal_error", "the ingest failed; send it again")
        return _proxy_response(answer)


def _answer(current: Runtime, event: dict[str, Any]) -> HttpResponse:
    try:
        request = request_from_event(event)
    except (binascii.Error, ValueError):
        current.service.metrics.count_response(400)
        return error_response(400, "malformed_body", "the body is not base64")
    outcome = current.service.start(request)
    if isinstance(outcome, HttpResponse):
        return outcome
    current.sink.flush()
    try:
        for future in outcome.futures:
            future.exception(timeout=INVOCATION_TIMEOUT_S)
    except TimeoutError:
        current.service.metrics.count_response(503)
        message = f"not acknowledged within {INVOCATION_TIMEOUT_S:g} s; send the request again"
        return error_response(503, "delivery_failed", message, **{"retry-after": "1"})
    return outcome.finish()
