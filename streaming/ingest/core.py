"""The ingest core: what becomes of each client event, independent of how it arrived.

Shared by the HTTP server, the Lambda handler and the generator's landing sink, all through
:meth:`IngestCore.process_event`. For each event, in this order:

0. holding a value the stream's JSON cannot (an :class:`UnstorableEvent`) → rejected
   (``unstorable_value``);
1. nested deeper than ``max_nesting_depth`` → rejected (``nesting_too_deep``), before anything
   walks it (the validator, the serializer and the IP scrubber all recurse);
2. not a JSON object → rejected (``not_an_object``);
3. ``user.consent.analytics`` is ``false`` → discarded: stored nowhere, only counted;
4. larger than ``max_event_bytes`` as compact JSON → rejected (``event_too_large``), whatever
   else is wrong with it;
5. a ``schema_version`` of an unknown MODEL → rejected (``unsupported_version``);
6. schema violations → rejected (``schema_violation``) with every violation;
7. otherwise enriched (:func:`streaming.enrichment.payload_builder`) into a producer record keyed by
   :func:`streaming.enrichment.partition_key`.

An unexpected error while processing one event rejects that event (``processing_error``) and
no other. Rejected events become quarantine records (reasons and the size-capped payload, IP
addresses truncated). The core never sees the raw client address: callers build the request's
context with :func:`request_context`, which truncates it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

import orjson

from streaming.contracts.landing import quarantine_record
from streaming.contracts.schema_registry import (
    INGEST_EVENT,
    RegisteredSchema,
    SchemaRegistry,
    UnknownSchemaError,
    ValidationIssue,
    default_registry,
)
from streaming.contracts.settings import IngestSettings
from streaming.enrichment import (
    AgentDescriber,
    AgentFields,
    PayloadBuilder,
    RequestContext,
    anonymise_ip,
    describe_user_agent,
    new_event_id,
    partition_key,
    payload_builder,
)
from streaming.ingest.privacy import scrub_ips, scrub_json, scrub_text
from streaming.producer.records import StreamRecord

ACCEPTED, REJECTED, DISCARDED = "accepted", "rejected", "discarded"
NOT_AN_OBJECT = "not_an_object"
UNSTORABLE_VALUE = "unstorable_value"
NESTING_TOO_DEEP = "nesting_too_deep"
EVENT_TOO_LARGE = "event_too_large"
UNSUPPORTED_VERSION = "unsupported_version"
SCHEMA_VIOLATION = "schema_violation"
PROCESSING_ERROR = "processing_error"
REJECTION_REASONS = (
    UNSTORABLE_VALUE,
    NOT_AN_OBJECT,
    NESTING_TOO_DEEP,
    EVENT_TOO_LARGE,
    UNSUPPORTED_VERSION,
    SCHEMA_VIOLATION,
    PROCESSING_ERROR,
)
TRUNCATED_BRANCH = "…"
"""What stands in a quarantined payload for values nested deeper than the limit."""
logger = logging.getLogger(__name__)
_VERSION_CACHE_LIMIT = 64
CLIENT_ONLY_BYTES = 512
"""More than what a client event holds that its producer record does not (``user.consent``, a
client user hash longer than the re-keyed one): a record this much under the size limit proves
the event under it without serializing the event again."""
_CONTAINERS = (dict, list)
_JSON_TYPES = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def issue_answer(issue: ValidationIssue) -> dict[str, str]:
    """One reason an event was rejected, as the HTTP answer states it."""
    return {"pointer": issue.pointer, "keyword": issue.keyword, "message": issue.message}


def quarantine_reason(issue: ValidationIssue) -> dict[str, str]:
    """One reason an event was rejected, in the shape the landing store already holds
    (``path``); messages and pointers may quote the payload, so addresses in them are truncated
    too."""
    return {
        "path": scrub_text(issue.pointer),
        "keyword": issue.keyword,
        "message": scrub_text(issue.message),
    }


@dataclass(frozen=True, slots=True)
class UnstorableEvent:
    """An event of a valid JSON body that the stream's JSON cannot hold (see
    :mod:`streaming.ingest.body_json`): ``value`` as the standard library read it."""

    value: Any
    message: str

    def quarantine_payload(self, max_depth: int) -> bytes:
        """The event's JSON, ASCII with escapes, addresses truncated (a number out of range
        reads ``Infinity``)."""
        scrubbed, _ = scrub_ips(pruned(self.value, max_depth))
        return json.dumps(scrubbed, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class _Rejection:
    reason: str
    issues: list[ValidationIssue]
    raw: bytes
    """The event as compact JSON."""


@dataclass(slots=True)
class EventResult:
    """What became of one event: its answer, and what it leaves behind (the stream record of an
    accepted event, the quarantine row of a rejected one, nothing for a discarded one)."""

    index: int
    status: str
    event_id: str | None = None
    reason: str | None = None
    issues: list[ValidationIssue] | None = None
    record: StreamRecord | None = None
    quarantined: dict[str, Any] | None = None

    def answer(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.event_id is not None:
            answer["event_id"] = self.event_id
        if self.reason is not None:
            answer["reason"] = self.reason
            answer["errors"] = [issue_answer(issue) for issue in self.issues or ()]
        return answer


@dataclass
class Processed:
    """The outcome of one request's events. Accepted events are kept as three aligned lists
    rather than one :class:`EventResult` each: the common event then costs no object beyond
    its stream record."""

    records: list[StreamRecord] = field(default_factory=list)
    accepted_ids: list[str] = field(default_factory=list)
    """The event id of each record."""
    accepted_at: list[int] = field(default_factory=list)
    """The place in the request of each record's event."""
    others: list[EventResult] = field(default_factory=list)
    """Rejected and discarded events, in request order."""
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    discarded: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return len(self.records)

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())

    @property
    def results(self) -> list[EventResult]:
        """Every event's result, in request order."""
        accepted = [
            EventResult(index, ACCEPTED, event_id, record=record)
            for index, event_id, record in zip(
                self.accepted_at, self.accepted_ids, self.records, strict=True
            )
        ]
        return sorted(accepted + self.others, key=attrgetter("index"))

    def answers(self) -> list[dict[str, Any]]:
        """Every event's answer, in request order."""
        accepted = [
            {"index": index, "status": ACCEPTED, "event_id": event_id}
            for index, event_id in zip(self.accepted_at, self.accepted_ids, strict=True)
        ]
        if not self.others:
            return accepted
        answers = accepted + [result.answer() for result in self.others]
        return sorted(answers, key=itemgetter("index"))

    def add(self, result: EventResult) -> None:
        if result.record is not None and result.event_id is not None:
            self.records.append(result.record)
            self.accepted_ids.append(result.event_id)
            self.accepted_at.append(result.index)
            return
        self.others.append(result)
        if result.quarantined is not None and result.reason is not None:
            self.quarantined.append(result.quarantined)
            reasons = self.rejected_by_reason
            reasons[result.reason] = reasons.get(result.reason, 0) + 1
        else:
            self.discarded += 1


