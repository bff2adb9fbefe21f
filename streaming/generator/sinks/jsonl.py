"""Newline-delimited JSON: one client payload per line, exactly as a client would send it."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import BinaryIO

from streaming.generator.config import TrafficConfig
from streaming.generator.runner import pool_context, run_slices
from streaming.generator.schedule import SlicePlan, plan_slices
from streaming.generator.slices import collector_paused, draw_deliveries
from streaming.generator.summary import GenerationSummary, Tally

Progress = Callable[[int], None]
"""Called with the number of events just finished."""

TURN_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class SliceLines:
    lines: bytes
    tally: Tally


@dataclass(frozen=True)
class SliceAppended:
    size: int
    tally: Tally


def slice_lines(config: TrafficConfig, plan: SlicePlan) -> SliceLines:
    with collector_paused():
        deliveries, tally = draw_deliveries(config, plan)
        lines = [delivery.line for delivery in deliveries]
        lines.append("")
        text = "\n".join(lines).encode()
        del deliveries, lines  # freed before the collector is back, so it never scans them
    return SliceLines(text, tally)


def write_jsonl(
    config: TrafficConfig,
    out: BinaryIO,
    *,
    workers: int = 1,
    progress: Progress | None = None,
) -> GenerationSummary:
    """Write the run to ``out`` in slice order; the bytes never depend on ``workers``.

    With several workers on a ``fork`` platform and a real file descriptor, each worker appends
    its own slices when their turn comes (from a background thread, so it keeps generating),
    and the data never travels through this process. Elsewhere this process writes them.
    """
    tally = Tally()
    written = 0
    context = pool_context()
    descriptor = _descriptor(out)
    in_turn = workers > 1 and len(plan_slices(config)) > 1  # one slice runs in this process
    if in_turn and descriptor is not None and context.get_start_method() == "fork":
        out.flush()
        outputs = _appended_in_turn(config, workers, context, descriptor)
        for appended in outputs:
            written += appended.size
            tally += appended.tally
            if progress is not None:
                progress(appended.tally.events)
    else:
        for output in run_slices(config, slice_lines, workers, context=context):
            out.write(output.lines)
            written += len(output.lines)
            tally += output.tally
            if progress is not None:
                progress(output.tally.events)
        out.flush()
    return GenerationSummary.from_tally(config, tally, {"bytes_written": written})


def _descriptor(out: BinaryIO) -> int | None:
    try:
        return out.fileno()
    except (AttributeError, OSError, ValueError):
        return None


# --- workers appending in turn -----------------------------------------------------------------


class _SharedOutput:
    """What the workers share: the output's descriptor, the next slice due, and whether an
    append failed (0: no; else the errno, or -1)."""

    def __init__(self, context: BaseContext, descriptor: int, slices: int) -> None:
        self.descriptor = descriptor
        self.slices = slices
        self.turn = context.Condition()
        self.next_slice = context.Value("q", 0, lock=False)
        self.failure = context.Value("i", 0, lock=False)

    def raise_failure(self) -> None:
        code = self.failure.value
        if code:
            raise OSError(code, os.strerror(code)) if code > 0 else RuntimeError("append failed")

    def wait_until_written(self) -> None:
        with self.turn:
            while self.next_slice.value < self.slices and not self.failure.value:
                self.turn.wait(TURN_POLL_SECONDS)
        self.raise_failure()


class _Appender:
    """A worker's background writer: appends the worker's slices when their turn comes, while
    the worker goes on generating the next one."""

    def __init__(self, shared: _SharedOutput) -> None:
        self.shared = shared
        self.pending: queue.Queue[tuple[int, bytes]] = queue.Queue(maxsize=1)
        threading.Thread(target=self._run, name="slice-appender", daemon=True).start()

    def submit(self, index: int, data: bytes) -> None:
        self.pending.put((index, data))

    def _run(self) -> None:
        while True:
            index, data = self.pending.get()
            self._append(index, data)

    def _append(self, index: int, data: bytes) -> None:
        shared = self.shared
        with shared.turn:
            while shared.next_slice.value != index:
                if shared.failure.value:
                    return
                shared.turn.wait(TURN_POLL_SECONDS)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(shared.descriptor, view) :]
            except OSError as error:
                shared.failure.value = error.errno or -1
            else:
                shared.next_slice.value = index + 1
            shared.turn.notify_all()


_appender: list[_Appender] = []


def _start_appender(shared: _SharedOutput) -> None:
    _appender.append(_Appender(shared))


def _append_slice(config: TrafficConfig, plan: SlicePlan) -> SliceAppended:
    output = slice_lines(config, plan)
    _appender[0].submit(plan.index, output.lines)
    return SliceAppended(len(output.lines), output.tally)


def _appended_in_turn(
    config: TrafficConfig, workers: int, context: BaseContext, descriptor: int
) -> Iterator[SliceAppended]:
    shared = _SharedOutput(context, descriptor, len(plan_slices(config)))
    outputs = run_slices(
        config,
        _append_slice,
        workers,
        context=context,
        worker_setup=_start_appender,
        worker_setup_args=(shared,),
    )
    try:
        for received, output in enumerate(outputs, start=1):
            shared.raise_failure()
            yield output
            if received == shared.slices:
                # before asking for more, which ends the pool and the appenders with it
                shared.wait_until_written()
    except BaseException:
        # no lock here: the pool may already have stopped a worker holding it; appenders poll
        shared.failure.value = shared.failure.value or -1
        raise
