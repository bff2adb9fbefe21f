{#-
  How a session takes an attribute from its events: the first non-null value in the session's
  event order (ts, then event_id), null only when every event's value is null. Staging turns
  empty strings into nulls, so an empty value never wins either.
  These are window functions over the whole session (`session_window`), read on one row per
  session: aggregate states holding strings (`min_by` of text) are not spilled by DuckDB, and
  with 7.5 M sessions in a day they ran out of memory at 3 GB; a window is sorted and spills.
  DuckDB writes `ignore nulls` inside the call, Athena (Trino) after it.
-#}

{#- The session's events in order; `session_window` adds the whole session as the frame. Both
    share one sort, so one window pass numbers the events and computes every attribute. -#}
{% macro session_order() -%}
  partition by session_key order by ts, event_id
{%- endmacro %}

{% macro session_window() -%}
  {{ session_order() }}
  rows between unbounded preceding and unbounded following
{%- endmacro %}

{% macro first_in_session(column, condition='true') -%}
  {{ return(value_in_session('first_value', column, condition)) }}
{%- endmacro %}

{#- The last non-null value in the session's event order (e.g. the exit page). -#}
{% macro last_in_session(column, condition='true') -%}
  {{ return(value_in_session('last_value', column, condition)) }}
{%- endmacro %}

{% macro value_in_session(function, column, condition) -%}
  {{ return(adapter.dispatch('value_in_session', 'clickstream')(function, column, condition)) }}
{%- endmacro %}

{% macro _session_candidate(column, condition) -%}
  {%- if condition == 'true' -%}{{ column }}{%- else -%}case when {{ condition }} then {{ column }} end{%- endif -%}
{%- endmacro %}
{% macro duckdb__value_in_session(function, column, condition) -%}
  {{ function }}({{ _session_candidate(column, condition) }} ignore nulls) over ({{ session_window() }})
{%- endmacro %}
{% macro athena__value_in_session(function, column, condition) -%}
  {{ function }}({{ _session_candidate(column, condition) }}) ignore nulls over ({{ session_window() }})
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
