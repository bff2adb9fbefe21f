"""The ingest core: what becomes of each client event, independent of how it arrived.

Shared by the HTTP server and the Lambda handler. For each event, in this order:

1. not a JSON object → rejected (``not_an_object``);
2. ``user.consent.analytics`` is ``false`` → discarded: stored nowhere, only counted;
3. larger than ``max_event_bytes`` as compact JSON → rejected (``event_too_large``), whatever
   else is wrong with it;
4. a ``schema_version`` of an unknown MODEL → rejected (``unsupported_version``);
5. schema violations → rejected (``schema_violation``) with every violation;
6. otherwise enriched (:func:`streaming.enrichment.enrich`) into a producer record keyed by
   :func:`streaming.enrichment.partition_key`.

Rejected events become quarantine records (reasons and the size-capped payload, IP addresses
truncated). The core never sees the raw client address: callers pass it already anonymised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from streaming.enrichment import RequestContext, enrich, partition_key
from streaming.ingest.privacy import scrub_ips, scrub_text
from streaming.landing import quarantine_record
from streaming.producer.records import StreamRecord
from streaming.schema_registry import (
    INGEST_EVENT,
    RegisteredSchema,
    SchemaRegistry,
    UnknownSchemaError,
    default_registry,
)
from streaming.settings import IngestSettings

ACCEPTED, REJECTED, DISCARDED = "accepted", "rejected", "discarded"
NOT_AN_OBJECT = "not_an_object"
EVENT_TOO_LARGE = "event_too_large"
UNSUPPORTED_VERSION = "unsupported_version"
SCHEMA_VIOLATION = "schema_violation"
REJECTION_REASONS = (NOT_AN_OBJECT, EVENT_TOO_LARGE, UNSUPPORTED_VERSION, SCHEMA_VIOLATION)
_VERSION_CACHE_LIMIT = 64
CLIENT_ONLY_BYTES = 512
"""More than what a client event holds that its producer record does not (``user.consent``, a
client user hash longer than the re-keyed one): a record this much under the size limit proves
the event under it without serializing the event again."""
_JSON_TYPES = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


@dataclass(frozen=True, slots=True)
class Violation:
    """One reason an event was rejected; ``pointer`` is a JSON pointer into the event."""

    pointer: str
    keyword: str
    message: str

    def answer(self) -> dict[str, str]:
        return {"pointer": self.pointer, "keyword": self.keyword, "message": self.message}

    def quarantine_reason(self) -> dict[str, str]:
        """The shape of the reasons the landing store already holds (``path``); messages and
        pointers may quote the payload, so addresses in them are truncated too."""
        return {
            "path": scrub_text(self.pointer),
            "keyword": self.keyword,
            "message": scrub_text(self.message),
        }


@dataclass(frozen=True, slots=True)
class _Rejection:
    reason: str
    violations: list[Violation]
    raw: bytes
    """The event as compact JSON."""


@dataclass(slots=True)
class EventResult:
    index: int
    status: str
    event_id: str | None = None
    reason: str | None = None
    violations: list[Violation] | None = None

    def answer(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.event_id is not None:
            answer["event_id"] = self.event_id
        if self.reason is not None:
            answer["reason"] = self.reason
            answer["errors"] = [violation.answer() for violation in self.violations or ()]
        return answer


@dataclass
class Processed:
    """The outcome of one request's events."""

    results: list[EventResult] = field(default_factory=list)
    records: list[StreamRecord] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0
    discarded: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())


class IngestCore:
    def __init__(
        self,
        settings: IngestSettings,
        hmac_key: bytes,
        registry: SchemaRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.hmac_key = hmac_key
        self.registry = registry or default_registry()
        self._schemas: dict[object, RegisteredSchema] = {}

    def process(self, events: list[Any], request: RequestContext) -> Processed:
        """``request.client_ip`` must already be anonymised."""
        processed = Processed()
        for index, event in enumerate(events):
            self._one(index, event, request, processed)
        return processed

    def _one(self, index: int, event: Any, request: RequestContext, out: Processed) -> None:
        if isinstance(event, dict) and consent_off(event):
            out.results.append(EventResult(index, DISCARDED))
            out.discarded += 1
            return
        verdict = self._check(event)
        if isinstance(verdict, _Rejection):
            self._reject(out, index, event, verdict, request)
            return
        payload = enrich(event, request=request, schema=verdict, hmac_key=self.hmac_key)
        data = orjson.dumps(payload)
        limit = self.settings.max_event_bytes
        if len(data) + CLIENT_ONLY_BYTES > limit:  # only then can the client event be too large
            raw = orjson.dumps(event)
            if len(raw) > limit:
                self._reject(out, index, event, self._too_large(raw), request)
                return
        out.records.append(StreamRecord(data, partition_key(payload)))
        out.results.append(EventResult(index, ACCEPTED, event_id=payload["event_id"]))
        out.accepted += 1

    def _check(self, event: Any) -> RegisteredSchema | _Rejection:
        """The schema that accepts the event, or why it is rejected (size before schema)."""
        if not isinstance(event, dict):
            kind = _JSON_TYPES.get(type(event), type(event).__name__)
            message = f"an event must be a JSON object, not {kind}"
            return _Rejection(NOT_AN_OBJECT, [Violation("", "type", message)], orjson.dumps(event))
        try:
            schema = self._schema(event.get("schema_version"))
        except UnknownSchemaError as error:
            reason = UNSUPPORTED_VERSION
            violations = [Violation("/schema_version", "schema_version", str(error))]
        else:
            if schema.is_valid(event):
                return schema
            reason = SCHEMA_VIOLATION
            violations = [
                Violation(issue.pointer, issue.keyword, issue.message)
                for issue in schema.issues(event)
            ]
        raw = orjson.dumps(event)
        if len(raw) > self.settings.max_event_bytes:
            return self._too_large(raw)
        return _Rejection(reason, violations, raw)

    def _too_large(self, raw: bytes) -> _Rejection:
        limit = self.settings.max_event_bytes
        message = f"the event is {len(raw)} bytes as compact JSON; the limit is {limit}"
        return _Rejection(EVENT_TOO_LARGE, [Violation("", "maxEventBytes", message)], raw)

    def _schema(self, version: object) -> RegisteredSchema:
        key = version if isinstance(version, str) else None
        schema = self._schemas.get(key)
        if schema is None:
            schema = self.registry.resolve(INGEST_EVENT, version)
            if len(self._schemas) < _VERSION_CACHE_LIMIT:
                self._schemas[key] = schema
        return schema

    def _reject(
        self,
        out: Processed,
        index: int,
        event: Any,
        rejection: _Rejection,
        request: RequestContext,
    ) -> None:
        scrubbed, changed = scrub_ips(event)
        out.quarantined.append(
            quarantine_record(
                orjson.dumps(scrubbed) if changed else rejection.raw,
                [violation.quarantine_reason() for violation in rejection.violations],
                received_at_ms=request.received_at_ms,
                source=request.source,
                kind=rejection.reason,
                payload_cap=self.settings.quarantine_payload_bytes,
            )
        )
        out.results.append(
            EventResult(index, REJECTED, reason=rejection.reason, violations=rejection.violations)
        )
        reasons = out.rejected_by_reason
        reasons[rejection.reason] = reasons.get(rejection.reason, 0) + 1


def consent_off(event: dict[str, Any]) -> bool:
    """``user.consent.analytics`` is ``false``: the event must be stored nowhere."""
    user = event.get("user")
    consent = user.get("consent") if isinstance(user, dict) else None
    return isinstance(consent, dict) and consent.get("analytics") is False
