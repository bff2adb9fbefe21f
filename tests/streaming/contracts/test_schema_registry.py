"""The event contract: the schema registry and the JSON Schemas it serves.

Every verdict the registry gives is cross-checked against the reference ``jsonschema``
implementation (Draft 2020-12, formats asserted) so that the contract means the same thing to
anyone who validates against the published schema files.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from streaming.contracts.schema_registry import (
    DEFAULT_VERSION,
    INGEST_EVENT,
    PRODUCER_EVENT,
    RegisteredSchema,
    SchemaRegistry,
    SchemaVer,
    UnknownSchemaError,
    ValidationIssue,
    default_registry,
)
from streaming.enrichment import RequestContext
from streaming.enrichment import enrich as server_enrich
from tests.event_examples import (
    FULL_CHART,
    FULL_PAGE_VIEW,
    INVALID_INGEST,
    MINIMAL_EVENT,
    SEED_CLIENT_EVENT_ID,
    SEED_CLIENT_PAYLOAD,
    SEED_PRODUCER_PAYLOAD,
    VALID_INGEST,
    mutate,
)

SCHEMAS_DIR = Path(__file__).resolve().parents[3] / "streaming" / "schemas"
HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
V1 = SchemaVer(1, 0, 0)
V110 = SchemaVer(1, 1, 0)


def enrich(event: dict[str, Any], ingest_schema: RegisteredSchema) -> dict[str, Any]:
    """The producer record the ingest derives from a valid client event."""
    request = RequestContext(
        received_at_ms=1_755_721_220_123, client_ip="203.0.113.9", viewer_country="IL"
    )
    return server_enrich(event, request=request, schema=ingest_schema, hmac_key=b"test-key")


# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return default_registry()


@pytest.fixture(scope="module")
def ingest(registry: SchemaRegistry) -> RegisteredSchema:
    return registry.get(INGEST_EVENT, "1.0.0")


@pytest.fixture(scope="module")
def producer(registry: SchemaRegistry) -> RegisteredSchema:
    return registry.get(PRODUCER_EVENT, "1.0.0")


def reference_validator(schema: RegisteredSchema) -> Draft202012Validator:
    return Draft202012Validator(schema.document, format_checker=Draft202012Validator.FORMAT_CHECKER)


def reference_issues(schema: RegisteredSchema, instance: Any) -> set[tuple[str, str]]:
    """(JSON pointer, keyword) of every error the reference implementation reports."""
    found = set()
    for error in reference_validator(schema).iter_errors(instance):
        pointer = "".join(
            "/" + str(part).replace("~", "~0").replace("/", "~1") for part in error.absolute_path
        )
        found.add((pointer, str(error.validator)))
    return found


def pairs(issues: list[ValidationIssue]) -> set[tuple[str, str]]:
    return {(issue.pointer, issue.keyword) for issue in issues}


def schema_file(name: str, version: str) -> Path:
    return SCHEMAS_DIR / name / f"{version}.json"


def write_schema(root: Path, name: str, version: str, document: dict[str, Any]) -> None:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{version}.json").write_text(json.dumps(document, indent=2), encoding="utf-8")


def subschemas(node: Any, pointer: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in a schema document, with its location."""
    if isinstance(node, dict):
        yield pointer, node
        for key, child in node.items():
            yield from subschemas(child, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from subschemas(child, f"{pointer}/{index}")


# --------------------------------------------------------------------------------------------
# 1. Registry basics
# --------------------------------------------------------------------------------------------


def test_names_lists_both_schemas(registry: SchemaRegistry) -> None:
    assert INGEST_EVENT == "ingest_event"
    assert PRODUCER_EVENT == "producer_event"
    assert registry.names() == [INGEST_EVENT, PRODUCER_EVENT]


@pytest.mark.parametrize("name", [INGEST_EVENT, PRODUCER_EVENT])
def test_versions_of_each_schema(registry: SchemaRegistry, name: str) -> None:
    assert registry.versions(name) == [V1, V110]


def test_versions_of_unknown_name(registry: SchemaRegistry) -> None:
    with pytest.raises(UnknownSchemaError, match="no schema named 'nope'"):
        registry.versions("nope")


def test_default_registry_is_shared() -> None:
    assert default_registry() is default_registry()
    assert isinstance(default_registry(), SchemaRegistry)


@pytest.mark.parametrize("version", ["1.0.0", "1-0-0", V1])
@pytest.mark.parametrize("name", [INGEST_EVENT, PRODUCER_EVENT])
def test_get_exact(registry: SchemaRegistry, name: str, version: str | SchemaVer) -> None:
    schema = registry.get(name, version)
    assert schema.name == name
    assert schema.version == V1
    assert schema.document["$id"] == f"urn:clickstream:schema:{name}:1-0-0"
    assert schema.document == json.loads(schema_file(name, "1-0-0").read_text(encoding="utf-8"))
    assert registry.get(name, "1.0.0") is schema


@pytest.mark.parametrize("version", ["1.0.1", "1.2.0", "2.0.0", "0.0.0"])
def test_get_is_exact_and_refuses_other_versions(registry: SchemaRegistry, version: str) -> None:
    with pytest.raises(
        UnknownSchemaError, match=f"no schema ingest_event {SchemaVer.parse(version)}"
    ):
        registry.get(INGEST_EVENT, version)


def test_get_unknown_name(registry: SchemaRegistry) -> None:
    with pytest.raises(UnknownSchemaError, match="nope"):
        registry.get("nope", "1.0.0")


def test_get_malformed_version(registry: SchemaRegistry) -> None:
    with pytest.raises(ValueError, match="not a schema version"):
        registry.get(INGEST_EVENT, "latest")


def test_unknown_schema_error_is_a_lookup_error() -> None:
    assert issubclass(UnknownSchemaError, LookupError)


@pytest.mark.parametrize(
    "requested",
    [None, "", 123, 1.0, "garbage", "1.0", "1.0.0.0", "v1.0.0", ["1.0.0"], {"v": "1.0.0"}],
    ids=repr,
)
@pytest.mark.parametrize("name", [INGEST_EVENT, PRODUCER_EVENT])
def test_resolve_absent_or_malformed_is_default(
    registry: SchemaRegistry, name: str, requested: object
) -> None:
    assert registry.resolve(name, requested) is registry.get(name, DEFAULT_VERSION)
    assert DEFAULT_VERSION == "1.0.0"


def test_resolve_without_argument_is_default(registry: SchemaRegistry) -> None:
    assert registry.resolve(INGEST_EVENT) is registry.get(INGEST_EVENT, "1.0.0")


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("1.0.0", V1),
        ("1.0.7", V1),
        ("1-0-0", V1),
        ("1.1.0", V110),
        ("1.3.2", V110),
        ("1.99.99", V110),
    ],
)
def test_resolve_newest_of_same_model_not_newer(
    registry: SchemaRegistry, requested: str, expected: SchemaVer
) -> None:
    resolved = registry.resolve(INGEST_EVENT, requested)
    assert resolved.version == expected
    assert resolved is registry.get(INGEST_EVENT, expected)


