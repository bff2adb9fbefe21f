"""Versioned JSON Schemas of the event contract, and the compiled validators for them.

Schemas live in ``streaming/schemas/<name>/<MODEL-REVISION-ADDITION>.json`` (SchemaVer, as in
Snowplow's Iglu: 1-1-0 adds optional fields to 1-0-0, 2-0-0 breaks it). This module is the only
place that reads them. Validation is Draft 2020-12 with ``format`` asserted (``date-time`` and
``uuid`` are checked, not just annotated).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
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

    def is_valid(self, instance: Any) -> bool:
        return self._validator.is_valid(instance)

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


def _compile(name: str, version: SchemaVer, file: Traversable) -> RegisteredSchema:
    raw = file.read_bytes()
    document = orjson.loads(raw)
    expected_id = f"urn:clickstream:schema:{name}:{version}"
    if document.get("$id") != expected_id:
        raise ValueError(
            f"{name}/{version}.json declares $id {document.get('$id')!r}, expected {expected_id!r}"
        )
    canonical = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    return RegisteredSchema(
        name=name,
        version=version,
        document=document,
        schema_hash="sha256:" + hashlib.sha256(canonical).hexdigest(),
        _validator=jsonschema_rs.Draft202012Validator(document, validate_formats=True),
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
