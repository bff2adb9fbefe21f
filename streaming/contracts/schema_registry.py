"""Versioned JSON Schemas of the event contract, and the compiled validators for them.

Schemas live in ``streaming/schemas/<name>/<MODEL-REVISION-ADDITION>.json`` (SchemaVer, as in
Snowplow's Iglu: 1-1-0 adds optional fields to 1-0-0, 2-0-0 breaks it). This module is the only
place that reads them. Validation is Draft 2020-12 with ``format`` asserted (``date-time`` and
``uuid`` are checked, not just annotated).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, NamedTuple

import jsonschema_rs
import orjson

INGEST_EVENT = "ingest_event"
PRODUCER_EVENT = "producer_event"
DEFAULT_VERSION = "1.0.0"

_VERSION = re.compile(r"^(\d+)[.-](\d+)[.-](\d+)$")


class UnknownSchemaError(LookupError):
    """No registered schema answers the requested name and version."""


class SchemaVer(NamedTuple):
    model: int
    revision: int
    addition: int

    @classmethod
    def parse(cls, text: str) -> SchemaVer:
        """Accepts both the payload form ``1.0.0`` and the file form ``1-0-0``."""
        match = _VERSION.match(text)
        if match is None:
            raise ValueError(f"not a schema version: {text!r} (expected MODEL.REVISION.ADDITION)")
        return cls(*(int(part) for part in match.groups()))

    @property
    def dotted(self) -> str:
        return f"{self.model}.{self.revision}.{self.addition}"

    def __str__(self) -> str:
        return f"{self.model}-{self.revision}-{self.addition}"


@dataclass(frozen=True)
class ValidationIssue:
    """One reason an instance fails its schema."""

    pointer: str
    """JSON pointer to the offending value (``""`` is the whole document)."""
    keyword: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.pointer, "keyword": self.keyword, "message": self.message}


def _pointer(path: list[str | int]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


@dataclass(frozen=True)
class RegisteredSchema:
    name: str
    version: SchemaVer
    document: dict[str, Any]
    schema_hash: str
    _validator: Any = field(repr=False, compare=False)
    """Compiled from ``document``: the source of :meth:`issues`."""
    _fast_validator: Any = field(default=None, repr=False, compare=False)
    """Compiled from :func:`quick_schema` of ``document``: same verdicts, quicker."""
    max_depth: float = math.inf
    """How deeply arrays and objects nest at most in a valid instance (:func:`nesting_bound`)."""

    def is_valid(self, instance: Any) -> bool:
        return (self._fast_validator or self._validator).is_valid(instance)

    @property
    def validity_check(self) -> Callable[[Any], bool]:
        """:meth:`is_valid` without the method call in between, for loops over many events."""
        check: Callable[[Any], bool] = (self._fast_validator or self._validator).is_valid
        return check

    def issues(self, instance: Any) -> list[ValidationIssue]:
        """Every violation, sorted by pointer so answers are stable."""
        found = [
            ValidationIssue(
                pointer=_pointer(list(error.instance_path)),
                keyword=str(error.schema_path[-1]) if error.schema_path else "",
                message=error.message,
            )
            for error in self._validator.iter_errors(instance)
        ]
        return sorted(found, key=lambda issue: (issue.pointer, issue.keyword, issue.message))


class SchemaRegistry:
    """Resolves ``(name, version)`` to a schema document and its compiled validator."""

    def __init__(self, root: Traversable | None = None) -> None:
        self._root = root if root is not None else resources.files("streaming") / "schemas"
        self._schemas: dict[str, dict[SchemaVer, RegisteredSchema]] = {}
        for schema in self._load_all():
            self._schemas.setdefault(schema.name, {})[schema.version] = schema

    def _load_all(self) -> Iterator[RegisteredSchema]:
        for folder in sorted(self._root.iterdir(), key=lambda entry: entry.name):
            if not folder.is_dir():
                continue
            for file in sorted(folder.iterdir(), key=lambda entry: entry.name):
                if file.name.endswith(".json"):
                    yield _compile(folder.name, SchemaVer.parse(file.name[: -len(".json")]), file)

    def names(self) -> list[str]:
        return sorted(self._schemas)

    def versions(self, name: str) -> list[SchemaVer]:
        return sorted(self._family(name))

    def get(self, name: str, version: str | SchemaVer) -> RegisteredSchema:
        """The schema registered under exactly this version."""
        wanted = version if isinstance(version, SchemaVer) else SchemaVer.parse(version)
        try:
            return self._family(name)[wanted]
        except KeyError:
            raise UnknownSchemaError(f"no schema {name} {wanted}") from None

    def resolve(self, name: str, requested: object = None) -> RegisteredSchema:
        """The schema that validates a payload declaring ``schema_version = requested``.

        An absent or malformed version resolves to the default so validation can report the
        field itself. Otherwise the newest registered schema of the same MODEL that is not newer
        than the request is chosen: a 1.0.3 payload is checked against 1-0-0 when that is the
        newest 1-0-x known. A MODEL the registry does not know is an error.
        """
        family = self._family(name)
        if not isinstance(requested, str) or _VERSION.match(requested) is None:
            return self.get(name, DEFAULT_VERSION)
        wanted = SchemaVer.parse(requested)
        candidates = [v for v in family if v.model == wanted.model and v <= wanted]
        if not candidates:
            known = ", ".join(v.dotted for v in sorted(family))
            raise UnknownSchemaError(
                f"unsupported schema_version {requested} for {name} (known: {known})"
            )
        return family[max(candidates)]

    def _family(self, name: str) -> dict[SchemaVer, RegisteredSchema]:
        try:
            return self._schemas[name]
        except KeyError:
            raise UnknownSchemaError(f"no schema named {name!r}") from None


_IN_PLACE_APPLICATORS = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else")
_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")


def _in_place_property_names(schema: Any) -> set[str] | None:
    """The property names that in-place subschemas of an object schema can mark as evaluated for
    ``unevaluatedProperties``, or None when that set cannot be read off the document (a
    reference, ``patternProperties``, ``additionalProperties``, ``unevaluatedProperties`` or
    ``dependentSchemas`` inside the composition)."""
    names: set[str] = set()
    pending = [
        sub
        for keyword in _IN_PLACE_APPLICATORS
        if keyword in schema
        for sub in (schema[keyword] if isinstance(schema[keyword], list) else [schema[keyword]])
    ]
    if "dependentSchemas" in schema:
        return None
    while pending:
        sub = pending.pop()
        if isinstance(sub, bool):
            continue
        if not isinstance(sub, dict):
            return None
        opaque = ("patternProperties", "additionalProperties", "unevaluatedProperties")
        if any(keyword in sub for keyword in (*_REFERENCES, *opaque, "dependentSchemas")):
            return None
        names.update(sub.get("properties", {}))
        for keyword in _IN_PLACE_APPLICATORS:
            if keyword in sub:
                value = sub[keyword]
                pending.extend(value if isinstance(value, list) else [value])
    return names


_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = (
    "items",
    "not",
    "if",
    "then",
    "else",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "propertyNames",
)


def quick_schema(schema: Any) -> Any:
    """A copy of a schema document that accepts exactly the same instances and compiles to a
    quicker validator. Two rewrites, wherever they provably keep the verdicts:

    - ``unevaluatedProperties: false`` becomes ``additionalProperties: false`` when there is no
      ``additionalProperties`` or ``patternProperties`` beside it and every property name that
      in-place composition at that level (``allOf``, ``anyOf``, ``oneOf``, ``if``/``then``/
      ``else``) can evaluate is already one of its own ``properties``. Anywhere else (a
      reference, a composition evaluating other names) it stays as written. Validators compile
      ``additionalProperties`` to a lookup in the declared names, without tracking evaluation.
    - a ``pattern`` made only of negative lookaheads at its start, ``^(?!A)(?!B)``, becomes
      ``not: {type: string, anyOf: [{pattern: ^(?:A)}, {pattern: ^(?:B)}]}`` (in ``allOf``
      when there is a ``not`` already): lookarounds need a backtracking regex engine, the
      split patterns do not.

    Only schema positions are rewritten: ``const``, ``enum`` and unknown keywords are copied."""
    if not isinstance(schema, dict):
        return schema
    rewritten: dict[str, Any] = {}
    for keyword, value in schema.items():
        if keyword in _SCHEMA_MAPS and isinstance(value, dict):
            rewritten[keyword] = {name: quick_schema(sub) for name, sub in value.items()}
        elif keyword in _SCHEMA_LISTS and isinstance(value, list):
            rewritten[keyword] = [quick_schema(sub) for sub in value]
        elif keyword in _SCHEMA_VALUES:
            rewritten[keyword] = quick_schema(value)
        else:
            rewritten[keyword] = value
    _close_objects(schema, rewritten)
    _split_lookaheads(rewritten)
    return rewritten


def _close_objects(schema: dict[str, Any], rewritten: dict[str, Any]) -> None:
    if (
        schema.get("unevaluatedProperties") is False
        and "additionalProperties" not in schema
        and "patternProperties" not in schema
        and not any(keyword in schema for keyword in _REFERENCES)
        and isinstance(schema.get("properties", {}), dict)
    ):
        evaluated = _in_place_property_names(schema)
        if evaluated is not None and evaluated <= set(schema.get("properties", {})):
            del rewritten["unevaluatedProperties"]
            rewritten["additionalProperties"] = False


def _split_lookaheads(rewritten: dict[str, Any]) -> None:
    pattern = rewritten.get("pattern")
    bodies = leading_lookaheads(pattern) if isinstance(pattern, str) else None
    if bodies is None or not isinstance(rewritten.get("allOf", []), list):
        return
    del rewritten["pattern"]
    refused = [{"pattern": f"^(?:{body})"} for body in bodies]
    excluded = {"type": "string", "anyOf": refused}
    if "not" in rewritten:
        rewritten["allOf"] = [*rewritten.get("allOf", []), {"not": excluded}]
    else:
        rewritten["not"] = excluded


_BACKREFERENCE = re.compile(r"\\(?:[1-9]|k<)")


def leading_lookaheads(pattern: str) -> list[str] | None:
    """The bodies of a pattern made only of negative lookaheads at its start, ``^(?!A)(?!B)``;
    None for any other pattern, or when a body holds a backreference (alone, its groups would
    be numbered differently)."""
    if not pattern.startswith("^("):
        return None
    bodies: list[str] = []
    position = 1
    while position < len(pattern):
        end = _group_end(pattern, position) if pattern.startswith("(?!", position) else None
        if end is None:
            return None
        bodies.append(pattern[position + 3 : end])
        position = end + 1
    if any(_BACKREFERENCE.search(body) for body in bodies):
        return None
    return bodies


def _group_end(pattern: str, start: int) -> int | None:
    """Where the group opening at ``start`` closes, past escapes and character classes."""
    depth = 0
    in_class = False
    position = start
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            position += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return position
        position += 1
    return None


def _value_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_value_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_value_depth, value), default=0)
    return 0


def nesting_bound(schema: Any) -> float:
    """An upper bound on how deeply arrays and objects nest in an instance valid under
    ``schema`` (a scalar is level 0), read off its ``type``, ``enum``, ``const``,
    ``properties``, ``additionalProperties: false`` and ``items``; ``math.inf`` when the
    document does not bound it (an open object, an array without ``items``, a reference)."""
    if schema is False:
        return 0
    if not isinstance(schema, dict) or any(keyword in schema for keyword in _REFERENCES):
        return math.inf
    if "const" in schema:
        return _value_depth(schema["const"])
    if "enum" in schema and isinstance(schema["enum"], list):
        return max(map(_value_depth, schema["enum"]), default=0)
    declared = schema.get("type", ["object", "array", "string", "number", "null", "boolean"])
    types = {declared} if isinstance(declared, str) else set(declared)
    bound: float = 0
    if "object" in types:
        if schema.get("additionalProperties") is not False or "patternProperties" in schema:
            return math.inf
        members = schema.get("properties", {}).values()
        bound = max(bound, 1 + max(map(nesting_bound, members), default=0))
    if "array" in types:
        if "items" not in schema or "prefixItems" in schema:
            return math.inf
        bound = max(bound, 1 + nesting_bound(schema["items"]))
    return bound


def _compile(name: str, version: SchemaVer, file: Traversable) -> RegisteredSchema:
    raw = file.read_bytes()
    document = orjson.loads(raw)
    expected_id = f"urn:clickstream:schema:{name}:{version}"
    if document.get("$id") != expected_id:
        raise ValueError(
            f"{name}/{version}.json declares $id {document.get('$id')!r}, expected {expected_id!r}"
        )
    canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    fast_document = quick_schema(document)
    return RegisteredSchema(
        name=name,
        version=version,
        document=document,
        schema_hash="sha256:" + hashlib.sha256(canonical).hexdigest(),
        _validator=jsonschema_rs.Draft202012Validator(document, validate_formats=True),
        _fast_validator=jsonschema_rs.Draft202012Validator(fast_document, validate_formats=True),
        max_depth=nesting_bound(fast_document),
    )


@lru_cache(maxsize=1)
def default_registry() -> SchemaRegistry:
    return SchemaRegistry()


def producer_event_types(registry: SchemaRegistry | None = None) -> list[str]:
    """Every event type a producer record can carry, in any version of its schema."""
    registry = registry or default_registry()
    found: set[str] = set()
    for version in registry.versions(PRODUCER_EVENT):
        document = registry.get(PRODUCER_EVENT, version).document
        found.update(document["properties"]["event_type"]["enum"])
    return sorted(found)