def request_context(
    *, received_at_ms: int, client_ip: str | None, viewer_country: str | None, source: str
) -> RequestContext:
    """What the core is told about a request: the client's address truncated before anything
    else sees it, the CDN's viewer-country header as sent."""
    return RequestContext(
        received_at_ms=received_at_ms,
        client_ip=anonymise_ip(client_ip),
        viewer_country=viewer_country,
        source=source,
    )


class IngestCore:
    def __init__(
        self,
        settings: IngestSettings,
        hmac_key: bytes,
        registry: SchemaRegistry | None = None,
        describe_agent: AgentDescriber = describe_user_agent,
    ) -> None:
        """``describe_agent`` must answer the same for the same user agent: the core keeps what
        it answered for each agent."""
        self.settings = settings
        self.hmac_key = hmac_key
        self.registry = registry or default_registry()
        self.describe_agent = describe_agent
        self._schemas: dict[object, RegisteredSchema] = {}
        self._agent_fields: dict[str | None, AgentFields] = {}
        self._user_hashes: dict[bytes, dict[str | None, str | None]] = {}
        """Re-keyed user hashes, under the one key they were made with."""
        self._quick_checks: dict[object, tuple[RegisteredSchema, Callable[[Any], bool]]] = {}

    def process(
        self,
        events: list[Any],
        request: RequestContext,
        *,
        event_id_factory: Callable[[], str] = new_event_id,
        first_index: int = 0,
    ) -> Processed:
        """Every event of a request; ``request`` comes from :func:`request_context`.

        The common event, a schema-valid object of a version seen before, is decided here as
        :meth:`_decide` decides it, with what the request and the schema give worked out once.
        Validation comes first on this path: a valid event nests no deeper than its schema lets
        it (``max_depth``), and only schemas that keep that within the limit are taken, so the
        nesting walk is left out. Any other event goes through :meth:`_decide`."""
        processed = Processed()
        records = processed.records.append
        accepted_ids = processed.accepted_ids.append
        accepted_at = processed.accepted_at.append
        add = processed.add
        checks = self._quick_checks
        build = self._builder(request)
        limit = self.settings.max_event_bytes
        dumps = orjson.dumps
        new_record = tuple.__new__  # StreamRecord's own __new__ is Python: 2 % of the event's cost
        for index, event in enumerate(events, first_index):
            known = None
            if isinstance(event, dict):
                version = event.get("schema_version")
                known = checks.get(version if isinstance(version, str) else None)
            valid = False
            if known is not None:
                schema, is_valid = known
                try:
                    valid = is_valid(event)
                except Exception:  # what the validator cannot take, the full path rejects
                    valid = False
            try:
                if not valid:
                    add(self._decide(event, request, index, event_id_factory))
                    continue
                user = event.get("user")
                consent = user.get("consent") if isinstance(user, dict) else None
                if isinstance(consent, dict) and consent.get("analytics") is False:
                    add(EventResult(index, DISCARDED))
                    continue
                payload = build(event, schema, event_id_factory)
                data = dumps(payload)
                if len(data) + CLIENT_ONLY_BYTES > limit:
                    raw = dumps(event)
                    if len(raw) > limit:
                        add(self._rejected(index, event, self._too_large(raw), request))
                        continue
                record = new_record(StreamRecord, (data, partition_key(payload)))
                event_id = payload["event_id"]
            except Exception as error:
                logger.exception("event %d of a request could not be processed", index)
                add(self._rejected(index, event, self._processing_error(error), request))
                continue
            records(record)
            accepted_ids(event_id)
            accepted_at(index)
        return processed

    def process_event(
        self,
        event: Any,
        request: RequestContext,
        *,
        index: int = 0,
        event_id_factory: Callable[[], str] = new_event_id,
    ) -> EventResult:
        """What becomes of one event of a request (``index`` is its place in the request):
        accepted with its stream record, rejected with its quarantine row, or discarded.
        ``event_id_factory`` names an accepted event that arrived without an id."""
        processed = self.process(
            [event], request, event_id_factory=event_id_factory, first_index=index
        )
        return processed.results[0]

    def _builder(self, request: RequestContext) -> PayloadBuilder:
        user_hashes = self._user_hashes.get(self.hmac_key)
        if user_hashes is None:
            self._user_hashes = {self.hmac_key: (user_hashes := {})}
        return payload_builder(
            request, self.hmac_key, self.describe_agent, self._agent_fields, user_hashes
        )

    def _decide(
        self,
        event: Any,
        request: RequestContext,
        index: int,
        event_id_factory: Callable[[], str],
    ) -> EventResult:
        if isinstance(event, UnstorableEvent):
            issue = ValidationIssue("", "json", event.message)
            return self._rejected(index, event, _Rejection(UNSTORABLE_VALUE, [issue], b""), request)
        if nested_deeper_than(event, self.settings.max_nesting_depth):
            return self._rejected(index, event, self._too_deep(), request)
        if isinstance(event, dict) and consent_off(event):
            return EventResult(index, DISCARDED)
        verdict = self._check(event)
        if isinstance(verdict, _Rejection):
            return self._rejected(index, event, verdict, request)
        build = payload_builder(request, self.hmac_key, self.describe_agent)
        payload = build(event, verdict, event_id_factory)
        data = orjson.dumps(payload)
        limit = self.settings.max_event_bytes
        if len(data) + CLIENT_ONLY_BYTES > limit:  # only then can the client event be too large
            raw = orjson.dumps(event)
            if len(raw) > limit:
                return self._rejected(index, event, self._too_large(raw), request)
        record = StreamRecord(data, partition_key(payload))
        return EventResult(index, ACCEPTED, event_id=payload["event_id"], record=record)

    def _check(self, event: Any) -> RegisteredSchema | _Rejection:
        """The schema that accepts the event, or why it is rejected (size before schema)."""
        if not isinstance(event, dict):
            kind = _JSON_TYPES.get(type(event), type(event).__name__)
            message = f"an event must be a JSON object, not {kind}"
            issue = ValidationIssue("", "type", message)
            return _Rejection(NOT_AN_OBJECT, [issue], orjson.dumps(event))
        try:
            schema = self._schema(event.get("schema_version"))
        except UnknownSchemaError as error:
            reason = UNSUPPORTED_VERSION
            issues = [ValidationIssue("/schema_version", "schema_version", str(error))]
        else:
            if schema.is_valid(event):
                return schema
            reason = SCHEMA_VIOLATION
            issues = schema.issues(event)
        raw = orjson.dumps(event)
        if len(raw) > self.settings.max_event_bytes:
            return self._too_large(raw)
        return _Rejection(reason, issues, raw)

    def _too_deep(self) -> _Rejection:
        limit = self.settings.max_nesting_depth
        message = f"the event nests arrays and objects more than {limit} levels deep"
        issue = ValidationIssue("", "maxNestingDepth", message)
        return _Rejection(NESTING_TOO_DEEP, [issue], b"")

    def _processing_error(self, error: Exception) -> _Rejection:
        message = f"the event could not be processed ({type(error).__name__})"
        return _Rejection(PROCESSING_ERROR, [ValidationIssue("", "processing", message)], b"")

    def _too_large(self, raw: bytes) -> _Rejection:
        limit = self.settings.max_event_bytes
        message = f"the event is {len(raw)} bytes as compact JSON; the limit is {limit}"
        return _Rejection(EVENT_TOO_LARGE, [ValidationIssue("", "maxEventBytes", message)], raw)

    def _schema(self, version: object) -> RegisteredSchema:
        key = version if isinstance(version, str) else None
        schema = self._schemas.get(key)
        if schema is None:
            schema = self.registry.resolve(INGEST_EVENT, version)
            if len(self._schemas) < _VERSION_CACHE_LIMIT:
                self._schemas[key] = schema
                if schema.max_depth <= self.settings.max_nesting_depth:
                    self._quick_checks[key] = (schema, schema.validity_check)
        return schema

    def _rejected(
        self, index: int, event: Any, rejection: _Rejection, request: RequestContext
    ) -> EventResult:
        if rejection.raw:
            payload = scrub_json(rejection.raw, event)
        elif isinstance(event, UnstorableEvent):
            payload = event.quarantine_payload(self.settings.max_nesting_depth)
        else:
            payload = quarantine_payload(event, self.settings.max_nesting_depth)
        row = quarantine_record(
            payload,
            [quarantine_reason(issue) for issue in rejection.issues],
            received_at_ms=request.received_at_ms,
            source=request.source,
            kind=rejection.reason,
            payload_cap=self.settings.quarantine_payload_bytes,
        )
        return EventResult(
            index, REJECTED, reason=rejection.reason, issues=rejection.issues, quarantined=row
        )


