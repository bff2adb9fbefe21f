"""``url_path`` (macros/dialect.sql), rendered by dbt and run on DuckDB, against the documented
rule evaluated in Python: an optional ``scheme://authority`` is cut, then everything from the
query or the fragment on; on hand-picked URLs and on seeded random text."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from streaming.contracts.settings import Settings
from tests.dbt_show import show_inline

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

REFERENCE_PATH = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)")

EXAMPLES = [
    "https://compare.example.com/compare/vpn?utm_source=x#top",
    "https://compare.example.com",
    "https://compare.example.com?q=1",
    "https://compare.example.com#frag",
    "http://user:pw@host:8080/a/b/?c#d",
    "android-app://com.google.android.gm/",
    "/compare/vpn?x=1",
    "compare/vpn",
    "",
    "?only=query",
    "#only-fragment",
    "1http://not-a-scheme/path",
    "ht tp://space/path",
    "mailto:someone@example.com",
    "https:/one-slash/path",
    "HTTPS://UPPER.EXAMPLE.COM/Path",
    "https://host/a#b?c",
    "https://host/line\nbreak?x",
    "https://höst.example/päth/ü?x",
    "https://host//double//slashes",
    "https://a://b/c",
]
ALPHABET = "ab:/?#.+-1 \nH@%ü"


def _random_texts(count: int) -> list[str]:
    rng = random.Random(20261130)
    texts = []
    for _ in range(count):
        scheme = rng.choice(["https://", "a+b.c-1://", "1x://", "", "x:/", "://"])
        body = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 16)))
        texts.append(scheme + body)
    return texts


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    settings = Settings(home=Path(tmp_path_factory.mktemp("url-home")))
    urls = EXAMPLES + _random_texts(400)
    rows = ", ".join(f"({index}, {_literal(url)})" for index, url in enumerate(urls))
    sql = (
        "select position, {{ url_path('url') }} as path "
        f"from (values {rows}) as examples(position, url) order by position"
    )
    shown = show_inline(settings, sql, limit=1000)
    return {url: row["path"] for url, row in zip(urls, shown, strict=True)}


def _reference(url: str) -> str:
    match = REFERENCE_PATH.match(url)
    assert match is not None  # every part of the pattern is optional
    return match.group(1)


def test_paths_of_hand_picked_urls(paths: dict[str, str]) -> None:
    assert paths["https://compare.example.com/compare/vpn?utm_source=x#top"] == "/compare/vpn"
    assert paths["https://compare.example.com?q=1"] == ""
    assert paths["1http://not-a-scheme/path"] == "1http://not-a-scheme/path"
    assert {url: paths[url] for url in EXAMPLES} == {url: _reference(url) for url in EXAMPLES}


def test_paths_of_random_text_match_the_reference_pattern(paths: dict[str, str]) -> None:
    texts = _random_texts(400)
    assert {text: paths[text] for text in texts} == {text: _reference(text) for text in texts}