@pytest.mark.parametrize("requested", ["2.0.0", "0.9.0", "3.1.4", "0.0.0"])
def test_resolve_unknown_model(registry: SchemaRegistry, requested: str) -> None:
    with pytest.raises(UnknownSchemaError) as caught:
        registry.resolve(INGEST_EVENT, requested)
    message = str(caught.value)
    assert requested in message
    assert INGEST_EVENT in message
    assert "known: 1.0.0" in message


def test_resolve_unknown_name(registry: SchemaRegistry) -> None:
    with pytest.raises(UnknownSchemaError, match="nope"):
        registry.resolve("nope", "1.0.0")


@pytest.mark.parametrize("name", [INGEST_EVENT, PRODUCER_EVENT])
def test_schema_hash_shape_and_value(registry: SchemaRegistry, name: str) -> None:
    schema = registry.get(name, "1.0.0")
    assert HASH_RE.match(schema.schema_hash), schema.schema_hash
    # The hash is of the canonical document (sorted keys, no whitespace), not of file bytes.
    canonical = json.dumps(
        schema.document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    assert schema.schema_hash == "sha256:" + hashlib.sha256(canonical).hexdigest()


def test_schema_hash_stable_across_registries(registry: SchemaRegistry) -> None:
    fresh = SchemaRegistry()
    for name in registry.names():
        assert fresh.get(name, "1.0.0").schema_hash == registry.get(name, "1.0.0").schema_hash
    assert (
        registry.get(INGEST_EVENT, "1.0.0").schema_hash
        != registry.get(PRODUCER_EVENT, "1.0.0").schema_hash
    )


def test_schema_hash_ignores_formatting_and_key_order(
    registry: SchemaRegistry, tmp_path: Path
) -> None:
    document = json.loads(schema_file(INGEST_EVENT, "1-0-0").read_text(encoding="utf-8"))
    reordered = dict(reversed(list(document.items())))
    folder = tmp_path / INGEST_EVENT
    folder.mkdir()
    (folder / "1-0-0.json").write_text(json.dumps(reordered), encoding="utf-8")
    other = SchemaRegistry(root=tmp_path)
    assert other.names() == [INGEST_EVENT]
    assert (
        other.get(INGEST_EVENT, "1.0.0").schema_hash
        == registry.get(INGEST_EVENT, "1.0.0").schema_hash
    )


def test_schema_hash_changes_with_content(registry: SchemaRegistry, tmp_path: Path) -> None:
    document = json.loads(schema_file(INGEST_EVENT, "1-0-0").read_text(encoding="utf-8"))
    document["title"] = "Clickstream ingest event (edited)"
    write_schema(tmp_path, INGEST_EVENT, "1-0-0", document)
    edited = SchemaRegistry(root=tmp_path).get(INGEST_EVENT, "1.0.0")
    assert HASH_RE.match(edited.schema_hash)
    assert edited.schema_hash != registry.get(INGEST_EVENT, "1.0.0").schema_hash


@pytest.fixture
def extended_root(tmp_path: Path) -> Path:
    """A schema root with ingest_event 1-0-0, an additive 1-1-0 and a breaking 2-0-0."""
    base = json.loads(schema_file(INGEST_EVENT, "1-0-0").read_text(encoding="utf-8"))
    write_schema(tmp_path, INGEST_EVENT, "1-0-0", base)

    addition = copy.deepcopy(base)
    addition["$id"] = "urn:clickstream:schema:ingest_event:1-1-0"
    addition["properties"]["ctx"]["properties"]["page_title"] = {"type": "string", "maxLength": 512}
    write_schema(tmp_path, INGEST_EVENT, "1-1-0", addition)

    breaking = copy.deepcopy(base)
    breaking["$id"] = "urn:clickstream:schema:ingest_event:2-0-0"
    breaking["properties"]["schema_version"]["pattern"] = r"^2\.\d+\.\d+$"
    breaking["required"] = [*base["required"], "event_id"]
    write_schema(tmp_path, INGEST_EVENT, "2-0-0", breaking)

    shutil.copytree(SCHEMAS_DIR / PRODUCER_EVENT, tmp_path / PRODUCER_EVENT)
    # Neither a stray file at the root nor a non-JSON file in a folder is a schema.
    (tmp_path / "README.md").write_text("not a schema\n", encoding="utf-8")
    (tmp_path / INGEST_EVENT / "NOTES.txt").write_text("not a schema\n", encoding="utf-8")
    return tmp_path


def test_extended_registry_versions(extended_root: Path) -> None:
    extended = SchemaRegistry(root=extended_root)
    assert extended.names() == [INGEST_EVENT, PRODUCER_EVENT]
    assert extended.versions(INGEST_EVENT) == [
        SchemaVer(1, 0, 0),
        SchemaVer(1, 1, 0),
        SchemaVer(2, 0, 0),
    ]
    assert extended.versions(PRODUCER_EVENT) == [V1, V110]


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (None, "1-0-0"),
        ("garbage", "1-0-0"),
        ("1.0.0", "1-0-0"),
        ("1.0.5", "1-0-0"),
        ("1.1.0", "1-1-0"),
        ("1.1.3", "1-1-0"),
        ("1.7.0", "1-1-0"),
        ("2.0.0", "2-0-0"),
        ("2.4.1", "2-0-0"),
    ],
)
def test_extended_registry_resolve(extended_root: Path, requested: object, expected: str) -> None:
    extended = SchemaRegistry(root=extended_root)
    resolved = extended.resolve(INGEST_EVENT, requested)
    assert str(resolved.version) == expected
    assert resolved.document["$id"] == f"urn:clickstream:schema:ingest_event:{expected}"


