"""Running slices, in this process or in a pool of workers, always yielding them in slice order.

At most a few slices are in flight at a time, so memory stays bounded however slow the
consumer is; the output never depends on the number of workers.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

from streaming.generator.config import TrafficConfig
from streaming.generator.schedule import SlicePlan, plan_slices
from streaming.generator.slices import GeneratedEvent, draw_slice
from streaming.generator.summary import Tally

Result = TypeVar("Result")
SliceTask = Callable[[TrafficConfig, SlicePlan], Result]
SLICES_IN_FLIGHT_PER_WORKER = 2


@dataclass(frozen=True)
class SliceEvents:
    plan: SlicePlan
    events: list[GeneratedEvent]
    tally: Tally


def default_workers() -> int:
    return os.cpu_count() or 1


def run_slices(
    config: TrafficConfig,
    task: SliceTask[Result],
    workers: int = 1,
    *,
    context: BaseContext | None = None,
    worker_setup: Callable[..., None] | None = None,
    worker_setup_args: tuple[Any, ...] = (),
) -> Iterator[Result]:
    """``task(config, plan)`` for every slice of the run, in slice order.

    With ``workers > 1`` tasks run in a pool; each worker first runs
    ``worker_setup(*worker_setup_args)`` when given.
    """
    plans = plan_slices(config)
    if workers <= 1 or len(plans) <= 1:
        for plan in plans:
            yield task(config, plan)
        return
    pool = (context or pool_context()).Pool(
        min(workers, len(plans)),
        initializer=_worker_started,
        initargs=(worker_setup, worker_setup_args),
    )
    with pool:
        feed = iter(plans)
        in_flight = deque(
            pool.apply_async(task, (config, plan))
            for plan in islice(feed, workers * SLICES_IN_FLIGHT_PER_WORKER)
        )
        while in_flight:
            result = in_flight.popleft().get()
            following = next(feed, None)
            if following is not None:
                in_flight.append(pool.apply_async(task, (config, following)))
            yield result


def slice_events(config: TrafficConfig, plan: SlicePlan) -> SliceEvents:
    events, tally = draw_slice(config, plan)
    return SliceEvents(plan, events, tally)


def generate_slices(config: TrafficConfig, workers: int = 1) -> Iterator[SliceEvents]:
    return run_slices(config, slice_events, workers)


def generate(config: TrafficConfig, workers: int = 1) -> Iterator[GeneratedEvent]:
    """Every event of the run, slice after slice, each slice in arrival order."""
    for output in generate_slices(config, workers):
        yield from output.events


def pool_context() -> BaseContext:
    """``fork`` is cheapest, but only safe while this process runs a single thread."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _worker_started(setup: Callable[..., None] | None, setup_args: tuple[Any, ...]) -> None:
    """Workers only generate slices, which build no reference cycles: without the cyclic
    collector they skip its rescans of every cached visitor. Freed memory is kept for the next
    slice rather than handed back to the system and faulted in again."""
    gc.disable()
    keep_freed_memory()
    if setup is not None:
        setup(*setup_args)


def keep_freed_memory() -> None:
    """Ask glibc's allocator to reuse freed memory instead of returning it (page faults are
    expensive in virtual machines). A no-op where glibc is not the C library."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)
    mallopt(_M_TRIM_THRESHOLD, 1024 * 1024 * 1024)


_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
