"""Server-side privacy and enrichment: a validated client event becomes the producer payload.

Pure functions, shared by the ingest (HTTP server and Lambda) and by the traffic generator when
it writes landing objects directly, so both produce byte-for-byte the same record shape.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from typing import Any

import crawleruseragents
import ua_parser

from streaming.contracts.schema_registry import RegisteredSchema

HASH_PREFIX = "sha256:"

_IPV4_SLASH_24 = (1 << 32) - (1 << 8)
_IPV6_SLASH_48 = (1 << 128) - (1 << 80)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
"""An IPv4 address as :mod:`ipaddress` accepts it: four decimal octets, no leading zeros."""
_BOT_USER_AGENT = re.compile(
    r"\bbot\b|bot[/;)-]|crawl|spider|slurp|headlesschrome|phantomjs|lighthouse|python-requests|"
    r"python-urllib|curl/|wget/|go-http-client|httpclient|okhttp|scrapy|facebookexternalhit|"
    r"ahrefs|semrush|bingpreview|petalbot|yandex",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RequestContext:
    """What the ingest knows about the request an event arrived in."""

    received_at_ms: int
    client_ip: str | None = None
    viewer_country: str | None = None
    source: str = "web"

    @cached_property
    def source_ip_anonymized(self) -> str | None:
        """Computed once per request, however many events it carries."""
        return anonymise_ip(self.client_ip)

    @cached_property
    def geo_country(self) -> str | None:
        return normalise_country(self.viewer_country)


def anonymise_ip(address: str | None) -> str | None:
    """Truncate to the network: IPv4 /24, IPv6 /48. Anything unparseable becomes None."""
    if not address:
        return None
    address = address.strip()
    if _DOTTED_QUAD.fullmatch(address):  # what ipaddress accepts, without its cost
        return address[: address.rindex(".")] + ".0"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Address(int(ip) & _IPV4_SLASH_24))
    return str(ipaddress.IPv6Address(int(ip) & _IPV6_SLASH_48))


@lru_cache(maxsize=65536)
def rekey_user_id_hash(client_hash: str | None, key: bytes) -> str | None:
    """HMAC-SHA256 under the server key, so client hashes cannot be joined to outside data.
    Cached: a user sends many events."""
    if not client_hash:
        return None
    digest = hmac.digest(key, client_hash.removeprefix(HASH_PREFIX).encode(), "sha256")
    return HASH_PREFIX + digest.hex()


@lru_cache(maxsize=8192)
def is_bot_user_agent(user_agent: str | None) -> bool:
    """A crawler by the project's pattern or by the maintained crawler list
    (``crawler-user-agents``). Cached: traffic carries few distinct user agents, and the
    patterns are costly."""
    if not user_agent:
        return False
    return _BOT_USER_AGENT.search(user_agent) is not None or crawleruseragents.is_crawler(
        user_agent
    )


_MOBILE_OS = frozenset(
    {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Firefox OS", "HarmonyOS"}
)
_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "Debian", "FreeBSD"}
)
_TABLET_DEVICE = re.compile(
    r"iPad|Tablet|Kindle|Nexus (?:7|9|10)\b|SM-[TPX]\d|GT-P\d|Lenovo TB|Pixel Tablet|MatePad"
)


@dataclass(frozen=True, slots=True)
class AgentDetails:
    """What a user agent says about the browser and device (``ua`` in the producer payload)."""

    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    device_class: str | None = None
    """``desktop``, ``mobile``, ``tablet``, ``bot`` or ``other``; null without a user agent."""
    is_bot: bool = False

    def as_payload(self) -> dict[str, str | None]:
        return {
            "browser": self.browser,
            "browser_version": self.browser_version,
            "os": self.os,
            "os_version": self.os_version,
            "device_class": self.device_class,
        }


AgentDescriber = Callable[[str | None], AgentDetails]


@cache
def _user_agent_parser() -> ua_parser.Parser:
    """The regex database of ``ua-parser-builtins``, loaded on first use (half a second)."""
    return ua_parser.Parser(ua_parser.BasicResolver(ua_parser.load_builtins()))


def _version(*parts: str | None) -> str | None:
    """``major.minor.patch`` up to the first missing part; null without a major version."""
    present: list[str] = []
    for part in parts:
        if not part:
            break
        present.append(part)
    return ".".join(present) or None


def _device_class(result: ua_parser.Result, user_agent: str, is_bot: bool) -> str:
    device = result.device.family if result.device else "Other"
    os_family = result.os.family if result.os else "Other"
    if is_bot or device == "Spider":
        return "bot"
    if _TABLET_DEVICE.search(device) or _TABLET_DEVICE.search(user_agent):
        return "tablet"
    if os_family == "Android" and "Mobile" not in user_agent:
        return "tablet"  # Android tablets drop the Mobile token
    if os_family in _MOBILE_OS or "Mobile" in user_agent:
        return "mobile"
    if os_family in _DESKTOP_OS:
        return "desktop"
    return "other"


@lru_cache(maxsize=16384)
def describe_user_agent(user_agent: str | None) -> AgentDetails:
    """Browser, OS and device class by ``ua-parser``, and the bot flag. Cached on the string:
    a parse costs about a millisecond, and traffic repeats a few thousand agents."""
    if not user_agent:
        return AgentDetails()
    result = _user_agent_parser().parse(user_agent)
    browser, system = result.user_agent, result.os
    is_bot = is_bot_user_agent(user_agent) or bool(
        result.device and result.device.family == "Spider"
    )
    return AgentDetails(
        browser=browser.family if browser else None,
        browser_version=_version(browser.major, browser.minor, browser.patch) if browser else None,
        os=system.family if system else None,
        os_version=_version(system.major, system.minor, system.patch) if system else None,
        device_class=_device_class(result, user_agent, is_bot),
        is_bot=is_bot,
    )


@lru_cache(maxsize=8192)
def bot_flag_only(user_agent: str | None) -> AgentDetails:
    """The enrichment before the parser, the bot pattern alone (cached as it was): the
    benchmark's baseline."""
    return AgentDetails(is_bot=_BOT_USER_AGENT.search(user_agent or "") is not None)