def test_extended_registry_unknown_model_lists_known(extended_root: Path) -> None:
    extended = SchemaRegistry(root=extended_root)
    with pytest.raises(UnknownSchemaError, match=r"known: 1\.0\.0, 1\.1\.0, 2\.0\.0"):
        extended.resolve(INGEST_EVENT, "3.0.0")
    with pytest.raises(UnknownSchemaError, match=r"0\.1\.0"):
        extended.resolve(INGEST_EVENT, "0.1.0")


def test_additive_version_accepts_its_new_field(extended_root: Path) -> None:
    extended = SchemaRegistry(root=extended_root)
    event = mutate(FULL_PAGE_VIEW, "schema_version", "1.1.0")
    event["ctx"]["page_title"] = "CRM pricing compared"
    assert extended.resolve(INGEST_EVENT, event["schema_version"]).is_valid(event)
    old = extended.get(INGEST_EVENT, "1.0.0")
    assert not old.is_valid(event)
    assert ("/ctx", "unevaluatedProperties") in pairs(old.issues(event))
    # A 1-0-0 payload is still valid under 1-1-0: additions never break older senders.
    assert extended.get(INGEST_EVENT, "1.1.0").is_valid(FULL_PAGE_VIEW)


def test_breaking_version_is_separate_model(extended_root: Path) -> None:
    extended = SchemaRegistry(root=extended_root)
    v2 = extended.resolve(INGEST_EVENT, "2.0.0")
    assert not v2.is_valid(MINIMAL_EVENT)
    assert ("", "required") in pairs(v2.issues(MINIMAL_EVENT))
    assert v2.is_valid({**MINIMAL_EVENT, "schema_version": "2.0.0", "event_id": str(uuid.uuid4())})
    assert v2.schema_hash != extended.get(INGEST_EVENT, "1.0.0").schema_hash


