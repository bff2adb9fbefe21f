{#-
  Pages as the star schema names them: a page is its URL path (`page_path`), typed by the site's
  sections (`page_type`). An analyst adds a section here.
-#}

{#- The path of a page URL, '/' for the bare site; null without a URL. -#}
{% macro page_path(url) -%}
  case when {{ url }} is not null then coalesce(nullif({{ url_path(url) }}, ''), '/') end
{%- endmacro %}

{#-
  The type of a page path: home '/', compare (the `comparison_path` var and below, also under
  '/amp'), product '/products/...', blog '/blog...', category '/categories/...', deals
  '/deals...', affiliate_redirect '/r/...' (the redirect host's outbound links), other.
-#}
{% macro page_type(path) -%}
  case
    when {{ path }} is null then null
    when {{ path }} = '/' then 'home'
    when {{ is_comparison_path(path) }} or {{ path }} like '/amp{{ var("comparison_path") }}%'
        then 'compare'
    when {{ path }} like '/products/%' then 'product'
    when {{ path }} = '/blog' or {{ path }} like '/blog/%' then 'blog'
    when {{ path }} like '/categories/%' then 'category'
    when {{ path }} = '/deals' or {{ path }} like '/deals/%' then 'deals'
    when {{ path }} like '/r/%' then 'affiliate_redirect'
    else 'other'
  end
{%- endmacro %}

{#-
  An engaged session (after Google Analytics 4): it lasted at least 10 seconds, or it has two or
  more page views, or it converted (an affiliate click). `relation` is a silver_sessions row.
-#}
{% macro is_engaged_session(relation) -%}
  ({{ session_seconds(relation) }} >= 10
    or {{ relation }}.pageviews >= 2
    or {{ relation }}.affiliate_clicks > 0)
{%- endmacro %}

{#- A session's duration in whole seconds, first to last event. -#}
{% macro session_seconds(relation) -%}
  date_diff('second', {{ relation }}.session_start_ts, {{ relation }}.session_end_ts)
{%- endmacro %}

{#- The Monday that starts the ISO week of a date. -#}
{% macro week_start(day) -%}
  cast(date_trunc('week', {{ day }}) as date)
{%- endmacro %}
