"""How visitors browse: where they come from, which page follows which, how likely each action
is, and how long they pause. Weighted tables are drawn with one ``random()`` each."""

from __future__ import annotations

from streaming.generator.determinism import PauseTable, WeightedChoice
from streaming.generator.vocabulary import (
    CAMPAIGNS,
    CATEGORIES,
    COMPARISON_WEIGHTS,
    COMPARISONS,
    PARTNER_REFERRERS,
    PRODUCTS,
    SEARCH_REFERRERS,
    SOCIAL_REFERRERS,
)

MISSING_VIEWER_COUNTRY_SHARE = 0.01
"""Requests that reach the ingest without a CDN viewer-country header."""
ADS_CONSENT_SHARE = 0.6
CONTINUE_BROWSING = 0.62
MAX_SESSION_EVENTS = 200
CRAWLER_CONTINUE = 0.93
SERVER_BURST_CONTINUE = 0.6
SERVER_LONG_GAP_SHARE = 0.25

COMPARISONS_BY_CATEGORY = {
    category: WeightedChoice(
        [
            (c, w)
            for c, w in zip(COMPARISONS, COMPARISON_WEIGHTS, strict=True)
            if c.category == category
        ]
    )
    for category in CATEGORIES
}
PRODUCTS_BY_CATEGORY = {
    category: tuple(p.product_id for p in PRODUCTS if p.category == category)
    for category in CATEGORIES
}
CAMPAIGN = WeightedChoice([(campaign, campaign.weight) for campaign in CAMPAIGNS])
SEARCH_REFERRER = WeightedChoice(SEARCH_REFERRERS)
SOCIAL_REFERRER = WeightedChoice(SOCIAL_REFERRERS)
PARTNER_REFERRER = WeightedChoice(PARTNER_REFERRERS)
ENTRY = WeightedChoice(
    [("campaign", 28), ("search", 34), ("social", 9), ("partner", 5), ("direct", 24)]
)
LANDING_BY_ENTRY = {
    "search": WeightedChoice([("compare", 45), ("blog", 35), ("product", 15), ("home", 5)]),
    "social": WeightedChoice([("blog", 50), ("compare", 35), ("home", 15)]),
    "partner": WeightedChoice([("compare", 60), ("product", 25), ("blog", 15)]),
    "direct": WeightedChoice(
        [("home", 50), ("compare", 20), ("blog", 12), ("deals", 10), ("static", 8)]
    ),
}
NEXT_PAGE = {
    "home": WeightedChoice(
        [("compare", 35), ("category", 25), ("blog", 18), ("product", 12), ("deals", 10)]
    ),
    "category": WeightedChoice([("compare", 55), ("product", 35), ("home", 10)]),
    "blog": WeightedChoice([("compare", 45), ("blog", 22), ("product", 20), ("home", 13)]),
    "compare": WeightedChoice(
        [
            ("compare", 30),
            ("product", 30),
            ("category", 12),
            ("blog", 13),
            ("home", 8),
            ("deals", 7),
        ]
    ),
    "product": WeightedChoice([("compare", 45), ("product", 22), ("category", 20), ("deals", 13)]),
    "deals": WeightedChoice([("product", 50), ("compare", 40), ("home", 10)]),
    "static": WeightedChoice([("home", 60), ("compare", 25), ("blog", 15)]),
}
CRAWL_PAGE = WeightedChoice(
    [("compare", 45), ("product", 25), ("blog", 20), ("category", 5), ("static", 5)]
)
CHART_ACTION = WeightedChoice(
    [("toggle", 25), ("sort", 30), ("filter", 25), ("compare_expand", 20)]
)
FILTER_KIND = WeightedChoice(
    [("max-price", 40), ("platform", 30), ("min-rating", 15), ("team-size", 15)]
)
STATIC_PATHS = ("/pricing", "/about", "/newsletter")
LEAVES_AFTER_CLICK = 0.55
"""After clicking through to a merchant, most people do not come back."""
AFFILIATE_CHANCE = {"compare": 0.08, "product": 0.12, "blog": 0.03, "deals": 0.15}
AFFILIATE_AFTER_CHART = 0.30
CHART_INTERACTION_CHANCE = 0.55
ANOTHER_CHART_INTERACTION = 0.55
ZERO_PAYOUT_SHARE = 0.18
POSTBACK_ODDS = 5.0
"""An affiliate click converts this many times more often than a session: the network's postback."""
# think times (median s, log-normal sigma, clamped to [low s, high s])
FIRST_CHART_PAUSE = PauseTable(9, 0.8, 2, 120)
NEXT_CHART_PAUSE = PauseTable(6, 0.8, 1, 90)
CLICK_PAUSE = PauseTable(8, 0.9, 1, 180)
PAGE_DWELL = PauseTable(35, 1.0, 3, 1200)
SERVER_GAP = PauseTable(40, 1.0, 2, 1200)
