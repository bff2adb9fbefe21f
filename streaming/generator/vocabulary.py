"""The world the synthetic traffic lives in: the site, its products, visitors' browsers, campaigns.

Everything here is static data, built once at import; the generators only pick from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

SITE = "https://www.chartcompare.com"
REDIRECT_SITE = "https://go.chartcompare.com"

WEB_SDK_VERSIONS = (("0.4.2", 62), ("0.4.1", 27), ("0.3.9", 11))
REDIRECT_SERVICE_VERSION = "redirect-service/2.3.1"
SERVER_TRACKER_VERSION = "server-tracker/1.8.0"

EXPERIMENTS = ("chart_layout_v2", "sticky_cta_2026q4", "price_badge", "compare_table_density")
AB_VARIANTS = (("A", 50), ("B", 50))

SEGMENT_KEYS = ("price_sensitive", "returning", "b2b", "deal_hunter", "newsletter")


@dataclass(frozen=True)
class Country:
    code: str
    weight: int
    locales: tuple[str, ...]
    ipv4_first_octets: tuple[int, ...]
    ipv6_prefix: str
    google: str


COUNTRIES: tuple[Country, ...] = (
    Country(
        "US",
        340,
        ("en-US", "en-US", "en-US", "es-US"),
        (23, 24, 47, 50, 64, 66, 67, 68, 69, 71, 72, 73, 75, 76, 96, 98, 99, 104, 108, 173),
        "2600",
        "https://www.google.com/",
    ),
    Country(
        "GB",
        80,
        ("en-GB",),
        (2, 5, 31, 51, 62, 77, 78, 81, 82, 86, 90, 92, 109),
        "2a00",
        "https://www.google.co.uk/",
    ),
    Country(
        "DE",
        80,
        ("de-DE", "de-DE", "en-DE"),
        (31, 46, 62, 77, 79, 80, 84, 87, 91, 93, 95),
        "2003",
        "https://www.google.de/",
    ),
    Country(
        "IN",
        70,
        ("en-IN", "en-IN", "hi-IN"),
        (49, 59, 103, 106, 110, 115, 117, 122, 182),
        "2401",
        "https://www.google.co.in/",
    ),
    Country(
        "FR",
        50,
        ("fr-FR",),
        (37, 78, 80, 82, 86, 88, 90, 92, 109, 176),
        "2a01",
        "https://www.google.fr/",
    ),
    Country(
        "CA",
        50,
        ("en-CA", "en-CA", "fr-CA"),
        (24, 64, 70, 99, 142, 174, 184, 206),
        "2607",
        "https://www.google.ca/",
    ),
    Country(
        "BR",
        40,
        ("pt-BR",),
        (177, 179, 186, 187, 189, 191, 200, 201),
        "2804",
        "https://www.google.com.br/",
    ),
    Country(
        "AU",
        30,
        ("en-AU",),
        (1, 49, 58, 101, 110, 120, 121, 124, 144, 203),
        "2001",
        "https://www.google.com.au/",
    ),
    Country(
        "NL",
        30,
        ("nl-NL", "en-NL"),
        (31, 77, 82, 83, 84, 85, 86, 145, 213),
        "2a02",
        "https://www.google.nl/",
    ),
    Country(
        "ES",
        30,
        ("es-ES",),
        (2, 37, 79, 80, 81, 83, 85, 88, 95, 213),
        "2a0c",
        "https://www.google.es/",
    ),
    Country(
        "IT",
        30,
        ("it-IT",),
        (2, 5, 37, 79, 80, 87, 93, 95, 151, 188),
        "2a01",
        "https://www.google.it/",
    ),
    Country(
        "JP",
        30,
        ("ja-JP",),
        (27, 36, 42, 49, 58, 60, 61, 106, 114, 126, 133, 153, 180),
        "240d",
        "https://www.google.co.jp/",
    ),
    Country(
        "IL",
        20,
        ("he-IL", "en-IL"),
        (31, 46, 77, 79, 84, 89, 109, 147, 212),
        "2a06",
        "https://www.google.co.il/",
    ),
    Country(
        "PL",
        20,
        ("pl-PL",),
        (31, 37, 46, 77, 78, 79, 83, 89, 178, 188),
        "2a02",
        "https://www.google.pl/",
    ),
    Country(
        "SE",
        20,
        ("sv-SE", "en-SE"),
        (2, 31, 46, 78, 81, 83, 85, 90, 94, 155),
        "2a02",
        "https://www.google.se/",
    ),
    Country(
        "MX", 20, ("es-MX",), (148, 177, 187, 189, 200, 201), "2806", "https://www.google.com.mx/"
    ),
    Country(
        "SG",
        10,
        ("en-SG",),
        (8, 42, 101, 103, 116, 118, 119, 175, 202),
        "2406",
        "https://www.google.com.sg/",
    ),
    Country(
        "ZA",
        10,
        ("en-ZA",),
        (41, 102, 105, 154, 160, 165, 196, 197),
        "2c0f",
        "https://www.google.co.za/",
    ),
    Country(
        "IE",
        10,
        ("en-IE",),
        (31, 37, 46, 78, 79, 86, 87, 89, 109, 176),
        "2a02",
        "https://www.google.ie/",
    ),
    Country(
        "CH",
        10,
        ("de-CH", "fr-CH"),
        (31, 46, 62, 77, 83, 85, 89, 178, 188, 213),
        "2a02",
        "https://www.google.ch/",
    ),
)


@dataclass(frozen=True)
class Device:
    kind: str
    """``desktop``, ``mobile`` or ``tablet``."""
    user_agent: str
    weight: int


def _browser_user_agents() -> tuple[Device, ...]:
    windows = "Windows NT 10.0; Win64; x64"
    mac = "Macintosh; Intel Mac OS X 10_15_7"
    webkit = "AppleWebKit/537.36 (KHTML, like Gecko)"
    safari_webkit = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
    devices: list[Device] = []
    for chrome, share in ((131, 40), (130, 25), (129, 10)):
        devices += [
            Device(
                "desktop",
                f"Mozilla/5.0 ({windows}) {webkit} Chrome/{chrome}.0.0.0 Safari/537.36",
                30 * share,
            ),
            Device(
                "desktop",
                f"Mozilla/5.0 ({mac}) {webkit} Chrome/{chrome}.0.0.0 Safari/537.36",
                10 * share,
            ),
            Device(
                "mobile",
                f"Mozilla/5.0 (Linux; Android 10; K) {webkit} Chrome/{chrome}.0.0.0 "
                "Mobile Safari/537.36",
                28 * share,
            ),
            Device(
                "desktop",
                f"Mozilla/5.0 ({windows}) {webkit} Chrome/{chrome}.0.0.0 "
                f"Safari/537.36 Edg/{chrome}.0.0.0",
                6 * share,
            ),
        ]
    for ios, share in (("18_1", 45), ("18_0", 30), ("17_6", 25)):
        dotted = ios.replace("_", ".")
        devices += [
            Device(
                "mobile",
                f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) "
                f"{safari_webkit} Version/{dotted} Mobile/15E148 Safari/604.1",
                36 * share,
            ),
            Device(
                "tablet",
                f"Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) "
                f"{safari_webkit} Version/{dotted} Mobile/15E148 Safari/604.1",
                4 * share,
            ),
            Device(
                "mobile",
                f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) "
                f"{safari_webkit} CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                4 * share,
            ),
        ]
    for version, share in (("18.1", 60), ("17.6", 40)):
        devices.append(
            Device(
                "desktop",
                f"Mozilla/5.0 ({mac}) {safari_webkit} Version/{version} Safari/605.1.15",
                9 * share,
            )
        )
    for firefox, share in ((132, 60), (131, 40)):
        devices += [
            Device(
                "desktop",
                f"Mozilla/5.0 ({windows}; rv:{firefox}.0) Gecko/20100101 Firefox/{firefox}.0",
                4 * share,
            ),
            Device(
                "desktop",
                f"Mozilla/5.0 (X11; Linux x86_64; rv:{firefox}.0) Gecko/20100101 "
                f"Firefox/{firefox}.0",
                1 * share,
            ),
            Device(
                "desktop",
                f"Mozilla/5.0 ({mac.replace('10_15_7', '10.15')}; "
                f"rv:{firefox}.0) Gecko/20100101 Firefox/{firefox}.0",
                1 * share,
            ),
        ]
    devices.append(
        Device(
            "mobile",
            "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) "
            f"{webkit} SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
            250,
        )
    )
    return tuple(devices)


BROWSERS = _browser_user_agents()


@dataclass(frozen=True)
class Crawler:
    user_agent: str
    weight: int
    ipv4_prefixes: tuple[str, ...]
    """``a.b.`` network prefixes the crawler's addresses come from."""
    country: str
    runs_scripts: bool
    """Headless browsers execute the page like a person would, chart included."""


