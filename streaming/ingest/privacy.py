"""Keeping raw IP addresses out of everything the ingest persists.

Accepted events cannot carry an address (every schema object is closed and none declares one);
the sender's address is truncated before it reaches enrichment. Rejected events are kept as sent,
so any IP address literal inside them (a value, a member name, part of a URL) is truncated the
same way before the payload is quarantined.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from streaming.enrichment import anonymise_ip

_IPV4 = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"
_IPV6 = (
    r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}"
    r"(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4})(?![0-9A-Fa-f:.])"
)
_IPV4_ONLY = re.compile(_IPV4)
_MATCH_START = r"(?=[0-9A-Fa-f:])"
"""What every match starts with: tested first, it halves the scan of text holding no address."""
_ADDRESS = re.compile(f"{_MATCH_START}(?:{_IPV4}|{_IPV6})")


def _truncate_ipv4(match: re.Match[str]) -> str:
    text = match.group(0)
    return anonymise_ip(text) or text


def _truncate_match(match: re.Match[str]) -> str:
    """An address truncated; text that only looks like IPv6 keeps it, minus any IPv4 in it."""
    text = match.group(0)
    return anonymise_ip(text) or _IPV4_ONLY.sub(_truncate_ipv4, text)


def scrub_text(text: str) -> str:
    """``text`` with every IPv4/IPv6 address in it truncated to /24 or /48."""
    return _ADDRESS.sub(_truncate_match, text)


def scrub_ips(value: Any) -> tuple[Any, bool]:
    """A copy of a JSON value with every address truncated, and whether anything changed."""
    if isinstance(value, str):
        scrubbed = scrub_text(value)
        return scrubbed, scrubbed != value
    if isinstance(value, dict):
        changed = False
        result: dict[str, Any] = {}
        for key, item in value.items():
            new_key, key_changed = scrub_ips(key)
            new_item, item_changed = scrub_ips(item)
            result[new_key] = new_item
            changed = changed or key_changed or item_changed
        return result, changed
    if isinstance(value, list):
        items = [scrub_ips(item) for item in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    return value, False


def scrub_json(raw: bytes, value: Any) -> bytes:
    """``raw``, the compact JSON of ``value``, with every address in it truncated as
    :func:`scrub_ips` truncates them.

    Without a backslash in ``raw`` every string and member name stands in it verbatim between
    quotes, which no address contains; outside the quotes a run of address characters holds
    one colon or one dot at most (a member's colon, a number), and an address needs two colons
    or three dots. One scan of ``raw`` then finds exactly the strings' addresses; only when it
    finds one is the value walked and serialized again."""
    text = raw.decode()
    if "\\" not in text and _ADDRESS.sub(_truncate_match, text) == text:
        return raw
    scrubbed, changed = scrub_ips(value)
    return orjson.dumps(scrubbed) if changed else raw
