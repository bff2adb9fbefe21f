"""Alert rules from the settings, evaluated on producer records."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from streaming.alerts.rules import RuleSet
from streaming.contracts.settings import AlertCondition, AlertRule, Settings, url_origin


def _rule(name: str, event_type: str, *conditions: tuple[str, str, Any]) -> AlertRule:
    return AlertRule(
        name=name,
        event_type=event_type,
        conditions=[AlertCondition(field=f, op=op, value=v) for f, op, v in conditions],
    )


def _click(payout: Any, **extra: Any) -> dict[str, Any]:
    return {
        "event_type": "affiliate_click",
        "event_id": "e1",
        "ts": "2026-11-27T10:00:00.000Z",
        "ingest_ts": 1,
        "user": {"user_id_hash": "sha256:secret"},
        "affiliate": {"link_id": "l1", "target": "hubspot", "payout_cents": payout},
        **extra,
    }


def _purchase(revenue_cents: Any, currency: str = "EUR") -> dict[str, Any]:
    """A purchase as producer_event 1-1-0 carries it."""
    return {
        "schema_version": "1.1.0",
        "event_type": "purchase",
        "event_id": "p1",
        "ts": "2026-11-27T10:00:00.000Z",
        "purchase": {"order_id": "o1", "revenue_cents": revenue_cents, "currency": currency},
    }


def test_a_payout_rule_matches_clicks_at_or_above_its_threshold() -> None:
    payout = ("affiliate.payout_cents", "gte", 500)
    rules = RuleSet([_rule("big_payout", "affiliate_click", payout)])
    (alert,) = rules.alerts(_click(500))
    assert alert.document() == {
        "alert_id": "big_payout:e1",
        "rule": "big_payout",
        "event_id": "e1",
        "event_type": "affiliate_click",
        "ts": "2026-11-27T10:00:00.000Z",
        "ingest_ts": 1,
        "fields": {"affiliate.payout_cents": 500},
    }
    assert "secret" not in str(alert.document())  # no user identity in an alert
    assert rules.alerts(_click(499)) == []
    assert rules.alerts(_click(None)) == []
    assert rules.alerts(_click(True)) == []  # a boolean is not a number
    assert rules.alerts({**_click(900), "event_type": "page_view"}) == []
    assert rules.alerts({**_click(900), "event_id": None}) == []


def test_purchase_rules_combine_conditions_and_operators() -> None:
    rules = RuleSet(
        [
            _rule(
                "big_order",
                "purchase",
                ("purchase.revenue_cents", "gt", 10_000),
                ("purchase.currency", "in", ["EUR", "USD"]),
            ),
            _rule("postback", "purchase", ("purchase.affiliate_click_id", "exists", True)),
            _rule("no_order", "purchase", ("purchase.order_id", "exists", False)),
            _rule("not_test", "purchase", ("purchase.currency", "ne", "XTS")),
        ]
    )
    assert [a.rule for a in rules.alerts(_purchase(10_001))] == ["big_order", "not_test"]
    assert [a.rule for a in rules.alerts(_purchase(10_000))] == ["not_test"]
    assert [a.rule for a in rules.alerts(_purchase(500_000, "GBP"))] == ["not_test"]
    postback = {**_purchase(1), "purchase": {"revenue_cents": 1, "affiliate_click_id": "c9"}}
    assert [a.rule for a in rules.alerts(postback)] == ["postback", "no_order", "not_test"]
    assert rules.alerts({**_purchase(500), "purchase": "not an object"})[0].rule == "no_order"


def test_the_default_rules_cover_large_purchases_and_high_payouts() -> None:
    rules = RuleSet(Settings(_env_file=None).alerts.rules)
    assert [a.rule for a in rules.alerts(_purchase(50_000))] == ["large_purchase"]
    assert rules.alerts(_purchase(49_999)) == []
    assert [a.rule for a in rules.alerts(_click(1000))] == ["high_payout_click"]


@pytest.mark.parametrize(
    ("op", "value", "payout", "matches"),
    [
        ("eq", 5, 5, True),
        ("eq", 5, 6, False),
        ("ne", 5, 6, True),
        ("lt", 5, 4, True),
        ("lte", 5, 5, True),
        ("lt", 5, "4", False),
        ("gt", 5, 6, True),
        ("in", [1, 2], 2, True),
        ("exists", True, 0, True),
        ("exists", False, None, True),
    ],
)
def test_operators(op: str, value: Any, payout: Any, matches: bool) -> None:
    rules = RuleSet([_rule("r", "affiliate_click", ("affiliate.payout_cents", op, value))])
    assert bool(rules.alerts(_click(payout))) is matches


def test_rules_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CLICKSTREAM_ALERTS__RULES",
        '[{"name": "big_order", "event_type": "purchase",'
        ' "conditions": [{"field": "purchase.revenue_cents", "op": "gte", "value": 250}]}]',
    )
    monkeypatch.setenv("CLICKSTREAM_ALERTS__WEBHOOK_URL", "http://127.0.0.1:9/hook")
    alerts = Settings().alerts
    assert [rule.name for rule in alerts.rules] == ["big_order"]
    assert alerts.webhook_url is not None
    assert alerts.webhook_url.get_secret_value() == "http://127.0.0.1:9/hook"
    assert url_origin(alerts.webhook_url) == "http://127.0.0.1/…"
    assert "/hook" not in Settings().model_dump_json()
    fields = RuleSet(alerts.rules).alerts(_purchase(250))[0].fields
    assert fields == {"purchase.revenue_cents": 250}


@pytest.mark.parametrize(
    "rules",
    [
        '[{"name": "r", "event_type": "purchase", "conditions": [{"field": "a", "op": "gt",'
        ' "value": "x"}]}]',
        '[{"name": "r", "event_type": "purchase", "conditions": [{"field": "a", "op": "in",'
        ' "value": 3}]}]',
        '[{"name": "r", "event_type": "purchase", "conditions": [{"field": "a..b", "op": "eq"}]}]',
        '[{"name": "r", "event_type": "purchase", "conditions": [{"field": "a", "op": "like"}]}]',
        '[{"name": "r", "event_type": "a"}, {"name": "r", "event_type": "b"}]',
        '[{"name": "Bad Name", "event_type": "a"}]',
    ],
)
def test_invalid_rules_are_refused(monkeypatch: pytest.MonkeyPatch, rules: str) -> None:
    monkeypatch.setenv("CLICKSTREAM_ALERTS__RULES", rules)
    with pytest.raises(ValidationError):
        Settings()
