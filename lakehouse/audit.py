"""Which staged models a dbt invocation must not publish, from its node results.

A staged model is withheld when its own run errored, when a test of error severity on it
failed or errored (tests of warn severity never block), or when it was built from a staged
model that is withheld (it read rows that will never be committed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BLOCKING_STATUSES = {"fail": "failed", "error": "errored"}
TEST_TYPES = frozenset({"test", "unit_test"})


@dataclass(frozen=True)
class NodeResult:
    """One entry of dbt's ``results`` (on-run-end context), reduced to what the audit reads."""

    unique_id: str
    name: str
    resource_type: str
    status: str
    severity: str | None
    depends_on: tuple[str, ...]

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> NodeResult:
        return cls(
            unique_id=values["unique_id"],
            name=values["name"],
            resource_type=values["resource_type"],
            status=values["status"],
            severity=values.get("severity"),
            depends_on=tuple(values.get("depends_on") or ()),
        )

    @property
    def blocks(self) -> bool:
        if self.status not in BLOCKING_STATUSES:
            return False
        if self.resource_type in TEST_TYPES:
            return (self.severity or "error").lower() == "error"
        return self.resource_type == "model"


def _direct_reasons(results: Iterable[NodeResult]) -> dict[str, dict[str, list[str]]]:
    """unique id -> verb ('failed', 'errored') -> names of the blocking nodes."""
    reasons: dict[str, dict[str, list[str]]] = {}
    for result in results:
        if not result.blocks:
            continue
        verb = BLOCKING_STATUSES[result.status]
        targets = result.depends_on if result.resource_type in TEST_TYPES else (result.unique_id,)
        for target in targets:
            reasons.setdefault(target, {}).setdefault(verb, []).append(result.name)
    return reasons


def _ancestors(unique_id: str, upstream: Mapping[str, Sequence[str]]) -> set[str]:
    seen: set[str] = set()
    pending = list(upstream.get(unique_id, ()))
    while pending:
        node = pending.pop()
        if node not in seen:
            seen.add(node)
            pending.extend(upstream.get(node, ()))
    return seen


def withheld_models(
    results: Iterable[NodeResult],
    staged: Mapping[str, str],
    upstream: Mapping[str, Sequence[str]],
) -> dict[str, str]:
    """The staged models not to publish, by unique id, each with why.

    ``staged`` maps each staged model's unique id to its ``schema.table``; ``upstream`` maps
    every model (ephemeral ones included) to the nodes it depends on.
    """
    direct = _direct_reasons(results)
    withheld = {
        unique_id: "; ".join(f"{verb}: {', '.join(names)}" for verb, names in reasons.items())
        for unique_id, reasons in direct.items()
        if unique_id in staged
    }
    blocked = set(withheld)
    for unique_id in staged:
        ancestors = _ancestors(unique_id, upstream)
        upstream_blocked = sorted(staged[node] for node in blocked & ancestors)
        if upstream_blocked:
            reason = f"upstream withheld: {', '.join(upstream_blocked)}"
            withheld[unique_id] = "; ".join(filter(None, (withheld.get(unique_id), reason)))
    return withheld
