"""``clickstream demo``: the main job on the local default."""

from __future__ import annotations

from typing import Annotated

import typer


def demo(
    events: Annotated[int, typer.Option(help="Events in the generated day of traffic.")] = 250_000,
    seed: Annotated[int, typer.Option(help="Seed of the traffic generator.")] = 7,
) -> None:
    """Send a day of dirty traffic through the local stack; materialise the lake through Dagster."""
    from clickstream_cli.demo_run import run_demo

    raise typer.Exit(run_demo(events=events, seed=seed))