def test_file_whose_id_does_not_match_its_path_is_refused(tmp_path: Path) -> None:
    document = json.loads(schema_file(INGEST_EVENT, "1-0-0").read_text(encoding="utf-8"))
    write_schema(tmp_path, INGEST_EVENT, "1-1-0", document)  # still declares ...:1-0-0
    with pytest.raises(ValueError, match=r"ingest_event/1-1-0\.json declares \$id"):
        SchemaRegistry(root=tmp_path)


def test_file_filed_under_another_name_is_refused(tmp_path: Path) -> None:
    document = json.loads(schema_file(INGEST_EVENT, "1-0-0").read_text(encoding="utf-8"))
    write_schema(tmp_path, PRODUCER_EVENT, "1-0-0", document)
    with pytest.raises(ValueError, match="urn:clickstream:schema:producer_event:1-0-0"):
        SchemaRegistry(root=tmp_path)


def test_file_without_id_is_refused(tmp_path: Path) -> None:
    document = json.loads(schema_file(INGEST_EVENT, "1-0-0").read_text(encoding="utf-8"))
    del document["$id"]
    write_schema(tmp_path, INGEST_EVENT, "1-0-0", document)
    with pytest.raises(ValueError, match="declares \\$id None"):
        SchemaRegistry(root=tmp_path)


