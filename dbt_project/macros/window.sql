{#-
  Which event days a run rebuilds. Three modes, chosen by the vars (`--vars`, or the same keys
  in CLICKSTREAM_DBT_REBUILD, see `rebuild_var`):

  * arrivals (`event_days`, `ingest_days`): the incremental run the arrival manifest plans
    (lakehouse/arrivals.py). `event_days` are the event dates the
    bronze rows that arrived since the last successful run fall on, however old;
    `ingest_days` are the bronze ingest dates holding events of those days. Only those
    bronze partitions are read and only those event days are rewritten.
  * window (`min_date`, `max_date`): Dagster partitions and backfills. The event days of the
    window are rebuilt from every bronze row that can hold them (ingest dates from
    `early_arrival_days` before the window on, with no upper bound: a late event of any age
    is found).
  * neither: a full build.

  A model rewrites the partitions of those days widened by its `rewrite_widen_days`:
  sessions take one day either side, because an event on day d can belong to a session that
  starts on d - 1 or move one that started on d + 1 to d.
-#}

{% macro _iso_days(values) -%}
  {%- set days = [] -%}
  {%- for value in (values or []) -%}
    {%- do days.append(modules.datetime.date.fromisoformat(value | string)) -%}
  {%- endfor -%}
  {{ return(days | unique | sort) }}
{%- endmacro %}

{#- A var of the rebuild (`event_days`, `ingest_days`, `min_date`, `max_date`): from `--vars`,
    else, when the run executes, from the JSON object in CLICKSTREAM_DBT_REBUILD, where the
    project's own runs pass them. Parsing never reads it, so one saved parse serves every run,
    whatever its days. -#}
{% macro rebuild_var(name) -%}
  {%- set value = var(name, none) -%}
  {%- if value is none and execute -%}
    {%- set passed = env_var('CLICKSTREAM_DBT_REBUILD', '') -%}
    {%- if passed -%}{%- set value = fromjson(passed).get(name) -%}{%- endif -%}
  {%- endif -%}
  {{ return(value) }}
{%- endmacro %}

{#- The event days of the run before widening, sorted; none for a full build. -#}
{% macro rebuild_days() -%}
  {%- set event_days = rebuild_var('event_days') -%}
  {%- set lo, hi = rebuild_var('min_date'), rebuild_var('max_date') -%}
  {%- if event_days is not none -%}
    {%- if lo is not none or hi is not none -%}
      {{ exceptions.raise_compiler_error("pass event_days or min_date/max_date, not both") }}
    {%- endif -%}
    {{ return(_iso_days(event_days)) }}
  {%- endif -%}
  {%- if (lo is none) != (hi is none) -%}
    {{ exceptions.raise_compiler_error("pass both min_date and max_date, or neither") }}
  {%- endif -%}
  {%- if lo is none -%}{{ return(none) }}{%- endif -%}
  {%- set lo = modules.datetime.date.fromisoformat(lo | string) -%}
  {%- set hi = modules.datetime.date.fromisoformat(hi | string) -%}
  {%- if lo > hi -%}
    {{ exceptions.raise_compiler_error("min_date " ~ lo ~ " is after max_date " ~ hi) }}
  {%- endif -%}
  {%- set days = [] -%}
  {%- for offset in range((hi - lo).days + 1) -%}
    {%- do days.append(lo + modules.datetime.timedelta(days=offset)) -%}
  {%- endfor -%}
  {{ return(days) }}
{%- endmacro %}

{#- The run's event days widened by `widen` days on each side; none for a full build. -#}
{% macro widened_days(widen=0) -%}
  {%- set days = rebuild_days() -%}
  {%- if days is none -%}{{ return(none) }}{%- endif -%}
  {%- set widened = [] -%}
  {%- for day in days -%}
    {%- for offset in range(-widen, widen + 1) -%}
      {%- do widened.append(day + modules.datetime.timedelta(days=offset)) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(widened | unique | sort) }}
{%- endmacro %}

{#- SQL: `column` (a date) is one of `days`, written as ranges of consecutive days. -#}
{% macro _date_in(column, days) -%}
  {%- if not days -%}false{%- else -%}
  {%- set ranges = [[days[0], days[0]]] -%}
  {%- for day in days[1:] -%}
    {%- if (day - ranges[-1][1]).days == 1 -%}
      {%- do ranges[-1].pop() -%}{%- do ranges[-1].append(day) -%}
    {%- else -%}
      {%- do ranges.append([day, day]) -%}
    {%- endif -%}
  {%- endfor -%}
  ({%- for first, last in ranges -%}
    {%- if not loop.first %} or {% endif -%}
    {%- if first == last -%}{{ column }} = date '{{ first }}'
    {%- else -%}{{ column }} between date '{{ first }}' and date '{{ last }}'{%- endif -%}
  {%- endfor -%})
  {%- endif -%}
{%- endmacro %}

{#- `column` (a date) on one of the run's event days widened by `widen`; true for a full build. -#}
{% macro in_rebuild_days(column, widen=0) -%}
  {%- set days = widened_days(widen) -%}
  {%- if days is none -%}true{%- else -%}{{ _date_in(column, days) }}{%- endif -%}
{%- endmacro %}

{#- The bronze ingest dates (`column`) that can hold events of the run's event days. -#}
{% macro in_bronze_ingest_days(column) -%}
  {%- set days = rebuild_days() -%}
  {%- if days is none -%}
    true
  {%- elif rebuild_var('event_days') is not none -%}
    {{ _date_in(column, _iso_days(rebuild_var('ingest_days'))) }}
  {%- elif days -%}
    {%- set earliest = days[0]
          - modules.datetime.timedelta(days=var("early_arrival_days") | int) -%}
    {{ column }} >= date '{{ earliest }}'
  {%- else -%}
    false
  {%- endif -%}
{%- endmacro %}

{#- For the lake_table materialization: which partitions of `column` this run replaces. -#}
{% macro rewrite_spec(column, widen=0) -%}
  {%- set days = widened_days(widen) -%}
  {%- if days is none -%}{{ return(none) }}{%- endif -%}
  {%- set iso = [] -%}
  {%- for day in days -%}{%- do iso.append(day.isoformat()) -%}{%- endfor -%}
  {{ return({'column': column, 'days': iso}) }}
{%- endmacro %}
