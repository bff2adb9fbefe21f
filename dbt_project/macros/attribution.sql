{#- Attribution (models/gold/fact_attribution.sql): the models it credits, and what the
    engines write differently. -#}

{#- The attribution models, in the order reports list them. -#}
{% macro attribution_models() -%}
  {{ return(['first_click', 'last_click', 'linear', 'position_based', 'time_decay']) }}
{%- endmacro %}

{#- SQL: whole milliseconds from `start_ts` to `end_ts` (timestamps). -#}
{% macro millis_between(start_ts, end_ts) -%}
  {{ return(adapter.dispatch('millis_between', 'clickstream')(start_ts, end_ts)) }}
{%- endmacro %}
{% macro duckdb__millis_between(start_ts, end_ts) -%}
  (epoch_ms({{ end_ts }}) - epoch_ms({{ start_ts }}))
{%- endmacro %}
{% macro athena__millis_between(start_ts, end_ts) -%}
  date_diff('millisecond', {{ start_ts }}, {{ end_ts }})
{%- endmacro %}

{#- Pre-hook of a merged (Athena) model whose rows a rebuilt day may drop: delete the days the
    run rewrites (its event days widened by `widen`) before the merge adds them back. The local
    target replaces those partitions itself (lake_table), so it renders nothing there. -#}
{% macro delete_rewritten_days(column, widen=0) -%}
  {{ return(adapter.dispatch('delete_rewritten_days', 'clickstream')(column, widen)) }}
{%- endmacro %}
{% macro duckdb__delete_rewritten_days(column, widen=0) -%}{%- endmacro %}
{% macro athena__delete_rewritten_days(column, widen=0) -%}
  {%- if is_incremental() -%}
    delete from {{ this }} where {{ in_rebuild_days(column, widen) }}
  {%- endif -%}
{%- endmacro %}
