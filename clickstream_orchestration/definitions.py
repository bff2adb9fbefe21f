"""The single Dagster code location of the project (loaded by workspace.yaml and [tool.dagster]).

Assets, checks, sensors and schedules are defined per domain in this package and collected here.
"""

from __future__ import annotations

import dagster as dg

defs = dg.Definitions()
