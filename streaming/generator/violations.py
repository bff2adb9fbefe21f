"""Schema violations real clients send: each kind turns a valid event into an invalid one."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import orjson

Payload = dict[str, Any]


def _missing_required_field(payload: Payload, rng: random.Random) -> None:
    choice = rng.randrange(4)
    if choice == 0:
        del payload["ts"]
    elif choice == 1:
        del payload["event_type"]
    elif choice == 2:
        del payload["user"]["consent"]
    else:
        del payload["user"]["consent"]["analytics"]


def _bad_event_type(payload: Payload, rng: random.Random) -> None:
    payload["event_type"] = rng.choice(("pageview", "click", "PageView", "chart_click"))


def _ts_without_offset(payload: Payload, rng: random.Random) -> None:
    payload["ts"] = payload["ts"].removesuffix("Z")


def _bad_event_id(payload: Payload, rng: random.Random) -> None:
    event_id = payload["event_id"]
    payload["event_id"] = rng.choice(
        (event_id.replace("-", ""), event_id[:-4], "{" + event_id + "}", f"evt_{event_id[:8]}")
    )


def _chart_without_chart(payload: Payload, rng: random.Random) -> None:
    payload["event_type"] = "chart_interaction"
    payload.pop("chart", None)


def _affiliate_without_affiliate(payload: Payload, rng: random.Random) -> None:
    payload["event_type"] = "affiliate_click"
    payload.pop("affiliate", None)


def _negative_payout(payload: Payload, rng: random.Random) -> None:
    affiliate = payload.setdefault("affiliate", {"link_id": "lnk_unknown", "target": "unknown"})
    payload["event_type"] = "affiliate_click"
    affiliate["payout_cents"] = -rng.randint(1, 5000)


def _bad_chart_action(payload: Payload, rng: random.Random) -> None:
    chart = payload.setdefault("chart", {"product_ids": [], "control_id": "plan-price"})
    payload["event_type"] = "chart_interaction"
    chart["action"] = rng.choice(("zoom", "click", "Sort", "expand_all"))


def _unknown_top_level_property(payload: Payload, rng: random.Random) -> None:
    name, value = rng.choice(
        (
            ("debug", True),
            ("page_title", "Compare plans"),
            ("properties", {"plan": "pro"}),
            ("anonymous_id", "a_" + payload.get("event_id", "x")[:12]),
        )
    )
    payload[name] = value


def _unknown_nested_property(payload: Payload, rng: random.Random) -> None:
    ctx = payload.setdefault("ctx", {})
    name, value = rng.choice(
        (
            ("screen", "1920x1080"),
            ("timezone", "Europe/Berlin"),
            ("viewport_width", 1280),
            ("title", "Compare plans"),
        )
    )
    ctx[name] = value


def _wrong_type(payload: Payload, rng: random.Random) -> None:
    options: list[Callable[[], None]] = [
        lambda: payload["user"]["consent"].__setitem__("analytics", "true"),
    ]
    if "affiliate" in payload:
        options.append(
            lambda: payload["affiliate"].__setitem__(
                "payout_cents", str(payload["affiliate"]["payout_cents"])
            )
        )
    if "chart" in payload:
        options.append(
            lambda: payload["chart"].__setitem__(
                "product_ids", ",".join(payload["chart"]["product_ids"])
            )
        )
    if "session" in payload:
        options.append(lambda: payload["session"].__setitem__("session_id", rng.randint(1, 10**9)))
    if "metadata" in payload:
        options.append(lambda: payload["metadata"].__setitem__("sdk_version", 42))
    rng.choice(options)()


def _bad_schema_version(payload: Payload, rng: random.Random) -> None:
    payload["schema_version"] = rng.choice(("1.0", "v1.0.0", "1", "1.0.0-beta", "2.0.0"))


MUTATIONS: dict[str, Callable[[Payload, random.Random], None]] = {
    "missing_required_field": _missing_required_field,
    "bad_event_type": _bad_event_type,
    "ts_without_offset": _ts_without_offset,
    "bad_event_id": _bad_event_id,
    "chart_without_chart": _chart_without_chart,
    "affiliate_without_affiliate": _affiliate_without_affiliate,
    "negative_payout": _negative_payout,
    "bad_chart_action": _bad_chart_action,
    "unknown_top_level_property": _unknown_top_level_property,
    "unknown_nested_property": _unknown_nested_property,
    "wrong_type": _wrong_type,
    "bad_schema_version": _bad_schema_version,
}
INVALID_KINDS: tuple[str, ...] = tuple(MUTATIONS)

PREFERRED_EVENT_TYPE: dict[str, str] = {
    "chart_without_chart": "chart_interaction",
    "bad_chart_action": "chart_interaction",
    "affiliate_without_affiliate": "affiliate_click",
    "negative_payout": "affiliate_click",
}
"""Kinds that read most naturally on an event of a given type; others suit any event."""


def violate(payload: Payload, kind: str, rng: random.Random) -> Payload:
    """A deep copy of ``payload`` carrying one violation of ``kind``."""
    broken = orjson.loads(orjson.dumps(payload))
    MUTATIONS[kind](broken, rng)
    return broken
