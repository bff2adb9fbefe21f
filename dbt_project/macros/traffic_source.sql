{#-
  Where a visit came from, by rules an analyst can read and edit in this one file.

  `referrer_networks()` is the referrer table: each known network or engine, its medium
  (`search`, `social` or `email`), the hosts its referrers come from, and the `utm_source`
  values campaigns use for it. A host matches an entry when it equals one of the entry's
  domains or is a subdomain of it; a domain ending in `.*` matches any suffix
  (`google.*`: google.com, google.co.uk, ...). Entries are tried in order, so the more
  specific come first (mail.google.com is email, before google.* is search).

  `referrer_medium(...)` classifies a referrer's host: `internal` (the page's own host), the
  network's medium, `other` (any other host), null (no referrer). `referrer_source(...)` names
  the network or engine (null when unknown). Both take hosts (`url_host`), not URLs: the
  regular expression then runs once per URL, not once per rule. `channel_group(...)` assigns a session its channel
  group from its UTM parameters and its referrer (rules below, after Google Analytics 4's
  default channel group).
-#}

{% macro referrer_networks() -%}
  {{ return([
    {'source': 'Gmail', 'medium': 'email', 'domains': ['mail.google.com', 'com.google.android.gm'],
     'utm': ['gmail']},
    {'source': 'Outlook', 'medium': 'email',
     'domains': ['outlook.live.com', 'outlook.office.com', 'outlook.office365.com'], 'utm': ['outlook']},
    {'source': 'Yahoo Mail', 'medium': 'email', 'domains': ['mail.yahoo.com'], 'utm': []},
    {'source': 'Proton Mail', 'medium': 'email', 'domains': ['mail.proton.me'], 'utm': []},
    {'source': 'Google', 'medium': 'search', 'domains': ['google.*'], 'utm': ['google']},
    {'source': 'Bing', 'medium': 'search', 'domains': ['bing.com'], 'utm': ['bing']},
    {'source': 'Yahoo', 'medium': 'search', 'domains': ['search.yahoo.com', 'yahoo.com'], 'utm': ['yahoo']},
    {'source': 'DuckDuckGo', 'medium': 'search', 'domains': ['duckduckgo.com'], 'utm': ['duckduckgo']},
    {'source': 'Baidu', 'medium': 'search', 'domains': ['baidu.com'], 'utm': ['baidu']},
    {'source': 'Yandex', 'medium': 'search', 'domains': ['yandex.*', 'ya.ru'], 'utm': ['yandex']},
    {'source': 'Ecosia', 'medium': 'search', 'domains': ['ecosia.org'], 'utm': ['ecosia']},
    {'source': 'Brave Search', 'medium': 'search', 'domains': ['search.brave.com'], 'utm': ['brave']},
    {'source': 'Naver', 'medium': 'search', 'domains': ['naver.com'], 'utm': ['naver']},
    {'source': 'Seznam', 'medium': 'search', 'domains': ['seznam.cz'], 'utm': ['seznam']},
    {'source': 'Qwant', 'medium': 'search', 'domains': ['qwant.com'], 'utm': ['qwant']},
    {'source': 'Startpage', 'medium': 'search', 'domains': ['startpage.com'], 'utm': ['startpage']},
    {'source': 'Facebook', 'medium': 'social',
     'domains': ['facebook.com', 'fb.com', 'fb.me'], 'utm': ['facebook', 'fb', 'meta']},
    {'source': 'Instagram', 'medium': 'social', 'domains': ['instagram.com'], 'utm': ['instagram', 'ig']},
    {'source': 'Twitter', 'medium': 'social', 'domains': ['twitter.com', 'x.com', 't.co'], 'utm': ['twitter', 'x']},
    {'source': 'LinkedIn', 'medium': 'social', 'domains': ['linkedin.com', 'lnkd.in'], 'utm': ['linkedin']},
    {'source': 'Reddit', 'medium': 'social', 'domains': ['reddit.com', 'redd.it'], 'utm': ['reddit']},
    {'source': 'Hacker News', 'medium': 'social', 'domains': ['news.ycombinator.com'], 'utm': ['hackernews', 'hn']},
    {'source': 'YouTube', 'medium': 'social', 'domains': ['youtube.com', 'youtu.be'], 'utm': ['youtube']},
    {'source': 'TikTok', 'medium': 'social', 'domains': ['tiktok.com'], 'utm': ['tiktok']},
    {'source': 'Pinterest', 'medium': 'social', 'domains': ['pinterest.*', 'pin.it'], 'utm': ['pinterest']},
    {'source': 'Quora', 'medium': 'social', 'domains': ['quora.com'], 'utm': ['quora']},
    {'source': 'WhatsApp', 'medium': 'social', 'domains': ['whatsapp.com', 'wa.me'], 'utm': ['whatsapp']},
    {'source': 'Telegram', 'medium': 'social', 'domains': ['t.me', 'telegram.org'], 'utm': ['telegram']},
    {'source': 'Mastodon', 'medium': 'social', 'domains': ['mastodon.social'], 'utm': ['mastodon']},
    {'source': 'Bluesky', 'medium': 'social', 'domains': ['bsky.app'], 'utm': ['bluesky']},
  ]) }}
{%- endmacro %}