def test_file_with_unversioned_name_is_refused(tmp_path: Path) -> None:
    document = json.loads(schema_file(INGEST_EVENT, "1-0-0").read_text(encoding="utf-8"))
    write_schema(tmp_path, INGEST_EVENT, "latest", document)
    with pytest.raises(ValueError, match="not a schema version"):
        SchemaRegistry(root=tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.0.0", SchemaVer(1, 0, 0)),
        ("1-0-0", SchemaVer(1, 0, 0)),
        ("2.10.3", SchemaVer(2, 10, 3)),
        ("12-0-7", SchemaVer(12, 0, 7)),
    ],
)
def test_schemaver_parse(text: str, expected: SchemaVer) -> None:
    parsed = SchemaVer.parse(text)
    assert parsed == expected
    assert str(parsed) == f"{expected.model}-{expected.revision}-{expected.addition}"
    assert parsed.dotted == f"{expected.model}.{expected.revision}.{expected.addition}"
    assert SchemaVer.parse(parsed.dotted) == SchemaVer.parse(str(parsed)) == parsed


@pytest.mark.parametrize("text", ["", "1", "1.0", "1.0.0.0", "a.b.c", "v1.0.0", "1.0.-1"])
def test_schemaver_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a schema version"):
        SchemaVer.parse(text)


def test_schemaver_orders_numerically() -> None:
    versions = [SchemaVer.parse(v) for v in ("1-10-0", "2-0-0", "1-2-0", "1-0-10", "1-0-9")]
    assert [str(v) for v in sorted(versions)] == ["1-0-9", "1-0-10", "1-2-0", "1-10-0", "2-0-0"]


# --------------------------------------------------------------------------------------------
# Issues: shape and ordering
# --------------------------------------------------------------------------------------------


def test_issues_of_a_valid_event_is_empty(ingest: RegisteredSchema) -> None:
    assert ingest.issues(FULL_PAGE_VIEW) == []


def test_issues_lists_every_violation_sorted(ingest: RegisteredSchema) -> None:
    event = mutate(FULL_CHART, "ts", "yesterday")
    event["chart"]["action"] = "zoom"
    event["event_id"] = "someid"
    event["extra"] = 1
    del event["user"]["consent"]
    issues = ingest.issues(event)
    assert pairs(issues) == {
        ("", "unevaluatedProperties"),
        ("/chart/action", "enum"),
        ("/event_id", "format"),
        ("/ts", "format"),
        ("/user", "required"),
    }
    assert issues == sorted(issues, key=lambda i: (i.pointer, i.keyword, i.message))
    assert [i.pointer for i in issues] == sorted(i.pointer for i in issues)
    assert all(isinstance(i, ValidationIssue) and i.message for i in issues)


def test_issue_as_dict(ingest: RegisteredSchema) -> None:
    [issue] = ingest.issues(mutate(MINIMAL_EVENT, "ts", "2025-08-20"))
    assert issue.as_dict() == {"path": "/ts", "keyword": "format", "message": issue.message}
    assert "date-time" in issue.message


def test_issue_pointer_escapes_member_names(tmp_path: Path) -> None:
    # RFC 6901: "~" is written "~0" and "/" is written "~1" inside a pointer token.
    write_schema(
        tmp_path,
        "demo",
        "1-0-0",
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "urn:clickstream:schema:demo:1-0-0",
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    )
    demo = SchemaRegistry(root=tmp_path).get("demo", "1.0.0")
    [issue] = demo.issues({"a/b~c": ["ok", 3]})
    assert (issue.pointer, issue.keyword) == ("/a~1b~0c/1", "type")


# --------------------------------------------------------------------------------------------
# 2. Valid ingest payloads
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", VALID_INGEST)
def test_valid_ingest_payloads(ingest: RegisteredSchema, payload: dict[str, Any]) -> None:
    assert ingest.issues(payload) == []
    assert ingest.is_valid(payload)


@pytest.mark.parametrize("payload", VALID_INGEST)
def test_valid_payload_resolves_to_a_schema_that_accepts_it(
    registry: SchemaRegistry, payload: dict[str, Any]
) -> None:
    schema = registry.resolve(INGEST_EVENT, payload.get("schema_version"))
    declared = payload.get("schema_version") or DEFAULT_VERSION
    assert schema.version == (V1 if SchemaVer.parse(declared) < V110 else V110)
    assert schema.is_valid(payload)


