"""The quick validator the registry compiles next to each documented schema: the same verdicts,
and the rewrite behind it only where it is provably equivalent."""

from __future__ import annotations

import io
import math
import random
from datetime import UTC, datetime
from typing import Any

import jsonschema_rs
import orjson
import pytest

from streaming.contracts.schema_registry import (
    INGEST_EVENT,
    PRODUCER_EVENT,
    RegisteredSchema,
    default_registry,
    leading_lookaheads,
    nesting_bound,
    quick_schema,
)
from streaming.generator import TrafficConfig
from streaming.generator.sinks.jsonl import write_jsonl
from streaming.generator.violations import INVALID_KINDS, violate
from tests.event_examples import INVALID_INGEST, SEED_PRODUCER_PAYLOAD, VALID_INGEST, mutate

CLOSED = {"unevaluatedProperties": False}
OPEN_ITEM = {"type": "object", "properties": {"a": {"type": "string"}}, **CLOSED}


def documented(schema: RegisteredSchema) -> Any:
    return jsonschema_rs.Draft202012Validator(schema.document, validate_formats=True)


def all_schemas() -> list[RegisteredSchema]:
    registry = default_registry()
    return [
        registry.get(name, version)
        for name in (INGEST_EVENT, PRODUCER_EVENT)
        for version in registry.versions(name)
    ]


def table_cases() -> list[Any]:
    producer_mutations = [
        ("ingest_ts", None),
        ("privacy", None),
        ("source_ip", "203.0.113.7"),
        ("privacy/source_ip", "203.0.113.7"),
        ("user/consent", {"analytics": True}),
        ("metadata/schema_hash", "md5:abc"),
    ]
    return [
        *[param.values[0] for param in VALID_INGEST],
        *[param.values[0] for param in INVALID_INGEST],
        SEED_PRODUCER_PAYLOAD,
        *[
            mutate(SEED_PRODUCER_PAYLOAD, path, *(() if value is None else (value,)))
            for path, value in producer_mutations
        ],
    ]


