"""Seeds, ids and timestamps that depend only on their inputs, never on the process or the clock.

Python's ``hash()`` is salted per process, so every derived seed goes through SHA-256 instead.
"""

from __future__ import annotations

import hashlib
import math
import random
import struct
from bisect import bisect
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import accumulate
from statistics import NormalDist
from typing import Generic, TypeVar

Option = TypeVar("Option")


def derived_int(*parts: object) -> int:
    """A 256-bit integer determined by ``parts`` (joined with ``:``)."""
    text = ":".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")


def derived_rng(*parts: object) -> random.Random:
    return random.Random(derived_int(*parts))


_UUID4_CLEAR = 0xFFFFFFFF_FFFF_0FFF_3FFF_FFFFFFFFFFFF
_UUID4_SET = 0x00000000_0000_4000_8000_000000000000


def uuid_text(bits: int) -> str:
    """A UUIDv4-shaped string (version and variant bits set) from 128 random bits."""
    digits = ((bits & _UUID4_CLEAR) | _UUID4_SET).to_bytes(16, "big").hex()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def uniforms(key: str) -> tuple[float, ...]:
    """32 independent uniform draws in [0, 1), 16-bit resolution, determined by ``key``."""
    words = _WORDS.unpack(hashlib.sha512(key.encode()).digest())
    scale = _TWO_TO_MINUS_16
    return tuple([word * scale for word in words])


_TWO_TO_MINUS_16 = 2.0**-16
_WORDS = struct.Struct(">32H")


def derived_uuid(*parts: object) -> str:
    return uuid_text(derived_int(*parts) >> 128)


class WeightedChoice(Generic[Option]):
    """Picks from fixed options by integer weights with one ``random()`` call and a bisect."""

    __slots__ = ("_cumulative", "_options", "_total")

    def __init__(self, weighted: Sequence[tuple[Option, int]]) -> None:
        self._options = tuple(option for option, _ in weighted)
        self._cumulative = tuple(accumulate(weight for _, weight in weighted))
        self._total = self._cumulative[-1]

    def __call__(self, rng: random.Random) -> Option:
        return self._options[bisect(self._cumulative, rng.random() * self._total)]

    def at(self, uniform: float) -> Option:
        """The option a uniform draw in [0, 1) lands on."""
        return self._options[bisect(self._cumulative, uniform * self._total)]


class TimestampFormatter:
    """RFC 3339 UTC with milliseconds (``2026-11-01T12:34:56.789Z``), cached per second."""

    __slots__ = ("_seconds",)

    def __init__(self) -> None:
        self._seconds: dict[int, str] = {}

    def __call__(self, epoch_ms: int) -> str:
        second, millis = divmod(epoch_ms, 1000)
        prefix = self._seconds.get(second)
        if prefix is None:
            prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            self._seconds[second] = prefix
        return f"{prefix}{millis:03d}Z"


class PauseTable:
    """A clamped log-normal duration (ms) drawn with one ``random()``: 4096 precomputed
    quantiles stand in for the distribution, which is plenty for think times."""

    __slots__ = ("_quantiles",)
    SIZE = 4096

    def __init__(self, median_s: float, sigma: float, low_s: float, high_s: float) -> None:
        normal = NormalDist()
        self._quantiles = tuple(
            int(
                1000
                * min(
                    high_s,
                    max(
                        low_s,
                        median_s * math.exp(sigma * normal.inv_cdf((index + 0.5) / self.SIZE)),
                    ),
                )
            )
            for index in range(self.SIZE)
        )

    def __call__(self, rng: random.Random) -> int:
        return self._quantiles[int(rng.random() * self.SIZE)]


def format_ts(epoch_ms: int) -> str:
    return TimestampFormatter()(epoch_ms)


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder, ties by
    position): the parts always sum to ``total`` and each is within 1 of its exact share."""
    if total < 0:
        raise ValueError("total must be >= 0")
    weight_sum = sum(weights)
    if weight_sum <= 0:
        if total and not weights:
            raise ValueError("cannot apportion a positive total over no weights")
        parts = [0] * len(weights)
        if total:
            parts[0] = total
        return parts
    quotients = [divmod(total * weight, weight_sum) for weight in weights]
    parts = [quotient for quotient, _ in quotients]
    shortfall = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda index: (-quotients[index][1], index))
    for index in by_remainder[:shortfall]:
        parts[index] += 1
    return parts