def normalise_country(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2 from a CDN viewer-country header; anything else is dropped."""
    if value and len(value.strip()) == 2 and value.strip().isalpha():
        return value.strip().upper()
    return None


def new_event_id() -> str:
    return str(uuid.uuid4())


PayloadBuilder = Callable[[dict[str, Any], RegisteredSchema, Callable[[], str]], dict[str, Any]]
AgentFields = tuple[bool, dict[str, str | None]]
"""The bot flag and the ``ua`` member of a payload for one user agent."""
_AGENT_FIELDS_LIMIT = 16384
_USER_HASHES_LIMIT = 65536


def payload_builder(
    request: RequestContext,
    hmac_key: bytes,
    describe_agent: AgentDescriber = describe_user_agent,
    agent_fields: dict[str | None, AgentFields] | None = None,
    user_hashes: dict[str | None, str | None] | None = None,
) -> PayloadBuilder:
    """:func:`enrich` for the events of one request, with what the request, the key and the
    describer give worked out once. ``agent_fields`` (at most a few thousand agents, kept
    across requests by the caller) hands the same ``ua`` dict to every payload of an agent:
    for callers that serialize a payload and drop it, never mutate it. ``user_hashes`` keeps
    :func:`rekey_user_id_hash` answers under ``hmac_key`` (a caller keeps one per key). Within
    the request, payloads of one user, and of one consent, share their ``user`` and ``privacy``
    dicts the same way."""
    ingest_ts = request.received_at_ms
    source = request.source
    source_ip_anonymized = request.source_ip_anonymized
    geo_country = request.geo_country
    agents: dict[str | None, AgentFields] = {} if agent_fields is None else agent_fields
    rekeyed: dict[str | None, str | None] = {} if user_hashes is None else user_hashes
    user_members: dict[str | None, dict[str, str | None]] = {}
    privacy_members: dict[tuple[Any, Any], dict[str, Any]] = {}

    def build(
        event: dict[str, Any], schema: RegisteredSchema, event_id_factory: Callable[[], str]
    ) -> dict[str, Any]:
        get = event.get
        user = get("user") or {}
        consent = user.get("consent") or {}
        ctx = get("ctx")
        user_agent = ctx.get("user_agent") if ctx else None
        fields = agents.get(user_agent)
        if fields is None:
            agent = describe_agent(user_agent)
            fields = (agent.is_bot, agent.as_payload())
            if len(agents) >= _AGENT_FIELDS_LIMIT:
                agents.clear()
            agents[user_agent] = fields
        client_hash = user.get("user_id_hash")
        user_member = user_members.get(client_hash)
        if user_member is None:
            if client_hash in rekeyed:
                user_id_hash = rekeyed[client_hash]
            else:
                user_id_hash = rekey_user_id_hash(client_hash, hmac_key)
                if len(rekeyed) >= _USER_HASHES_LIMIT:
                    rekeyed.clear()
                rekeyed[client_hash] = user_id_hash
            user_member = {"user_id_hash": user_id_hash, "geo_country": geo_country}
            user_members[client_hash] = user_member
        analytics = consent.get("analytics")
        ads = consent.get("ads")
        privacy = privacy_members.get((analytics, ads))
        if privacy is None:
            privacy = {
                "analytics": analytics,
                "ads": ads,
                "source_ip_anonymized": source_ip_anonymized,
            }
            privacy_members[(analytics, ads)] = privacy
        metadata = dict(get("metadata") or {})
        metadata["schema_hash"] = schema.schema_hash
        ts = event["ts"]
        payload = {
            "schema_version": get("schema_version") or schema.version.dotted,
            "event_type": event["event_type"],
            "event_id": get("event_id") or event_id_factory(),
            "ts": ts if ts.isupper() else ts.upper(),  # the lake's readers take no "t" or "z"
            "ingest_ts": ingest_ts,
            "source": source,
            "is_bot": fields[0],
            "ua": fields[1],
            "privacy": privacy,
            "user": user_member,
            "session": get("session"),
            "ctx": ctx,
            "chart": get("chart"),
            "affiliate": get("affiliate"),
            "metadata": metadata,
        }
        if "purchase" in event:
            payload["purchase"] = event["purchase"]
        return payload

    return build


def enrich(
    event: dict[str, Any],
    *,
    request: RequestContext,
    schema: RegisteredSchema,
    hmac_key: bytes,
    event_id_factory: Callable[[], str] = new_event_id,
    describe_agent: AgentDescriber = describe_user_agent,
) -> dict[str, Any]:
    """The producer payload (``producer_event`` 1-x-0) for a schema-valid client event.

    A ``purchase`` member (1-1-0) is carried only when the event has one, so a 1-0-0 event
    gives exactly the record it gave before 1-1-0 existed."""
    return payload_builder(request, hmac_key, describe_agent)(event, schema, event_id_factory)


def partition_key(payload: dict[str, Any]) -> str:
    """Kinesis partition key: the session, so a session's events stay ordered on one shard."""
    session = payload.get("session") or {}
    return session.get("session_id") or payload["event_id"]