{#- The lower-case host of a URL without a leading `www.`; null for a bare path or no URL. -#}
{% macro url_host(url) -%}
  nullif(lower(regexp_extract({{ url }}, '^[A-Za-z][A-Za-z0-9+.-]*://(?:www\.)?([^/:?#@]+)', 1)), '')
{%- endmacro %}

{#- SQL: whether `host` belongs to `domain` (itself or a subdomain; `name.*`: any suffix). -#}
{% macro host_in_domain(host, domain) -%}
  {%- if domain.endswith('.*') -%}
    ({{ host }} like '{{ domain[:-1] }}%' or {{ host }} like '%.{{ domain[:-1] }}%')
  {%- else -%}
    ({{ host }} = '{{ domain }}' or {{ host }} like '%.{{ domain }}')
  {%- endif -%}
{%- endmacro %}

{#- The network or engine of a referrer's host (`url_host`): `Google`, `Reddit`, ...; null when
    unknown. Hosts are taken as arguments so that a model extracts each one once. -#}
{% macro referrer_source(referrer_host) -%}
  case
  {%- for network in referrer_networks() %}
    when
      {%- for domain in network.domains %} {{ host_in_domain(referrer_host, domain) }}
      {%- if not loop.last %} or{% endif %}{% endfor %} then '{{ network.source }}'
  {%- endfor %}
  end
{%- endmacro %}

{#- `internal`, `search`, `social`, `email`, `other`, or null when there is no referrer; from
    the referrer's host and the page's host (`url_host`). -#}
{% macro referrer_medium(referrer_host, page_host) -%}
  case
    when {{ referrer_host }} is null then null
    when {{ referrer_host }} = {{ page_host }} then 'internal'
  {%- for network in referrer_networks() %}
    when
      {%- for domain in network.domains %} {{ host_in_domain(referrer_host, domain) }}
      {%- if not loop.last %} or{% endif %}{% endfor %} then '{{ network.medium }}'
  {%- endfor %}
    else 'other'
  end
{%- endmacro %}

{#- A quoted SQL list of the `utm_source` values of the networks of one medium. -#}
{% macro utm_sources_of(medium) -%}
  {%- set names = [] -%}
  {%- for network in referrer_networks() if network.medium == medium -%}
    {%- for name in network.utm -%}{%- do names.append("'" ~ name ~ "'") -%}{%- endfor -%}
  {%- endfor -%}
  ({{ names | join(', ') }})
{%- endmacro %}

{#-
  The channel group of a session, from its entry UTM parameters (compared in lower case) and
  its entry referrer's medium (`referrer_medium`). The first rule that holds wins:

  1. Direct          no utm_source and no utm_medium, and no referrer or an internal one
  2. Paid Search     a paid medium (cpc, ppc, paid*, *cp*, retargeting) from a search engine
                     (utm_source of a search network, or a search referrer)
  3. Paid Social     a paid medium from a social network (utm_source or referrer)
  4. Display         utm_medium display, banner, cpm, interstitial or expandable
  5. Organic Social  a social network (utm_source or referrer), or utm_medium social,
                     social-network, social-media, sm
  6. Organic Search  utm_medium organic, or a search referrer
  7. Email           utm_source or utm_medium email, e-mail, e_mail, newsletter, or an email
                     referrer (webmail)
  8. Affiliates      utm_medium affiliate or affiliates
  9. Referral        utm_medium referral, app or link, or a referrer from any other site
  10. Other          everything else (e.g. a paid medium from an unknown source)
-#}
{% macro channel_group(utm_source, utm_medium, referrer_medium) -%}
  {%- set source = 'lower(' ~ utm_source ~ ')' -%}
  {%- set medium = 'lower(' ~ utm_medium ~ ')' -%}
  {%- set paid = '(' ~ medium ~ " like '%cp%' or " ~ medium ~ " in ('ppc', 'retargeting') or "
      ~ medium ~ " like 'paid%')" -%}
  case
    when {{ utm_source }} is null and {{ utm_medium }} is null
        and ({{ referrer_medium }} is null or {{ referrer_medium }} = 'internal') then 'Direct'
    when {{ paid }}
        and ({{ source }} in {{ utm_sources_of('search') }} or {{ referrer_medium }} = 'search')
        then 'Paid Search'
    when {{ paid }}
        and ({{ source }} in {{ utm_sources_of('social') }} or {{ referrer_medium }} = 'social')
        then 'Paid Social'
    when {{ medium }} in ('display', 'banner', 'cpm', 'interstitial', 'expandable') then 'Display'
    when {{ source }} in {{ utm_sources_of('social') }}
        or {{ medium }} in ('social', 'social-network', 'social-media', 'sm')
        or {{ referrer_medium }} = 'social' then 'Organic Social'
    when {{ medium }} = 'organic' or {{ referrer_medium }} = 'search' then 'Organic Search'
    when {{ source }} in ('email', 'e-mail', 'e_mail', 'newsletter')
        or {{ medium }} in ('email', 'e-mail', 'e_mail', 'newsletter')
        or {{ referrer_medium }} = 'email' then 'Email'
    when {{ medium }} in ('affiliate', 'affiliates') then 'Affiliates'
    when {{ medium }} in ('referral', 'app', 'link')
        or ({{ utm_medium }} is null and {{ referrer_medium }} = 'other') then 'Referral'
    else 'Other'
  end
{%- endmacro %}