def test_minimal_event_literal(ingest: RegisteredSchema) -> None:
    raw = (
        '{"event_type":"page_view","ts":"2025-08-20T20:20:20.123Z",'
        '"user":{"consent":{"analytics":true}}}'
    )
    assert json.loads(raw) == MINIMAL_EVENT
    assert ingest.is_valid(json.loads(raw))


def test_seed_client_payload_is_the_seed_example_without_server_fields() -> None:
    assert SEED_CLIENT_PAYLOAD == {
        "schema_version": "1.1.0",
        "event_type": "chart_interaction",
        "event_id": SEED_CLIENT_EVENT_ID,
        "ts": "2025-08-20T20:20:20.123Z",
        "user": {"user_id_hash": "sha256:...", "consent": {"analytics": True, "ads": False}},
        "session": {"session_id": "sid_abc", "utm": {"source": "ads", "campaign": "summer"}},
        "ctx": {
            "page_url": "...",
            "referrer": "...",
            "locale": "...",
            "user_agent": "...",
            "ab_variant": "A",
        },
        "chart": {
            "product_ids": ["", "studio"],
            "action": "sort",
            "control_id": "plan-price",
            "control_value": "asc",
        },
        "metadata": {"sdk_version": "0.2.3"},
    }
    assert uuid.UUID(SEED_CLIENT_PAYLOAD["event_id"]).version == 4


def test_seed_client_payload_with_its_placeholder_event_id_is_invalid(
    ingest: RegisteredSchema,
) -> None:
    event = mutate(SEED_CLIENT_PAYLOAD, "event_id", "someid")
    assert pairs(ingest.issues(event)) == {("/event_id", "format")}


@pytest.mark.parametrize("payload", VALID_INGEST)
def test_enriched_valid_event_is_a_valid_producer_record(
    ingest: RegisteredSchema, producer: RegisteredSchema, payload: dict[str, Any]
) -> None:
    record = enrich(payload, ingest)
    assert producer.issues(record) == []
    assert HASH_RE.match(record["metadata"]["schema_hash"])


# --------------------------------------------------------------------------------------------
# 3. The seed producer payload
# --------------------------------------------------------------------------------------------


def test_seed_producer_payload_is_valid(producer: RegisteredSchema) -> None:
    assert producer.issues(SEED_PRODUCER_PAYLOAD) == []
    assert producer.is_valid(SEED_PRODUCER_PAYLOAD)


def test_seed_producer_payload_resolves(registry: SchemaRegistry) -> None:
    schema = registry.resolve(PRODUCER_EVENT, SEED_PRODUCER_PAYLOAD["schema_version"])
    assert schema is registry.get(PRODUCER_EVENT, "1.1.0")
    assert schema.is_valid(SEED_PRODUCER_PAYLOAD)


def test_seed_producer_payload_is_not_a_client_payload(ingest: RegisteredSchema) -> None:
    issues = pairs(ingest.issues(SEED_PRODUCER_PAYLOAD))
    assert ("", "unevaluatedProperties") in issues  # ingest_ts, source, privacy, affiliate
    assert ("/user", "required") in issues  # consent travels in user.consent on the way in
    assert ("/event_id", "format") in issues