CRAWLERS: tuple[Crawler, ...] = (
    Crawler(
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        22,
        ("66.249.",),
        "US",
        False,
    ),
    Crawler(
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; "
        "Googlebot/2.1; +http://www.google.com/bot.html)",
        18,
        ("66.249.",),
        "US",
        False,
    ),
    Crawler(
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        14,
        ("157.55.", "40.77.", "207.46."),
        "US",
        False,
    ),
    Crawler(
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        10,
        ("54.36.", "5.39."),
        "FR",
        False,
    ),
    Crawler(
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        7,
        ("185.191.",),
        "US",
        False,
    ),
    Crawler(
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        4,
        ("5.255.", "213.180."),
        "RU",
        False,
    ),
    Crawler(
        "Mozilla/5.0 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
        3,
        ("114.119.",),
        "SG",
        False,
    ),
    Crawler(
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        3,
        ("69.171.", "173.252."),
        "US",
        False,
    ),
    Crawler(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
        12,
        ("3.", "18.", "34.", "35.", "52."),
        "US",
        True,
    ),
    Crawler("python-requests/2.32.3", 5, ("54.", "13.", "34."), "US", False),
    Crawler(
        "Mozilla/5.0 (compatible; Lighthouse; +https://developer.chrome.com/docs/lighthouse)",
        2,
        ("34.", "35."),
        "US",
        True,
    ),
)


