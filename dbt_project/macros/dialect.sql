{#- The few places DuckDB and Athena (Trino) SQL differ. Models call these, never branch. -#}

{#- Two-digit UTC hour of a timestamp, e.g. '07'. -#}
{% macro hour_of(ts) -%}{{ return(adapter.dispatch('hour_of', 'clickstream')(ts)) }}{%- endmacro %}
{% macro duckdb__hour_of(ts) -%}strftime({{ ts }}, '%H'){%- endmacro %}
{% macro athena__hour_of(ts) -%}format_datetime({{ ts }}, 'HH'){%- endmacro %}

{#- The lake's timestamp type: microseconds, no time zone (values are UTC). -#}
{% macro lake_timestamp(expression) -%}
  {{ return(adapter.dispatch('lake_timestamp', 'clickstream')(expression)) }}
{%- endmacro %}
{% macro duckdb__lake_timestamp(expression) -%}cast({{ expression }} as timestamp){%- endmacro %}
{% macro athena__lake_timestamp(expression) -%}cast({{ expression }} as timestamp(6)){%- endmacro %}

{#- An array of strings without empty or null elements; null stays null. -#}
{% macro drop_empty_strings(array) -%}
  {{ return(adapter.dispatch('drop_empty_strings', 'clickstream')(array)) }}
{%- endmacro %}
{% macro duckdb__drop_empty_strings(array) -%}
  list_filter({{ array }}, lambda item: coalesce(item, '') <> '')
{%- endmacro %}
{% macro athena__drop_empty_strings(array) -%}
  filter({{ array }}, item -> coalesce(item, '') <> '')
{%- endmacro %}

{#- An empty array of strings. -#}
{% macro empty_string_array() -%}
  {{ return(adapter.dispatch('empty_string_array', 'clickstream')()) }}
{%- endmacro %}
{% macro duckdb__empty_string_array() -%}cast([] as varchar[]){%- endmacro %}
{% macro athena__empty_string_array() -%}cast(array[] as array(varchar)){%- endmacro %}

{#- The path of a URL ('/compare/x' from 'https://host/compare/x?y=1'); a bare path stays as is. -#}
{% macro url_path(url) -%}
  regexp_extract({{ url }}, '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)', 1)
{%- endmacro %}

{#- A stable text key for a timestamp (same text for the same instant on a given engine). -#}
{% macro timestamp_key(ts) -%}
  {{ return(adapter.dispatch('timestamp_key', 'clickstream')(ts)) }}
{%- endmacro %}
{% macro duckdb__timestamp_key(ts) -%}
  strftime({{ ts }}, '%Y-%m-%dT%H:%M:%S.%f')
{%- endmacro %}
{% macro athena__timestamp_key(ts) -%}
  format_datetime({{ ts }}, 'yyyy-MM-dd''T''HH:mm:ss.SSSSSS')
{%- endmacro %}

{#- The distinct values of a string column as a sorted array (stable across runs). -#}
{% macro sorted_set_agg(column) -%}
  {{ return(adapter.dispatch('sorted_set_agg', 'clickstream')(column)) }}
{%- endmacro %}
{% macro duckdb__sorted_set_agg(column) -%}list_sort(list(distinct {{ column }})){%- endmacro %}
{% macro athena__sorted_set_agg(column) -%}
  array_sort(array_agg(distinct {{ column }}))
{%- endmacro %}

{#- The elements of an array of strings joined with `separator` (null elements skipped). -#}
{% macro join_strings(array, separator) -%}
  {{ return(adapter.dispatch('join_strings', 'clickstream')(array, separator)) }}
{%- endmacro %}
{% macro duckdb__join_strings(array, separator) -%}
  array_to_string({{ array }}, '{{ separator }}')
{%- endmacro %}
{% macro athena__join_strings(array, separator) -%}
  array_join({{ array }}, '{{ separator }}')
{%- endmacro %}

{#-
  The last tie-break between copies of one event with the same ingest_ts and landing object:
  an md5 of the copy's content (every field staging keeps, nulls and list elements spelled
  out), so the copy kept never depends on the order rows are read in.
-#}
{% macro copy_fingerprint(relation) -%}
  {%- set text_columns = [
      'event_type', 'session_id', 'user_id_hash', 'geo_country', 'page_url', 'referrer',
      'locale', 'user_agent', 'ab_variant', 'utm_source', 'utm_medium', 'utm_campaign',
      'chart_action', 'chart_control_id', 'chart_control_value', 'affiliate_link_id',
      'affiliate_target', 'source', 'schema_version', 'source_ip_anonymized'] -%}
  {%- set parts = [timestamp_key(relation ~ '.ts')] -%}
  {%- for column in text_columns -%}
    {%- do parts.append("coalesce(" ~ relation ~ "." ~ column ~ ", '<null>')") -%}
  {%- endfor -%}
  {%- do parts.append("coalesce(cast(" ~ relation ~ ".payout_cents as varchar), '<null>')") -%}
  {%- do parts.append("cast(" ~ relation ~ ".is_bot as varchar)") -%}
  {%- do parts.append(
        "coalesce(" ~ join_strings(relation ~ ".product_ids", ",") ~ ", '<null>')") -%}
  {{ dbt.hash(parts | join(" || '|' || ")) }}
{%- endmacro %}