INVALID_PRODUCER = [
    pytest.param(mutate(SEED_PRODUCER_PAYLOAD, "ingest_ts"), "", "required", id="no-ingest-ts"),
    pytest.param(mutate(SEED_PRODUCER_PAYLOAD, "privacy"), "", "required", id="no-privacy"),
    pytest.param(mutate(SEED_PRODUCER_PAYLOAD, "source"), "", "required", id="no-source"),
    pytest.param(mutate(SEED_PRODUCER_PAYLOAD, "event_id"), "", "required", id="no-event-id"),
    pytest.param(
        mutate(SEED_PRODUCER_PAYLOAD, "schema_version"), "", "required", id="no-schema-version"
    ),
    pytest.param(
        mutate(SEED_PRODUCER_PAYLOAD, "ingest_ts", "2025-08-20T20:20:20Z"),
        "/ingest_ts",
        "type",
        id="ingest-ts-string",
    ),
    pytest.param(
        mutate(SEED_PRODUCER_PAYLOAD, "ingest_ts", -1), "/ingest_ts", "minimum", id="ingest-ts-neg"
    ),
    pytest.param(
        mutate(SEED_PRODUCER_PAYLOAD, "source_ip", "203.0.113.7"),
        "",
        "unevaluatedProperties",
        id="raw-ip-top-level",
    ),
    pytest.param(
        mutate(SEED_PRODUCER_PAYLOAD, "privacy/source_ip", "203.0.113.7"),
        "/privacy",
        "unevaluatedProperties",
        id="raw-ip-in-privacy",
    ),
    pytest.param(
        mutate(SEED_PRODUCER_PAYLOAD, "user/consent", {"analytics": True}),
        "/user",
        "unevaluatedProperties",
        id="consent-in-user",
    ),
    pytest.param(
        mutate(SEED_PRODUCER_PAYLOAD, "metadata/schema_hash", "md5:abc"),
        "/metadata/schema_hash",
        "pattern",
        id="schema-hash-pattern",
    ),
    pytest.param(
        mutate(SEED_PRODUCER_PAYLOAD, "is_bot", "no"), "/is_bot", "type", id="is-bot-string"
    ),
    pytest.param(
        mutate(SEED_PRODUCER_PAYLOAD, "schema_version", "2.0.0"),
        "/schema_version",
        "pattern",
        id="schema-version-2",
    ),
]


@pytest.mark.parametrize(("payload", "pointer", "keyword"), INVALID_PRODUCER)
def test_invalid_producer_records(
    producer: RegisteredSchema, payload: dict[str, Any], pointer: str, keyword: str
) -> None:
    assert not producer.is_valid(payload)
    assert pairs(producer.issues(payload)) == {(pointer, keyword)}


# --------------------------------------------------------------------------------------------
# 4. Invalid ingest payloads
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("payload", "pointer", "keyword", "fragment"), INVALID_INGEST)
def test_invalid_ingest_payloads(
    ingest: RegisteredSchema, payload: Any, pointer: str, keyword: str, fragment: str | None
) -> None:
    assert not ingest.is_valid(payload)
    issues = ingest.issues(payload)
    # Each mutation breaks exactly one rule, and the issue points at it.
    assert pairs(issues) == {(pointer, keyword)}, issues
    if fragment is not None:
        assert any(fragment in issue.message for issue in issues), issues


def test_invalid_table_is_broad() -> None:
    assert len(INVALID_INGEST) >= 30
    ids = [param.id for param in INVALID_INGEST]
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------------------------
# 5. Cross-check against the reference implementation
# --------------------------------------------------------------------------------------------

ALL_INGEST_CASES = [
    *[pytest.param(p.values[0], True, id=f"valid-{p.id}") for p in VALID_INGEST],
    *[pytest.param(p.values[0], False, id=f"invalid-{p.id}") for p in INVALID_INGEST],
    pytest.param(SEED_PRODUCER_PAYLOAD, False, id="invalid-seed-producer-payload"),
]

ALL_PRODUCER_CASES = [
    pytest.param(SEED_PRODUCER_PAYLOAD, True, id="valid-seed"),
    *[pytest.param(p.values[0], False, id=f"invalid-{p.id}") for p in INVALID_PRODUCER],
]


@pytest.mark.parametrize(("payload", "expected"), ALL_INGEST_CASES)
def test_ingest_verdict_matches_reference(
    ingest: RegisteredSchema, payload: Any, expected: bool
) -> None:
    reference = reference_validator(ingest)
    assert ingest.is_valid(payload) is expected
    assert reference.is_valid(payload) is expected
    assert pairs(ingest.issues(payload)) == reference_issues(ingest, payload)


@pytest.mark.parametrize(("payload", "expected"), ALL_PRODUCER_CASES)
def test_producer_verdict_matches_reference(
    producer: RegisteredSchema, payload: Any, expected: bool
) -> None:
    assert producer.is_valid(payload) is expected
    assert reference_validator(producer).is_valid(payload) is expected
    assert pairs(producer.issues(payload)) == reference_issues(producer, payload)