@dataclass(frozen=True)
class Product:
    product_id: str
    category: str
    merchant: str
    payout_cents: int
    """Typical commission of a converting click."""


_CATEGORIES: dict[str, tuple[int, tuple[tuple[str, str], ...]]] = {
    "vpn": (
        4200,
        (
            ("nordvpn", "nordvpn.com"),
            ("expressvpn", "expressvpn.com"),
            ("surfshark", "surfshark.com"),
            ("protonvpn", "protonvpn.com"),
            ("cyberghost", "cyberghostvpn.com"),
        ),
    ),
    "note-taking": (
        700,
        (
            ("notion", "notion.so"),
            ("evernote", "evernote.com"),
            ("obsidian", "obsidian.md"),
            ("onenote", "microsoft.com"),
            ("bear", "bear.app"),
        ),
    ),
    "project-management": (
        1500,
        (
            ("asana", "asana.com"),
            ("trello", "trello.com"),
            ("monday", "monday.com"),
            ("clickup", "clickup.com"),
            ("jira", "atlassian.com"),
            ("basecamp", "basecamp.com"),
        ),
    ),
    "crm": (
        6500,
        (
            ("hubspot", "hubspot.com"),
            ("salesforce", "salesforce.com"),
            ("pipedrive", "pipedrive.com"),
            ("zoho-crm", "zoho.com"),
            ("freshsales", "freshworks.com"),
        ),
    ),
    "website-builders": (
        3000,
        (
            ("wix", "wix.com"),
            ("squarespace", "squarespace.com"),
            ("webflow", "webflow.com"),
            ("wordpress-com", "wordpress.com"),
            ("shopify", "shopify.com"),
        ),
    ),
    "password-managers": (
        1800,
        (
            ("1password", "1password.com"),
            ("bitwarden", "bitwarden.com"),
            ("lastpass", "lastpass.com"),
            ("dashlane", "dashlane.com"),
            ("keeper", "keepersecurity.com"),
        ),
    ),
    "email-marketing": (
        2400,
        (
            ("mailchimp", "mailchimp.com"),
            ("convertkit", "kit.com"),
            ("brevo", "brevo.com"),
            ("activecampaign", "activecampaign.com"),
        ),
    ),
}

PRODUCTS: tuple[Product, ...] = tuple(
    Product(product_id, category, merchant, payout)
    for category, (payout, members) in _CATEGORIES.items()
    for product_id, merchant in members
)
PRODUCT_BY_ID = {product.product_id: product for product in PRODUCTS}
CATEGORIES = tuple(_CATEGORIES)


@dataclass(frozen=True)
class Comparison:
    left: str
    right: str
    category: str

    @property
    def path(self) -> str:
        return f"/compare/{self.left}-vs-{self.right}"


COMPARISONS: tuple[Comparison, ...] = tuple(
    Comparison(left, right, category)
    for category, (_, members) in _CATEGORIES.items()
    for (left, _l), (right, _r) in combinations(members, 2)
)
# Popularity falls off with rank; rank interleaves categories so each has popular pages.
COMPARISON_WEIGHTS = tuple(
    1000 // (1 + index // len(CATEGORIES)) for index in range(len(COMPARISONS))
)

BLOG_SLUGS = (
    "best-vpn-2026",
    "nordvpn-vs-expressvpn-speed-test",
    "notion-alternatives",
    "best-note-taking-apps",
    "obsidian-vs-notion-for-students",
    "crm-for-small-business",
    "hubspot-free-crm-review",
    "project-management-software-compared",
    "asana-vs-trello-for-teams",
    "website-builder-pricing-explained",
    "wix-vs-squarespace-seo",
    "password-manager-guide",
    "bitwarden-review",
    "is-lastpass-safe-in-2026",
    "email-marketing-tools-for-creators",
    "mailchimp-alternatives",
    "black-friday-software-deals",
    "how-we-test-products",
)
STATIC_PAGES = ("/", "/deals", "/pricing", "/about", "/newsletter")