def generated_events(events: int, seed: int) -> list[Any]:
    config = TrafficConfig(
        events=events, seed=seed, start=datetime(2026, 11, 1, tzinfo=UTC), invalid_share=0.2
    )
    buffer = io.BytesIO()
    write_jsonl(config, buffer)
    return [orjson.loads(line) for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize(
    "schema", all_schemas(), ids=lambda schema: f"{schema.name}-{schema.version}"
)
def test_every_registered_schema_is_rewritten_to_closed_objects(schema: RegisteredSchema) -> None:
    rewritten = orjson.dumps(quick_schema(schema.document))
    assert b"unevaluatedProperties" not in rewritten
    assert b"(?!" not in rewritten
    assert schema.max_depth <= 4


@pytest.mark.parametrize(
    "schema", all_schemas(), ids=lambda schema: f"{schema.name}-{schema.version}"
)
def test_quick_and_documented_verdicts_agree_on_the_table(schema: RegisteredSchema) -> None:
    reference = documented(schema)
    cases = table_cases()
    assert sum(map(reference.is_valid, cases)) >= 1
    for case in cases:
        assert schema.is_valid(case) is reference.is_valid(case), case


@pytest.mark.parametrize(
    "schema", all_schemas(), ids=lambda schema: f"{schema.name}-{schema.version}"
)
def test_quick_and_documented_verdicts_agree_on_generated_events(schema: RegisteredSchema) -> None:
    reference = documented(schema)
    rng = random.Random(11)
    events = generated_events(3_000, seed=5)
    ingest = documented(default_registry().get(INGEST_EVENT, "1.0.0"))
    valid = [event for event in events if ingest.is_valid(event)][:300]
    broken = [violate(event, kind, rng) for event in valid for kind in INVALID_KINDS]
    verdicts = {True: 0, False: 0}
    for event in events + broken:
        verdict = schema.is_valid(event)
        assert verdict is reference.is_valid(event), event
        verdicts[verdict] += 1
    if schema.name == INGEST_EVENT:
        assert verdicts[True] > 1_000 and verdicts[False] > 1_000


def test_issues_come_from_the_documented_schema() -> None:
    schema = default_registry().get(INGEST_EVENT, "1.0.0")
    event = dict(VALID_INGEST[0].values[0], extra=1)
    assert [issue.keyword for issue in schema.issues(event)] == ["unevaluatedProperties"]


@pytest.mark.parametrize(
    "composition",
    [
        {"allOf": [{"properties": {"b": {"type": "string"}}}]},
        {"anyOf": [{"properties": {"b": True}}, True]},
        {"oneOf": [{"properties": {"b": True}}]},
        {"if": {"properties": {"b": True}}, "then": True},
        {"if": True, "else": {"properties": {"b": True}}},
        {"allOf": [{"allOf": [{"properties": {"b": True}}]}]},
        {"allOf": [{"patternProperties": {"^b": True}}]},
        {"allOf": [{"additionalProperties": True}]},
        {"allOf": [{"$ref": "#/$defs/b"}]},
        {"$ref": "#/$defs/b"},
        {"dependentSchemas": {"a": {"properties": {"b": True}}}},
        {"patternProperties": {"^b": True}},
    ],
)
def test_unevaluated_properties_stay_where_composition_evaluates_other_names(
    composition: dict[str, Any],
) -> None:
    schema = {
        "$defs": {"b": {"properties": {"b": True}}},
        "type": "object",
        "properties": {"a": {"type": "string"}},
        **composition,
        **CLOSED,
    }
    rewritten = quick_schema(schema)
    assert rewritten["unevaluatedProperties"] is False
    assert "additionalProperties" not in rewritten
    quick = jsonschema_rs.Draft202012Validator(rewritten)
    reference = jsonschema_rs.Draft202012Validator(schema)
    for instance in ({"a": "x"}, {"a": "x", "b": "y"}, {"c": 1}, {"a": 1}):
        assert quick.is_valid(instance) is reference.is_valid(instance)


@pytest.mark.parametrize(
    "composition",
    [
        {},
        {"allOf": [{"properties": {"a": {"minLength": 1}}}]},
        {"if": {"properties": {"a": {"const": "x"}}}, "then": {"required": ["a"]}},
        {"anyOf": [True, False]},
    ],
)
def test_unevaluated_properties_become_additional_where_equivalent(
    composition: dict[str, Any],
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, **composition, **CLOSED}
    rewritten = quick_schema(schema)
    assert "unevaluatedProperties" not in rewritten
    assert rewritten["additionalProperties"] is False
    assert schema["unevaluatedProperties"] is False  # the document itself is left alone


def test_only_schema_positions_are_rewritten() -> None:
    schema = {
        "properties": {"unevaluatedProperties": False, "a": OPEN_ITEM},
        "const": {"unevaluatedProperties": False},
        "enum": [{"unevaluatedProperties": False}],
        **CLOSED,
    }
    rewritten = quick_schema(schema)
    assert rewritten["properties"]["unevaluatedProperties"] is False
    assert rewritten["properties"]["a"]["additionalProperties"] is False
    assert rewritten["const"] == {"unevaluatedProperties": False}
    assert rewritten["enum"] == [{"unevaluatedProperties": False}]


def test_nesting_bound() -> None:
    assert nesting_bound({"type": "string"}) == 0
    assert nesting_bound({"type": "object", "properties": {"a": True}}) == math.inf
    closed = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert nesting_bound({**closed, "additionalProperties": False}) == 1
    assert nesting_bound({**closed, **CLOSED}) == math.inf
    array = {"type": "array", "items": {**closed, "additionalProperties": False}}
    assert nesting_bound(array) == 2
    assert nesting_bound({"type": "array"}) == math.inf
    assert nesting_bound({"const": [[1]]}) == 2
    assert nesting_bound({"$ref": "#"}) == math.inf


TS_PATTERN = r"^(?!0000-)(?!.*:60(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?$)"


@pytest.mark.parametrize(
    ("pattern", "bodies"),
    [
        (TS_PATTERN, ["0000-", r".*:60(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?$"]),
        (r"^(?![(])(?!\))", ["[(]", r"\)"]),
        (r"^(?![)]a)", ["[)]a"]),
        ("^(?!a)b", None),
        ("(?!a)", None),
        ("^a", None),
        ("^(?=a)", None),
        (r"^(?!(a)\1)", None),
        ("^(?!a", None),
    ],
)
def test_leading_lookaheads(pattern: str, bodies: list[str] | None) -> None:
    assert leading_lookaheads(pattern) == bodies


@pytest.mark.parametrize("extra", [{}, {"format": "date-time"}, {"not": {"const": "x"}}])
def test_lookaheads_split_keep_the_verdicts(extra: dict[str, Any]) -> None:
    schema = {"type": ["string", "number", "null"], "pattern": TS_PATTERN, **extra}
    rewritten = quick_schema(schema)
    assert "pattern" not in rewritten and schema["pattern"] == TS_PATTERN
    quick = jsonschema_rs.Draft202012Validator(rewritten, validate_formats=True)
    reference = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    instances = [
        "2026-11-01T23:59:59Z",
        "2026-11-01T23:59:60Z",
        "2026-11-01T23:59:60.5+01:00",
        "2026-11-01T23:60:00Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "000-01-01",
        "x:60",
        "x:60\n",
        "a\n:60",
        ":60z",
        "",
        "x",
        0,
        60,
        None,
    ]
    verdicts = [reference.is_valid(instance) for instance in instances]
    assert True in verdicts and False in verdicts
    assert [quick.is_valid(instance) for instance in instances] == verdicts