def test_reference_checks_formats() -> None:
    # Guards the cross-check itself: without a format checker, date-time would only annotate.
    checker = Draft202012Validator.FORMAT_CHECKER
    assert checker.conforms("2025-08-20T20:20:20.123Z", "date-time")
    assert not checker.conforms("2025-08-20T20:20:20", "date-time")
    assert not checker.conforms("someid", "uuid")


# --------------------------------------------------------------------------------------------
# 6. The schema documents themselves
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [INGEST_EVENT, PRODUCER_EVENT])
def test_schema_documents_are_valid_draft_2020_12(registry: SchemaRegistry, name: str) -> None:
    for version in registry.versions(name):
        document = registry.get(name, version).document
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert document["$id"] == f"urn:clickstream:schema:{name}:{version}"
        Draft202012Validator.check_schema(document)


@pytest.mark.parametrize("version", ["1.0.0", "1.1.0"])
@pytest.mark.parametrize("name", [INGEST_EVENT, PRODUCER_EVENT])
def test_every_object_schema_is_closed(registry: SchemaRegistry, name: str, version: str) -> None:
    document = registry.get(name, version).document
    objects = [
        (where, node)
        for where, node in subschemas(document)
        if node.get("type") == "object"
        or (isinstance(node.get("type"), list) and "object" in node["type"])
    ]
    assert len(objects) >= 9
    open_objects = [
        where for where, node in objects if node.get("unevaluatedProperties") is not False
    ]
    assert open_objects == []


def test_ingest_conditional_requireds(ingest: RegisteredSchema) -> None:
    conditions = {
        branch["if"]["properties"]["event_type"]["const"]: branch["then"]["required"]
        for branch in ingest.document["allOf"]
    }
    assert conditions == {"chart_interaction": ["chart"], "affiliate_click": ["affiliate"]}
    # The conditions only fire when event_type is present, so a missing event_type is reported
    # once (as missing) and not also as a missing chart/affiliate.
    assert all(branch["if"]["required"] == ["event_type"] for branch in ingest.document["allOf"])
    assert pairs(ingest.issues(mutate(MINIMAL_EVENT, "event_type"))) == {("", "required")}


def test_ingest_and_producer_agree_on_enums(
    ingest: RegisteredSchema, producer: RegisteredSchema
) -> None:
    ingest_props = ingest.document["properties"]
    producer_props = producer.document["properties"]
    assert ingest_props["event_type"]["enum"] == producer_props["event_type"]["enum"]
    ingest_actions = ingest_props["chart"]["properties"]["action"]["enum"]
    producer_actions = producer_props["chart"]["properties"]["action"]["enum"]
    assert [*ingest_actions, None] == producer_actions
    assert ingest_props["schema_version"]["pattern"] == producer_props["schema_version"]["pattern"]


def test_documented_examples_are_valid(
    ingest: RegisteredSchema, producer: RegisteredSchema
) -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "event-contract.md").read_text(
        encoding="utf-8"
    )
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", doc, re.DOTALL)]
    producer_examples = [e for e in examples if "ingest_ts" in e]
    ingest_examples = [e for e in examples if "ingest_ts" not in e]
    assert len(producer_examples) >= 1
    assert len(ingest_examples) >= 1
    for example in ingest_examples:
        assert ingest.issues(example) == []
        assert producer.issues(enrich(example, ingest)) == []
    for example in producer_examples:
        assert producer.issues(example) == []


@pytest.mark.parametrize(
    "ts", ["2025-08-20T23:59:60Z", "2025-12-31T23:59:60.5+01:00", "0000-01-01T00:00:00Z"]
)
def test_timestamps_no_lake_engine_can_store_are_refused(ingest: RegisteredSchema, ts: str) -> None:
    event = {"event_type": "page_view", "ts": ts, "user": {"consent": {"analytics": True}}}
    assert ("/ts", "pattern") in pairs(ingest.issues(event))
    assert not reference_validator(ingest).is_valid(event)
