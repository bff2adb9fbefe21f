"""Synthetic clickstream traffic: realistic, dirty, deterministic and fast.

``generate(config)`` yields the events a day (or any range) of visitors would send to the ingest,
each labelled with the dirt it carries; the sinks write them as JSONL, as landed objects, or
post them to an ingest over HTTP.
"""

from streaming.generator.config import TrafficConfig
from streaming.generator.runner import generate, generate_slices
from streaming.generator.segments import generate_segments
from streaming.generator.slices import GeneratedEvent
from streaming.generator.summary import GenerationSummary
from streaming.generator.violations import INVALID_KINDS

__all__ = [
    "INVALID_KINDS",
    "GeneratedEvent",
    "GenerationSummary",
    "TrafficConfig",
    "generate",
    "generate_segments",
    "generate_slices",
]
