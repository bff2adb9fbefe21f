"""Event payloads written as JSON text from fragments, instead of as dicts.

A visit's events repeat most of their members (user, session, context, metadata): those are
serialised once per person, session or page and joined with each event's own id and time.
Building and freeing a dict per event would cost more than writing the whole line.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlencode

import orjson

from streaming.generator.population import Visitor, visitor

SCHEMA_VERSION = "1.0.0"
LEGACY_SDK = "0.3.9"
"""The oldest SDK still in the field predates ``schema_version`` and omits it."""

PAGE_VIEW = "page_view"
CHART_INTERACTION = "chart_interaction"
AFFILIATE_CLICK = "affiliate_click"
PURCHASE = "purchase"
PURCHASE_SCHEMA_VERSION = "1.1.0"
"""A purchase needs ingest_event 1-1-0: its head always declares it, whatever the SDK."""

Draft = tuple[int, str, str]
"""An event before delivery: client timestamp (epoch ms), event type, payload as JSON text."""
HEAD = '{"schema_version":"' + SCHEMA_VERSION + '","event_type":"'
"""How every event's JSON starts, up to its event type."""
HEAD_WITHOUT_VERSION = '{"event_type":"'
PURCHASE_HEAD = '{"schema_version":"' + PURCHASE_SCHEMA_VERSION + '","event_type":"'
_dumps = orjson.dumps


class PersonJson(NamedTuple):
    """A person and the JSON fragments every event of theirs repeats."""

    person: Visitor
    head: str
    """``{"schema_version":"1.0.0","event_type":"`` (the legacy SDK sends no version)."""
    users: tuple[str, str, str]
    """The ``"user"`` member without consent, with analytics only, with analytics and ads."""
    ctx_tail: str
    """The end of the ``ctx`` object after its URLs: locale, user agent, A/B variant."""
    tail: str
    """``,"metadata":{...}}``: the rest of the event."""


@lru_cache(maxsize=131_072)
def person_json(seed: int, index: int) -> PersonJson:
    person = visitor(seed, index)
    user = f'"user":{{"user_id_hash":{json_text(person.user_id_hash)},"consent":{{"analytics":'
    users = (
        f'{user}false,"ads":false}}}}',
        f'{user}true,"ads":false}}}}',
        f'{user}true,"ads":true}}}}',
    )
    context = {
        "locale": person.locale,
        "user_agent": person.user_agent,
        "ab_variant": person.ab_variant,
    }
    metadata = {"sdk_version": person.sdk_version, "experiment_keys": person.experiment_keys}
    return PersonJson(
        person=person,
        head=HEAD if person.sdk_version != LEGACY_SDK else HEAD_WITHOUT_VERSION,
        users=users,
        ctx_tail="," + members(context) + "}",
        tail=f",{members({'metadata': metadata})}}}",
    )


def json_text(value: object) -> str:
    """A string, or a whole mapping such as the UTM parameters, as JSON text."""
    return _dumps(value).decode()


def members(mapping: dict[str, Any]) -> str:
    """The members of a JSON object without its braces: ``"a":1,"b":[2]``."""
    return _dumps(mapping).decode()[1:-1]


def utm_query(utm: dict[str, str]) -> str:
    return _utm_query_of(tuple(utm.items()))


@lru_cache(maxsize=1024)
def _utm_query_of(utm: tuple[tuple[str, str], ...]) -> str:
    return "?" + urlencode([(f"utm_{name}", value) for name, value in utm])
