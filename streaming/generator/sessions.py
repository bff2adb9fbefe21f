"""What visitors do: browser sessions of people and crawlers, and session-less server events.

A *visit* is what one client sends in one go: a browser session (landing page, page views,
chart interactions on comparison pages, affiliate clicks) or a burst of server-side events for
one user. Each visit is drawn from the slice's random generator alone.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from streaming.generator import behaviour
from streaming.generator.determinism import (
    TimestampFormatter,
    uuid_text,
)
from streaming.generator.event_json import (
    AFFILIATE_CLICK,
    CHART_INTERACTION,
    HEAD,
    PAGE_VIEW,
    PURCHASE,
    PURCHASE_HEAD,
    Draft,
    json_text,
    members,
    person_json,
    utm_query,
)
from streaming.generator.population import Population, Visitor, crawler_visit, visitor
from streaming.generator.vocabulary import (
    BLOG_SLUGS,
    CATEGORIES,
    FEATURE_ROWS,
    LINK_PLACEMENTS,
    PLATFORMS,
    PRICE_FILTERS,
    PRODUCT_BY_ID,
    RATINGS,
    REDIRECT_SERVICE_VERSION,
    REDIRECT_SITE,
    SERVER_TRACKER_VERSION,
    SITE,
    SORT_CONTROLS,
    TEAM_SIZES,
    TOGGLE_CONTROLS,
    Campaign,
    Comparison,
)

Option = TypeVar("Option")


@dataclass(frozen=True, slots=True)
class Page:
    kind: str
    """``home``, ``compare``, ``product``, ``blog``, ``category``, ``deals`` or ``static``."""
    path: str
    category: str
    product_ids: tuple[str, ...] = ()


class Visit(NamedTuple):
    """The client behind a list of events, and the labels that apply to all of them."""

    client_ip: str
    viewer_country: str | None
    source: str
    user_key: int
    """Stable id of the person or crawler (crawlers negative), for counting users."""
    session_id: str | None
    bot: bool = False
    consent_off: bool = False
    sessionless: bool = False


class VisitFactory:
    """Draws visits for one time slice; all randomness comes from ``rng``."""

    def __init__(
        self,
        seed: int,
        population: Population,
        rng: random.Random,
        conversion_rate: float = 0.0,
    ) -> None:
        self.seed = seed
        self.conversion_rate = conversion_rate
        self.population = population
        self.rng = rng
        self.random: Callable[[], float] = rng.random
        self.getrandbits = rng.getrandbits
        self.format_ts = TimestampFormatter()

    # --- helpers ----------------------------------------------------------------------------

    def session_id(self) -> str:
        return f"s_{self.getrandbits(96):024x}"

    def viewer_country(self, country: str) -> str | None:
        return None if self.random() < behaviour.MISSING_VIEWER_COUNTRY_SHARE else country

    def page(self, kind: str, interest: str, near: Page | None = None) -> Page:
        rng = self.rng
        category = interest if self.random() < 0.6 else _pick(rng, CATEGORIES)
        if near is not None and near.category and self.random() < 0.7:
            category = near.category
        if kind == "compare":
            comparison: Comparison = behaviour.COMPARISONS_BY_CATEGORY[category](rng)
            return Page("compare", comparison.path, category, self._compared(comparison))
        if kind == "product":
            if near is not None and near.product_ids and self.random() < 0.7:
                product_id = _pick(rng, near.product_ids)
            else:
                product_id = _pick(rng, behaviour.PRODUCTS_BY_CATEGORY[category])
            return Page("product", f"/products/{product_id}", category, (product_id,))
        if kind == "blog":
            return Page("blog", f"/blog/{_pick(rng, BLOG_SLUGS)}", category)
        if kind == "category":
            return Page("category", f"/categories/{category}", category)
        if kind == "deals":
            return Page("deals", "/deals", category)
        if kind == "static":
            return Page("static", _pick(rng, behaviour.STATIC_PATHS), "")
        return Page("home", "/", "")

    def _compared(self, comparison: Comparison) -> tuple[str, ...]:
        if self.random() < 0.15:
            others = [
                p
                for p in behaviour.PRODUCTS_BY_CATEGORY[comparison.category]
                if p not in (comparison.left, comparison.right)
            ]
            if others:
                return (comparison.left, comparison.right, _pick(self.rng, others))
        return (comparison.left, comparison.right)

    def chart(
        self,
        product_ids: tuple[str, ...],
        expanded: list[tuple[str, str | None]],
        price_focus: bool,
    ) -> dict[str, Any]:
        rng = self.rng
        action = behaviour.CHART_ACTION(rng)
        if expanded and self.random() < 0.4:
            action = "compare_collapse"
        value: Any
        if action == "toggle":
            control_id = _pick(rng, TOGGLE_CONTROLS)
            value = self.random() < 0.6
        elif action == "sort":
            control_id = (
                "plan-price" if price_focus and self.random() < 0.6 else _pick(rng, SORT_CONTROLS)
            )
            value = "asc" if self.random() < 0.7 else "desc"
        elif action == "filter":
            control_id = behaviour.FILTER_KIND(rng)
            if control_id == "max-price":
                value = _pick(rng, PRICE_FILTERS)
            elif control_id == "platform":
                value = _pick(rng, PLATFORMS)
            elif control_id == "min-rating":
                value = _pick(rng, RATINGS)
            else:
                value = _pick(rng, TEAM_SIZES)
        elif action == "compare_expand":
            control_id = f"row-{_pick(rng, FEATURE_ROWS)}"
            value = _pick(rng, product_ids) if self.random() < 0.7 else None
            expanded.append((control_id, value))
        else:
            control_id, value = expanded.pop(rng.randrange(len(expanded)))
        return {
            "product_ids": list(product_ids),
            "action": action,
            "control_id": control_id,
            "control_value": value,
        }

    def affiliate(self, product_id: str, placement: str) -> dict[str, Any]:
        product = PRODUCT_BY_ID[product_id]
        if self.random() < behaviour.ZERO_PAYOUT_SHARE:
            payout = 0
        else:
            payout = max(1, int(product.payout_cents * math.exp(0.5 * self.rng.gauss(0.0, 1.0))))
        return {
            "link_id": f"lnk_{product_id}_{placement}",
            "target": product.merchant,
            "payout_cents": payout,
        }

    def purchase(self, product_id: str, affiliate_click_id: str | None = None) -> dict[str, Any]:
        """An order of one product (sometimes two units); revenue in cents."""
        product = PRODUCT_BY_ID[product_id]
        quantity = 2 if self.random() < 0.1 else 1
        price = max(100, int(product.payout_cents * (4 + 8 * self.random())))
        order: dict[str, Any] = {
            "order_id": f"ord_{self.getrandbits(64):016x}",
            "revenue_cents": price * quantity,
            "currency": "USD",
            "products": [{"product_id": product_id, "quantity": quantity, "price_cents": price}],
        }
        if affiliate_click_id is not None:
            order["affiliate_click_id"] = affiliate_click_id
        return order

    def converts(self, odds: float = 1.0) -> bool:
        """Whether this converts, at ``odds`` times the conversion rate. Drawn only when
        conversions are on, so traffic without them stays as it was."""
        return bool(self.conversion_rate) and self.random() < self.conversion_rate * odds

    # --- a person's browser session ---------------------------------------------------------

    def person_session(self, start_ms: int, *, consent_off: bool) -> tuple[Visit, list[Draft]]:
        rng = self.rng
        random_ = self.random
        person, head, users, ctx_tail, tail = person_json(self.seed, self.population.pick_user(rng))
        session_id = self.session_id()
        visit = Visit(
            person.ip,
            self.viewer_country(person.country),
            "web",
            person.number,
            session_id,
            consent_off=consent_off,
        )
        user = users[0] if consent_off else users[1 + (random_() < behaviour.ADS_CONSENT_SHARE)]
        utm, referrer, landing_kind = self._entry(person)
        utm_member = f',"utm":{json_text(utm)}' if utm else ""
        who = f'{user},"session":{{"session_id":"{session_id}"{utm_member}}},'
        line = self.line

        page = self.page(landing_kind, person.interest)
        page_url = SITE + page.path + (utm_query(utm) if utm else "")
        drafts: list[Draft] = []
        ts = start_ms
        while True:
            referrer_member = f',"referrer":{json_text(referrer)}' if referrer else ""
            on_page = f'{who}"ctx":{{"page_url":{json_text(page_url)}{referrer_member}{ctx_tail}'
            drafts.append((ts, PAGE_VIEW, line(head, PAGE_VIEW, ts, on_page + tail)))
            interacted = page.kind == "compare" and random_() < behaviour.CHART_INTERACTION_CHANCE
            if interacted:
                ts = self._chart_interactions(
                    drafts, ts, page=page, person=person, head=head, on_page=on_page, tail=tail
                )
            chance = (
                behaviour.AFFILIATE_AFTER_CHART
                if interacted
                else behaviour.AFFILIATE_CHANCE.get(page.kind, 0.0)
            )
            if random_() < chance * person.click_affinity:
                ts += behaviour.CLICK_PAUSE(rng)
                placement = "chart-cta" if interacted else _pick(rng, LINK_PLACEMENTS)
                click = self.affiliate(self._click_target(page, person), placement)
                body = f"{on_page},{members({'affiliate': click})}{tail}"
                drafts.append((ts, AFFILIATE_CLICK, line(head, AFFILIATE_CLICK, ts, body)))
                if random_() < behaviour.LEAVES_AFTER_CLICK:
                    break
            if (
                random_() > behaviour.CONTINUE_BROWSING
                or len(drafts) > behaviour.MAX_SESSION_EVENTS
            ):
                break
            ts += behaviour.PAGE_DWELL(rng)
            referrer = page_url
            page = self.page(behaviour.NEXT_PAGE[page.kind](rng), person.interest, page)
            page_url = SITE + page.path
        if self.converts():
            ts += behaviour.CLICK_PAUSE(rng)
            order = members({"purchase": self.purchase(self._click_target(page, person))})
            body = f"{on_page},{order}{tail}"
            drafts.append((ts, PURCHASE, line(PURCHASE_HEAD, PURCHASE, ts, body)))
        return visit, drafts

    def line(self, head: str, event_type: str, ts_ms: int, body: str) -> str:
        """An event's JSON: its head, type, a fresh id and its time, then ``body`` (the other
        members and the closing brace)."""
        event_id = uuid_text(self.getrandbits(128))
        return f'{head}{event_type}","event_id":"{event_id}","ts":"{self.format_ts(ts_ms)}",{body}'

    def _chart_interactions(
        self,
        drafts: list[Draft],
        ts_ms: int,
        *,
        page: Page,
        person: Visitor,
        head: str,
        on_page: str,
        tail: str,
    ) -> int:
        """One or more interactions with the comparison chart; returns the time of the last."""
        price_focus = "price_sensitive" in person.segments
        expanded: list[tuple[str, str | None]] = []
        ts_ms += behaviour.FIRST_CHART_PAUSE(self.rng)
        while True:
            chart = members({"chart": self.chart(page.product_ids, expanded, price_focus)})
            body = f"{on_page},{chart}{tail}"
            drafts.append(
                (ts_ms, CHART_INTERACTION, self.line(head, CHART_INTERACTION, ts_ms, body))
            )
            if self.random() >= behaviour.ANOTHER_CHART_INTERACTION:
                return ts_ms
            ts_ms += behaviour.NEXT_CHART_PAUSE(self.rng)

    def _entry(self, person: Visitor) -> tuple[dict[str, str], str | None, str]:
        """UTM parameters, external referrer and landing page kind of a new session."""
        rng = self.rng
        entry = behaviour.ENTRY(rng)
        if entry == "campaign":
            campaign: Campaign = behaviour.CAMPAIGN(rng)
            utm = {
                "source": campaign.source,
                "medium": campaign.medium,
                "campaign": campaign.campaign,
            }
            if campaign.terms and self.random() < 0.85:
                utm["term"] = _pick(rng, campaign.terms)
            if campaign.contents:
                utm["content"] = _pick(rng, campaign.contents)
            return utm, campaign.referrer, campaign.landing
        if entry == "search":
            referrer = behaviour.SEARCH_REFERRER(rng)
            if referrer == "google":
                referrer = person.search_referrer
        elif entry == "social":
            referrer = behaviour.SOCIAL_REFERRER(rng)
        elif entry == "partner":
            referrer = behaviour.PARTNER_REFERRER(rng)
        else:
            referrer = None
        return {}, referrer, behaviour.LANDING_BY_ENTRY[entry](rng)

    def _click_target(self, page: Page, person: Visitor) -> str:
        if page.product_ids:
            if len(page.product_ids) > 1 and self.random() < 0.55:
                return page.product_ids[0]
            return _pick(self.rng, page.product_ids)
        return _pick(self.rng, behaviour.PRODUCTS_BY_CATEGORY[page.category or person.interest])

    # --- crawlers ---------------------------------------------------------------------------

    def crawler_session(self, start_ms: int) -> tuple[Visit, list[Draft]]:
        rng = self.rng
        random_ = self.random
        crawler = crawler_visit(self.seed, self.population.pick_crawler(rng))
        session_id = self.session_id()
        visit = Visit(
            client_ip=crawler.ip,
            viewer_country=crawler.country,
            source="web",
            user_key=-1 - crawler.number,
            session_id=session_id,
            bot=True,
        )
        who = members(
            {
                "user": {
                    "user_id_hash": crawler.user_id_hash,
                    "consent": {"analytics": True, "ads": False},
                },
                "session": {"session_id": session_id},
            }
        )
        tail = ',"metadata":{"sdk_version":"0.4.2","experiment_keys":[]}}'
        drafts: list[Draft] = []
        ts = start_ms
        while True:
            page = self.page(behaviour.CRAWL_PAGE(rng), _pick(rng, CATEGORIES))
            ctx = members(
                {
                    "ctx": {
                        "page_url": SITE + page.path,
                        "locale": "en-US",
                        "user_agent": crawler.user_agent,
                    }
                }
            )
            page_events = [(PAGE_VIEW, "")]
            if crawler.runs_scripts and page.kind == "compare" and random_() < 0.25:
                expanded: list[tuple[str, str | None]] = []
                page_events += [
                    (
                        CHART_INTERACTION,
                        "," + members({"chart": self.chart(page.product_ids, expanded, False)}),
                    )
                    for _ in range(rng.randint(1, 3))
                ]
            if crawler.runs_scripts and page.product_ids and random_() < 0.03:
                affiliate = self.affiliate(_pick(rng, page.product_ids), "chart-cta")
                page_events.append((AFFILIATE_CLICK, "," + members({"affiliate": affiliate})))
            for event_type, extra in page_events:
                body = f"{who},{ctx}{extra}{tail}"
                drafts.append((ts, event_type, self.line(HEAD, event_type, ts, body)))
                ts += int(300 + 3700 * random_())
            if random_() > behaviour.CRAWLER_CONTINUE or len(drafts) >= 120:
                break
        return visit, drafts

    # --- server-side events without a session ----------------------------------------------

    def server_burst(self, start_ms: int) -> tuple[Visit, list[Draft]]:
        """Events about one person sent by the affiliate redirect service and the server-side
        tracker: no session id, always the user hash, gaps that sometimes exceed 30 minutes."""
        rng = self.rng
        random_ = self.random
        person = visitor(self.seed, self.population.pick_user(rng))
        visit = Visit(
            client_ip=person.ip,
            viewer_country=self.viewer_country(person.country),
            source="server",
            user_key=person.number,
            session_id=None,
            sessionless=True,
        )
        who = members(
            {
                "user": {
                    "user_id_hash": person.user_id_hash,
                    "consent": {"analytics": True, "ads": random_() < behaviour.ADS_CONSENT_SHARE},
                }
            }
        )
        drafts: list[Draft] = []
        ts = start_ms
        while True:
            comparison = behaviour.COMPARISONS_BY_CATEGORY[person.interest](rng)
            if random_() < 0.65:
                product_id = comparison.left if random_() < 0.5 else comparison.right
                affiliate = self.affiliate(product_id, _pick(rng, LINK_PLACEMENTS))
                event_type = AFFILIATE_CLICK
                ctx = {
                    "page_url": f"{REDIRECT_SITE}/r/{affiliate['link_id']}",
                    "referrer": SITE + comparison.path,
                }
                extra = "," + members({"affiliate": affiliate})
                sdk_version = REDIRECT_SERVICE_VERSION
            else:
                event_type = PAGE_VIEW
                ctx = {"page_url": SITE + "/amp" + comparison.path}
                extra = ""
                sdk_version = SERVER_TRACKER_VERSION
            ctx["locale"] = person.locale
            ctx["user_agent"] = person.user_agent
            metadata = f'"metadata":{{"sdk_version":"{sdk_version}"}}}}'
            body = f"{who},{members({'ctx': ctx})}{extra},{metadata}"
            drafts.append((ts, event_type, self.line(HEAD, event_type, ts, body)))
            if event_type == AFFILIATE_CLICK and self.converts(behaviour.POSTBACK_ODDS):
                drafts.append(self._postback(drafts[-1], who, product_id))
            if len(drafts) >= 2 and (
                random_() > behaviour.SERVER_BURST_CONTINUE or len(drafts) >= 12
            ):
                break
            if random_() < behaviour.SERVER_LONG_GAP_SHARE:
                ts += int(60_000 * (31 + 149 * random_()))
            else:
                ts += behaviour.SERVER_GAP(rng)
        return visit, drafts

    def _postback(self, click: Draft, who: str, product_id: str) -> Draft:
        """The affiliate network's server-to-server purchase for a click: no session, no page,
        the click's event_id, minutes to hours after it."""
        click_ts, _, click_line = click
        start = click_line.index('"event_id":"') + len('"event_id":"')
        click_id = click_line[start : start + 36]
        ts = click_ts + int(60_000 * (5 + 355 * self.random()))
        order = members({"purchase": self.purchase(product_id, click_id)})
        metadata = f'"metadata":{{"sdk_version":"{REDIRECT_SERVICE_VERSION}"}}}}'
        return ts, PURCHASE, self.line(PURCHASE_HEAD, PURCHASE, ts, f"{who},{order},{metadata}")


def _pick(rng: random.Random, options: Sequence[Option]) -> Option:
    return options[int(rng.random() * len(options))]
