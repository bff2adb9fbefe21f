"""Great Expectations suites run against a slice of an Iceberg table.

GX is imported only when a check runs (its import takes seconds), works on an ephemeral
context (nothing written to disk), and validates a pandas frame scanned from Iceberg through
pyiceberg, which reads the same tables locally and on Glue/S3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from clickstream_orchestration.checks.suites import Suite


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    sample: list[Any]


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    rows: int
    outcomes: list[ExpectationOutcome]

    @property
    def success(self) -> bool:
        return all(outcome.success for outcome in self.outcomes)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]

    def markdown(self) -> str:
        lines = [
            "| expectation | column | result | unexpected | sample |",
            "|---|---|---|---:|---|",
        ]
        for outcome in self.outcomes:
            lines.append(
                f"| {outcome.expectation} | {outcome.column or ''} | "
                f"{'pass' if outcome.success else '**FAIL**'} | "
                f"{'' if outcome.unexpected_count is None else outcome.unexpected_count} | "
                f"{', '.join(map(str, outcome.sample[:5]))} |"
            )
        return "\n".join(lines)


def validate(suite: Suite, frame: pd.DataFrame) -> SuiteOutcome:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas("lake")
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("slice")
    )
    expectation_suite = gx.ExpectationSuite(name=suite.name)
    for expect in suite.expectations:
        expectation_suite.add_expectation(getattr(gx.expectations, expect.type)(**expect.kwargs))
    expectation_suite = context.suites.add(expectation_suite)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(expectation_suite)
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        assert config is not None  # a suite's validation result carries each expectation it ran
        outcomes.append(
            ExpectationOutcome(
                expectation=config.type,
                column=config.kwargs.get("column"),
                success=bool(item.success),
                unexpected_count=item.result.get("unexpected_count"),
                sample=list(item.result.get("partial_unexpected_list") or []),
            )
        )
    return SuiteOutcome(suite=suite.name, rows=len(frame), outcomes=outcomes)
