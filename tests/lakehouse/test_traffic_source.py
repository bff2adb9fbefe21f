"""The referrer table and the channel-group rules of ``macros/traffic_source.sql``, rendered by
dbt and run on DuckDB: real-world referrers to their medium and network, and sessions' UTM
parameters plus referrer to their channel group."""

from __future__ import annotations

from pathlib import Path

import pytest

from streaming.contracts.settings import Settings
from tests.dbt_show import show_inline

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PAGE = "https://compare.example.com/compare/vpn"

# referrer -> (referrer_medium, referrer_source)
REFERRERS: dict[str | None, tuple[str | None, str | None]] = {
    "https://www.google.com/": ("search", "Google"),
    "https://www.google.co.uk/search?q=best+vpn": ("search", "Google"),
    "https://www.google.com.br/": ("search", "Google"),
    "https://www.bing.com/search?q=crm+software&form=QBLH": ("search", "Bing"),
    "https://cn.bing.com/": ("search", "Bing"),
    "https://duckduckgo.com/": ("search", "DuckDuckGo"),
    "https://search.yahoo.com/search?p=note+apps": ("search", "Yahoo"),
    "https://yandex.ru/search/?text=vpn": ("search", "Yandex"),
    "https://www.baidu.com/link?url=abc": ("search", "Baidu"),
    "https://www.ecosia.org/search?q=vpn": ("search", "Ecosia"),
    "https://search.brave.com/search?q=vpn": ("search", "Brave Search"),
    "https://l.facebook.com/l.php?u=https%3A%2F%2Fcompare.example.com": ("social", "Facebook"),
    "https://m.facebook.com/": ("social", "Facebook"),
    "https://l.instagram.com/": ("social", "Instagram"),
    "https://t.co/AbCdEf123": ("social", "Twitter"),
    "https://x.com/someone/status/1": ("social", "Twitter"),
    "https://www.reddit.com/r/vpn/comments/xyz/": ("social", "Reddit"),
    "https://old.reddit.com/r/crm/": ("social", "Reddit"),
    "https://www.linkedin.com/feed/": ("social", "LinkedIn"),
    "https://lnkd.in/abc": ("social", "LinkedIn"),
    "https://news.ycombinator.com/item?id=1": ("social", "Hacker News"),
    "https://www.youtube.com/watch?v=abc": ("social", "YouTube"),
    "android-app://com.google.android.gm/": ("email", "Gmail"),
    "android-app://com.google.android.googlequicksearchbox/": ("search", "Google"),
    "https://mail.google.com/mail/u/0/": ("email", "Gmail"),
    "https://outlook.live.com/mail/0/inbox": ("email", "Outlook"),
    "https://compare.example.com/blog/best-vpn": ("internal", None),
    "https://www.techradar.com/best/vpn": ("other", None),
    "https://zapier.com/blog/best-note-taking-apps/": ("other", None),
    "https://www.producthunt.com/": ("other", None),
    "https://googleblog.example.net/post": ("other", None),
    None: (None, None),
}

# (utm_source, utm_medium, referrer) -> channel group
CHANNELS: dict[tuple[str | None, str | None, str | None], str] = {
    (None, None, None): "Direct",
    (None, None, "https://compare.example.com/"): "Direct",
    ("google", "cpc", "https://www.google.com/"): "Paid Search",
    ("bing", "cpc", None): "Paid Search",
    ("Google", "PPC", None): "Paid Search",
    ("facebook", "paid_social", "https://l.facebook.com/"): "Paid Social",
    ("instagram", "paid_social", "https://l.instagram.com/"): "Paid Social",
    ("unknown", "cpc", "https://www.reddit.com/"): "Paid Social",
    ("dsp", "display", None): "Display",
    ("adnetwork", "cpm", None): "Display",
    (None, None, "https://t.co/x"): "Organic Social",
    ("youtube", "video", "https://www.youtube.com/"): "Organic Social",
    ("partner", "social", None): "Organic Social",
    (None, None, "https://www.google.de/"): "Organic Search",
    ("google", "organic", None): "Organic Search",
    ("newsletter", "email", None): "Email",
    (None, None, "https://mail.google.com/"): "Email",
    ("partner_network", "affiliate", None): "Affiliates",
    ("techradar", "referral", "https://www.techradar.com/best/vpn"): "Referral",
    (None, None, "https://www.producthunt.com/"): "Referral",
    ("someone", "cpc", None): "Other",
    ("offline", "print", None): "Other",
}


def _literal(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


@pytest.fixture(scope="module")
def classified(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str | None]]:
    settings = Settings(home=Path(tmp_path_factory.mktemp("traffic-home")))
    referrer_rows = ", ".join(
        f"('r', {index}, {_literal(referrer)}, null, null)"
        for index, referrer in enumerate(REFERRERS)
    )
    channel_rows = ", ".join(
        f"('c', {index}, {_literal(referrer)}, {_literal(source)}, {_literal(medium)})"
        for index, (source, medium, referrer) in enumerate(CHANNELS)
    )
    referrer_host = "url_host('referrer')"
    page_host = f'url_host("{_literal(PAGE)}")'
    medium = f"referrer_medium({referrer_host}, {page_host})"
    sql = (
        "select kind, position, "
        f"{{{{ {medium} }}}} as medium, "
        f"{{{{ referrer_source({referrer_host}) }}}} as source, "
        f"{{{{ channel_group('utm_source', 'utm_medium', {medium}) }}}} as channel "
        f"from (values {referrer_rows}, {channel_rows}) "
        "as examples(kind, position, referrer, utm_source, utm_medium) order by kind, position"
    )
    return show_inline(settings, sql)


def test_referrers_are_classified_by_the_referrer_table(
    classified: list[dict[str, str | None]],
) -> None:
    rows = [row for row in classified if row["kind"] == "r"]
    got = {
        referrer: (row["medium"], row["source"])
        for referrer, row in zip(REFERRERS, rows, strict=True)
    }
    assert len(REFERRERS) >= 20
    assert got == REFERRERS


def test_sessions_get_their_channel_group_by_the_documented_rules(
    classified: list[dict[str, str | None]],
) -> None:
    rows = [row for row in classified if row["kind"] == "c"]
    got = {example: row["channel"] for example, row in zip(CHANNELS, rows, strict=True)}
    assert got == CHANNELS
    assert set(CHANNELS.values()) == {
        "Direct",
        "Organic Search",
        "Paid Search",
        "Organic Social",
        "Paid Social",
        "Email",
        "Affiliates",
        "Referral",
        "Display",
        "Other",
    }
