{#-
  The incremental window. Dagster partitions and backfills pass `min_date`/`max_date`; without
  them a run rebuilds everything. A run rewrites the event dates of its window widened by
  `lookback_days` on each side: late events land in their true event_dt, and a session is
  rebuilt whole because its start date (its partition) is inside the rewritten range.
-#}

{% macro window_bounds() -%}
  {%- set lo, hi = var('min_date'), var('max_date') -%}
  {%- if (lo is none) != (hi is none) -%}
    {{ exceptions.raise_compiler_error("pass both min_date and max_date, or neither") }}
  {%- endif -%}
  {%- if lo is none -%}{{ return(none) }}{%- endif -%}
  {%- set lo = modules.datetime.date.fromisoformat(lo | string) -%}
  {%- set hi = modules.datetime.date.fromisoformat(hi | string) -%}
  {%- if lo > hi -%}
    {{ exceptions.raise_compiler_error("min_date " ~ lo ~ " is after max_date " ~ hi) }}
  {%- endif -%}
  {{ return((lo, hi)) }}
{%- endmacro %}

{#- The event dates a run rewrites, widened by `extra_days`; none for a full build. -#}
{% macro rewrite_range(extra_days=0) -%}
  {%- set bounds = window_bounds() -%}
  {%- if bounds is none -%}{{ return(none) }}{%- endif -%}
  {%- set days = modules.datetime.timedelta(days=var('lookback_days') | int + extra_days) -%}
  {{ return((bounds[0] - days, bounds[1] + days)) }}
{%- endmacro %}

{#- `column` within the rewritten range (widened by `extra_days`), or true for a full build. -#}
{% macro in_rewrite_range(column, extra_days=0) -%}
  {%- set range = rewrite_range(extra_days) -%}
  {%- if range is none -%}
    true
  {%- else -%}
    {{ column }} between date '{{ range[0] }}' and date '{{ range[1] }}'
  {%- endif -%}
{%- endmacro %}

{#- For the lake_table materialization: which partitions of `column` this run replaces. -#}
{% macro rewrite_spec(column) -%}
  {%- set range = rewrite_range() -%}
  {%- if range is none -%}{{ return(none) }}{%- endif -%}
  {{ return({'column': column, 'start': range[0].isoformat(), 'end': range[1].isoformat()}) }}
{%- endmacro %}
