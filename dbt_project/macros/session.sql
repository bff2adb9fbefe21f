{#-
  How a session takes an attribute from its events: the first non-null value in the session's
  event order (`position_asc`: ts, then event_id), null only when every event's value is null.
  Staging turns empty strings into nulls, so an empty value never wins either. `min_by`/`max_by`
  and aggregate `filter` read the same on DuckDB and Athena (Trino).
-#}

{% macro first_in_session(column, condition='true') -%}
  min_by({{ column }}, position_asc) filter (where {{ column }} is not null and {{ condition }})
{%- endmacro %}

{#- The last non-null value in the session's event order (e.g. the exit page). -#}
{% macro last_in_session(column, condition='true') -%}
  max_by({{ column }}, position_asc) filter (where {{ column }} is not null and {{ condition }})
{%- endmacro %}

{#-
  A comparison page: the URL path is the `comparison_path` var ('/compare') or below it as a
  path segment ('/compare/...'); '/comparex' and '/compare-tools' are not.
-#}
{% macro is_comparison_path(path) -%}
  ({{ path }} = '{{ var("comparison_path") }}' or {{ path }} like '{{ var("comparison_path") }}/%')
{%- endmacro %}

{#-
  Whether a page URL's path is a comparison page (`is_comparison_path`); false without a URL.
  Such a URL contains the var, so that cheap test comes first and the regular expression runs
  only on the few URLs that pass it (it cost a third of silver_sessions at 10 M events).
-#}
{% macro is_comparison_page(url) -%}
  case
    when {{ url }} like '%{{ var("comparison_path") }}%'
      then {{ is_comparison_path(url_path(url)) }}
    else false
  end
{%- endmacro %}

{#- Null-safe equality (both null counts as equal), on DuckDB and Athena alike. -#}
{% macro null_safe_equal(left, right) -%}
  (({{ left }} is null and {{ right }} is null) or coalesce({{ left }} = {{ right }}, false))
{%- endmacro %}
