"""Who visits: people and crawlers, each derived from ``(seed, index)`` by a pure function.

Any process can rebuild any visitor without shared state, which is what lets time slices be
generated independently and in parallel.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from hashlib import sha256
from typing import NamedTuple

from streaming.generator.determinism import WeightedChoice, derived_rng, uniforms
from streaming.generator.vocabulary import (
    AB_VARIANTS,
    BROWSERS,
    CATEGORIES,
    COUNTRIES,
    CRAWLERS,
    EXPERIMENTS,
    WEB_SDK_VERSIONS,
    Country,
    Crawler,
    Device,
)

EVENTS_PER_USER = 10
EVENTS_PER_CRAWLER = 4000
IPV6_SHARE = 0.15
ACTIVITY_SKEW = 2.2
"""Sessions pick user ``int(n * u ** skew)``: the lowest indices are the frequent returners."""

_country = WeightedChoice([(country, country.weight) for country in COUNTRIES])
_device = WeightedChoice([(device, device.weight) for device in BROWSERS])
_crawler = WeightedChoice([(crawler, crawler.weight) for crawler in CRAWLERS])
_sdk_version = WeightedChoice(WEB_SDK_VERSIONS)
_ab_variant = WeightedChoice(AB_VARIANTS)
_B2B_INTERESTS = ("crm", "project-management")


@dataclass(frozen=True, slots=True)
class Population:
    users: int
    crawlers: int

    @classmethod
    def for_events(cls, events: int) -> Population:
        return cls(
            users=max(20, events // EVENTS_PER_USER), crawlers=max(3, events // EVENTS_PER_CRAWLER)
        )

    def pick_user(self, rng: random.Random) -> int:
        return min(self.users - 1, int(self.users * rng.random() ** ACTIVITY_SKEW))

    def pick_crawler(self, rng: random.Random) -> int:
        return min(self.crawlers - 1, int(self.crawlers * rng.random() ** 1.5))


class Visitor(NamedTuple):
    """A person: one browser, one network address, stable preferences."""

    number: int
    """The person's place in the population (a field named ``index`` would shadow tuple.index)."""
    user_id_hash: str
    country: str
    locale: str
    search_referrer: str
    ip: str
    device_kind: str
    user_agent: str
    ab_variant: str
    experiment_keys: tuple[str, ...]
    sdk_version: str
    interest: str
    """The product category the person mostly compares."""
    segments: frozenset[str]
    """Segments the person belongs to when the reference data starts."""
    click_affinity: float
    """Multiplier on the chance of clicking an affiliate link."""


class CrawlerVisit(NamedTuple):
    """A crawler or automation client; it runs the SDK with a fresh anonymous id."""

    number: int
    user_id_hash: str
    ip: str
    country: str
    user_agent: str
    runs_scripts: bool


def client_hash(kind: str, seed: int, index: int) -> str:
    """What an SDK sends as ``user_id_hash``: ``sha256:`` and 64 hex digits."""
    return "sha256:" + sha256(f"chartcompare-{kind}:{seed}:{index}".encode()).hexdigest()


def visitor(seed: int, index: int) -> Visitor:
    draw = iter(uniforms(f"{seed}:user:{index}")).__next__
    country: Country = _country.at(draw())
    device: Device = _device.at(draw())
    heavy = draw() < 0.15
    segments = set()
    if draw() < (0.7 if heavy else 0.08):
        segments.add("returning")
    price_sensitive = draw() < 0.25
    if price_sensitive:
        segments.add("price_sensitive")
    if draw() < (0.35 if price_sensitive else 0.06):
        segments.add("deal_hunter")
    b2b = device.kind == "desktop" and draw() < 0.16
    if b2b:
        segments.add("b2b")
    if draw() < 0.18:
        segments.add("newsletter")
    interests = _B2B_INTERESTS if b2b else CATEGORIES
    interest = interests[int(draw() * len(interests))]
    enrolled = tuple(name for name in EXPERIMENTS if draw() < 0.45) or (EXPERIMENTS[0],)
    return Visitor(
        number=index,
        user_id_hash=client_hash("user", seed, index),
        country=country.code,
        locale=country.locales[int(draw() * len(country.locales))],
        search_referrer=country.google,
        ip=_ip_address(draw, country),
        device_kind=device.kind,
        user_agent=device.user_agent,
        ab_variant=_ab_variant.at(draw()),
        experiment_keys=enrolled,
        sdk_version=_sdk_version.at(draw()),
        interest=interest,
        segments=frozenset(segments),
        click_affinity=(1.8 if "deal_hunter" in segments else 1.0) * (0.6 + 0.8 * draw()),
    )


@lru_cache(maxsize=4096)
def crawler_visit(seed: int, index: int) -> CrawlerVisit:
    rng = derived_rng(seed, "crawler", index)
    crawler: Crawler = _crawler(rng)
    prefix = rng.choice(crawler.ipv4_prefixes)
    octets = 4 - prefix.count(".")
    tail = [str(rng.randint(0, 255)) for _ in range(octets - 1)] + [str(rng.randint(1, 254))]
    return CrawlerVisit(
        number=index,
        user_id_hash=client_hash("anonymous", seed, index),
        ip=prefix + ".".join(tail),
        country=crawler.country,
        user_agent=crawler.user_agent,
        runs_scripts=crawler.runs_scripts,
    )


def _ip_address(draw: Callable[[], float], country: Country) -> str:
    if draw() < IPV6_SHARE:
        groups = ":".join(f"{1 + int(draw() * 0xFFFE):x}" for _ in range(3))
        return f"{country.ipv6_prefix}:{groups}::{1 + int(draw() * 0xFFFE):x}"
    octets = country.ipv4_first_octets
    first = octets[int(draw() * len(octets))]
    return f"{first}.{int(draw() * 256)}.{int(draw() * 256)}.{1 + int(draw() * 254)}"
