"""Which partitions a check run covers: the partition or range its run was launched for."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import dagster as dg

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PARTITION = "dagster/partition"


def run_window(
    tags: Mapping[str, str], partitions_def: dg.TimeWindowPartitionsDefinition
) -> dg.TimeWindow | None:
    """The time window of the run's partition (or range); None for an unpartitioned run,
    which means the whole table."""
    first = tags.get(RANGE_START) or tags.get(PARTITION)
    last = tags.get(RANGE_END) or tags.get(PARTITION)
    if first is None or last is None:
        return None
    start: datetime = partitions_def.time_window_for_partition_key(first).start
    end: datetime = partitions_def.time_window_for_partition_key(last).end
    return dg.TimeWindow(start, end)
