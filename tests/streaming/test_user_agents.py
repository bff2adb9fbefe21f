"""User agents parsed by the maintained database (``ua-parser``) and flagged by the maintained
crawler list (``crawler-user-agents``) plus the project's pattern: a table of real-world agents
(desktop and mobile browsers, tablets, in-app browsers, crawlers, scripts) in
``user_agents.tsv`` with the browser, its version, the OS, the device class and the bot flag
each must get."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from streaming.enrichment import bot_flag_only, describe_user_agent, is_bot_user_agent

TABLE = Path(__file__).with_name("user_agents.tsv")


def _rows() -> list[dict[str, str]]:
    with TABLE.open(newline="") as table:
        return list(csv.DictReader(table, delimiter="\t", quoting=csv.QUOTE_NONE))


AGENTS = _rows()


def test_the_table_covers_every_kind_of_agent() -> None:
    assert len(AGENTS) >= 40
    classes = [row["device_class"] for row in AGENTS]
    assert {"desktop", "mobile", "tablet", "bot"} <= set(classes)
    assert sum(row["browser"] in {"Facebook", "Instagram", "TikTok"} for row in AGENTS) >= 4
    assert sum(row["is_bot"] == "bot" for row in AGENTS) >= 15


@pytest.mark.parametrize("row", AGENTS, ids=[row["user_agent"][:60] for row in AGENTS])
def test_user_agent_is_parsed_to_the_expected_values(row: dict[str, str]) -> None:
    details = describe_user_agent(row["user_agent"])
    got = (
        details.browser or "",
        details.browser_version or "",
        details.os or "",
        details.device_class,
        "bot" if details.is_bot else "human",
    )
    expected = (
        row["browser"],
        row["browser_version"],
        row["os"],
        row["device_class"],
        row["is_bot"],
    )
    assert got == expected


def test_the_crawler_list_flags_bots_the_pattern_alone_misses() -> None:
    listed_only = [
        row["user_agent"]
        for row in AGENTS
        if row["is_bot"] == "bot" and not bot_flag_only(row["user_agent"]).is_bot
    ]
    assert len(listed_only) >= 4
    assert all(is_bot_user_agent(agent) for agent in listed_only)


def test_no_user_agent_gives_no_details() -> None:
    assert describe_user_agent(None).as_payload() == {
        "browser": None,
        "browser_version": None,
        "os": None,
        "os_version": None,
        "device_class": None,
    }
    assert not describe_user_agent("").is_bot


def test_parses_are_cached_on_the_string() -> None:
    agent = AGENTS[0]["user_agent"]
    describe_user_agent(agent)
    hits = describe_user_agent.cache_info().hits
    assert describe_user_agent(agent) is describe_user_agent(agent)
    assert describe_user_agent.cache_info().hits == hits + 2
