import re
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streaming.ingest import privacy
from streaming.ingest.privacy import scrub_ips, scrub_json, scrub_text

ADDRESS_LIKE = st.text(alphabet='0123456789abcdefABCDEF:.g/ "\\\x01\n\t\b\f', max_size=40)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | ADDRESS_LIKE,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ADDRESS_LIKE, children, max_size=4)
    ),
    max_leaves=12,
)


def walked(value: Any) -> bytes:
    """What the quarantine stored before :func:`scrub_json`: the value walked, then dumped."""
    scrubbed, _ = scrub_ips(value)
    return orjson.dumps(scrubbed)


def test_addresses_are_truncated_wherever_they_stand() -> None:
    assert scrub_text("from 203.0.113.77 via 2001:db8:85a3::8a2e:370:7334") == (
        "from 203.0.113.0 via 2001:db8:85a3::"
    )
    assert scrub_text("Chrome/131.0.0.0 at 15:33:23.386Z, sha256:c656e6") == (
        "Chrome/131.0.0.0 at 15:33:23.386Z, sha256:c656e6"
    )


@settings(max_examples=400)
@given(ADDRESS_LIKE)
def test_the_start_test_changes_no_match(text: str) -> None:
    without = re.compile(f"{privacy._IPV4}|{privacy._IPV6}")
    assert [m.span() for m in privacy._ADDRESS.finditer(text)] == [
        m.span() for m in without.finditer(text)
    ]


@settings(max_examples=400)
@given(JSON_VALUES)
def test_scrubbing_the_json_equals_walking_the_value(value: Any) -> None:
    raw = orjson.dumps(value)
    assert scrub_json(raw, value) == walked(value)


def test_scrubbing_the_json_covers_names_edges_and_escapes() -> None:
    cases: list[Any] = [
        {"203.0.113.9": "a", "b": "x 198.51.100.7"},
        {"ua": "Mozilla/5.0 Chrome/131.0.0.0", "ts": "2026-11-01T15:33:23.386Z"},
        ["\x01203.0.113.9", "\b::1", "\f2001:db8::1", '"203.0.113.9"'],
        {"n": [1.5, 2.5, 3.5], "t": "12:34:56", "v": ":::"},
        {"a": {"b": {"c": "2001:db8::ff00:42:8329"}}},
    ]
    for value in cases:
        assert scrub_json(orjson.dumps(value), value) == walked(value)
    untouched = {"ua": "Chrome/131.0.0.0", "t": "12:34:56"}
    raw = orjson.dumps(untouched)
    assert scrub_json(raw, untouched) is raw
    assert b"203.0.113.0" in scrub_json(b'["\\u0001203.0.113.9"]', ["\x01203.0.113.9"])