def consent_off(event: dict[str, Any]) -> bool:
    """``user.consent.analytics`` is ``false``: the event must be stored nowhere."""
    user = event.get("user")
    consent = user.get("consent") if isinstance(user, dict) else None
    return isinstance(consent, dict) and consent.get("analytics") is False


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (a scalar is level 0); never
    looks further than ``limit + 1`` levels down. Walks one level at a time, without recursion."""
    containers = [value] if isinstance(value, _CONTAINERS) else []
    levels_left = limit
    while containers:
        if levels_left <= 0:
            return True
        levels_left -= 1
        containers = [
            child
            for container in containers
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, _CONTAINERS)
        ]
    return False


def pruned(value: Any, levels: int) -> Any:
    """A copy of a JSON value keeping ``levels`` levels of nesting, deeper branches replaced."""
    if not isinstance(value, dict | list):
        return value
    if levels <= 0:
        return TRUNCATED_BRANCH
    if isinstance(value, dict):
        return {key: pruned(item, levels - 1) for key, item in value.items()}
    return [pruned(item, levels - 1) for item in value]


def quarantine_payload(event: Any, max_depth: int) -> bytes:
    """The event as compact JSON for the quarantine, IP addresses truncated, branches past
    ``max_depth`` replaced so that any event can be kept."""
    scrubbed, _ = scrub_ips(pruned(event, max_depth))
    return orjson.dumps(scrubbed)
