"""A request body as JSON, without losing a batch to one event the stream cannot hold.

``orjson`` reads nearly every body, fast. It refuses some texts RFC 8259 allows: a string with
an unpaired UTF-16 surrogate escape (``"\\ud800"``, which a browser's ``JSON.stringify`` writes
for a broken string) and a number beyond a double's range (``1e400``). A body it refuses is read
again by the standard library, which takes every RFC 8259 text (``NaN`` and ``Infinity`` stay
refused, as they are not JSON). Each event of such a body that ``orjson`` still cannot hold
becomes an :class:`streaming.ingest.core.UnstorableEvent`, rejected on its own; its neighbours
go on as in any other body.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import orjson

from streaming.ingest.core import UnstorableEvent, nested_deeper_than

UNPAIRED_SURROGATE = "a string holds an unpaired UTF-16 surrogate, which is not text"
NUMBER_OUT_OF_RANGE = "a number is beyond the range of a 64-bit float"
CHECKED_DEPTH = 512
"""Deeper events are left to the core's nesting limit: serializing them again could exceed
the interpreter's recursion limit or ``orjson``'s depth limit (1,024)."""


class MalformedBodyError(ValueError):
    """The body is not UTF-8 JSON text; the message says why."""


def parse_body(body: bytes) -> tuple[Any, bool]:
    """(the document, whether it was read by the standard library: then its events must go
    through :func:`storable_events`)."""
    try:
        return orjson.loads(body), False
    except orjson.JSONDecodeError as error:
        refusal = error
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedBodyError(
            f"the body is not UTF-8 text (byte 0x{body[error.start]:02x} at {error.start})"
        ) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_integer), True
    except ValueError:
        raise MalformedBodyError(f"the body is not JSON: {refusal}") from None
    except RecursionError:
        raise MalformedBodyError(
            f"the body nests too deeply to be read without its fast parser ({refusal})"
        ) from None


def storable_events(events: list[Any]) -> list[Any]:
    """The events as ``orjson`` reads them, those it cannot hold as :class:`UnstorableEvent`."""
    return [_storable(event) for event in events]


def _storable(event: Any) -> Any:
    if nested_deeper_than(event, CHECKED_DEPTH):
        return event  # the core rejects it as nested too deep before anything walks it
    try:
        text = json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return orjson.loads(text.encode())
    except UnicodeEncodeError:
        return UnstorableEvent(event, UNPAIRED_SURROGATE)
    except ValueError:  # orjson's decode error is a ValueError too
        return UnstorableEvent(event, NUMBER_OUT_OF_RANGE)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _integer(text: str) -> int | float:
    """Python's own limit on the digits of an integer read from text would refuse the body;
    past it the number is out of range anyway (a float, infinite)."""
    limit = sys.get_int_max_str_digits()
    if limit and len(text) > limit:
        return float(text)
    return int(text)