@dataclass(frozen=True)
class Campaign:
    source: str
    medium: str
    campaign: str
    terms: tuple[str, ...]
    contents: tuple[str, ...]
    referrer: str | None
    weight: int
    landing: str
    """Where the campaign's links point: ``compare``, ``product``, ``blog`` or ``deals``."""


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign(
        "google",
        "cpc",
        "vpn_compare_q4",
        ("nordvpn vs expressvpn", "best vpn", "surfshark vs nordvpn"),
        ("ad_a", "ad_b"),
        "https://www.google.com/",
        22,
        "compare",
    ),
    Campaign(
        "google",
        "cpc",
        "crm_smb_2026",
        ("best crm for small business", "hubspot vs pipedrive"),
        ("ad_a", "ad_b", "ad_c"),
        "https://www.google.com/",
        14,
        "compare",
    ),
    Campaign(
        "google",
        "cpc",
        "brand_search",
        ("chartcompare", "chart compare"),
        (),
        "https://www.google.com/",
        8,
        "home",
    ),
    Campaign(
        "bing",
        "cpc",
        "pm_tools_generic",
        ("project management software", "asana vs monday"),
        ("ad_a",),
        "https://www.bing.com/",
        6,
        "compare",
    ),
    Campaign(
        "facebook",
        "paid_social",
        "retargeting_compare",
        (),
        ("carousel_1", "video_15s"),
        "https://l.facebook.com/",
        10,
        "compare",
    ),
    Campaign(
        "instagram",
        "paid_social",
        "lookalike_deals",
        (),
        ("story_a", "story_b"),
        "https://l.instagram.com/",
        6,
        "deals",
    ),
    Campaign("tiktok", "paid_social", "creator_spark_q4", (), ("spark_1",), None, 4, "product"),
    Campaign(
        "newsletter",
        "email",
        "weekly_digest_2026_w44",
        (),
        ("hero_link", "footer_link"),
        None,
        10,
        "blog",
    ),
    Campaign(
        "newsletter",
        "email",
        "black_friday_deals",
        (),
        ("hero_link", "deal_card"),
        None,
        6,
        "deals",
    ),
    Campaign("reddit", "social", "organic_thread", (), (), "https://www.reddit.com/", 4, "blog"),
    Campaign(
        "youtube",
        "video",
        "review_collab_techreview",
        (),
        ("description_link",),
        "https://www.youtube.com/",
        5,
        "product",
    ),
    Campaign(
        "techradar",
        "referral",
        "partner_listing",
        (),
        ("best_vpn_table",),
        "https://www.techradar.com/best/vpn",
        5,
        "compare",
    ),
)

SEARCH_REFERRERS = (
    ("google", 80),
    ("https://www.bing.com/", 10),
    ("https://duckduckgo.com/", 7),
    ("https://search.yahoo.com/", 3),
)
"""``google`` stands for the visitor's country Google domain."""
SOCIAL_REFERRERS = (
    ("https://t.co/", 25),
    ("https://www.reddit.com/", 30),
    ("https://l.facebook.com/", 20),
    ("https://www.linkedin.com/", 15),
    ("https://news.ycombinator.com/", 10),
)
PARTNER_REFERRERS = (
    ("https://www.techradar.com/best/vpn", 30),
    ("https://www.producthunt.com/", 30),
    ("https://www.pcmag.com/picks/the-best-crm-software", 25),
    ("https://zapier.com/blog/best-note-taking-apps/", 15),
)

# chart controls: action -> (control_id, value kind) choices
TOGGLE_CONTROLS = (
    "annual-billing",
    "show-free-plans",
    "highlight-differences",
    "include-discontinued",
)
SORT_CONTROLS = ("plan-price", "rating", "value-score", "storage", "max-users")
PRICE_FILTERS = (5, 10, 15, 20, 50, 100)
PLATFORMS = ("windows", "mac", "linux", "ios", "android", "web")
RATINGS = (3.5, 4.0, 4.5)
TEAM_SIZES = (1, 5, 10, 25, 100)
FEATURE_ROWS = (
    "pricing",
    "integrations",
    "security",
    "offline-mode",
    "support",
    "free-plan",
    "api-access",
    "storage",
)
LINK_PLACEMENTS = ("chart-cta", "table-row", "hero-button", "sidebar", "inline-text")
