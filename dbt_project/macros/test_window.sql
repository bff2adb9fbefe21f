{#-
  Gates judge the run, not history: every generic data test on a model partitioned by event
  day (one with a `rewrite_column`) reads only the partitions this run rewrote, the run's
  event days widened by the model's `rewrite_widen_days` (macros/window.sql). A bad day then
  fails its own run and no other; a full build tests everything. A test's own `where` config
  still applies on top.
-#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where') -%}
  {%- set window = _rewritten_partitions(relation) -%}
  {%- set conditions = [] -%}
  {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
  {%- if window != 'true' -%}{%- do conditions.append(window) -%}{%- endif -%}
  {%- if conditions -%}
    {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ')
          ~ ') dbt_subquery') -%}
  {%- endif -%}
  {%- do return(relation) -%}
{%- endmacro %}

{#- SQL: the rows of `relation` in the partitions this run rewrote, or for a source with an
    `ingest_day_column` (bronze) the ingest days the run reads; 'true' for any other relation
    or a full build. -#}
{% macro _rewritten_partitions(relation) -%}
  {%- if execute and relation is not none and relation.identifier is defined -%}
    {%- for node in graph.nodes.values() -%}
      {%- if node.resource_type == 'model' and node.alias == relation.identifier
            and node.schema == relation.schema and node.config.get('rewrite_column') -%}
        {%- do return(in_rebuild_days(node.config.get('rewrite_column'),
                                      node.config.get('rewrite_widen_days', 0))) -%}
      {%- endif -%}
    {%- endfor -%}
    {%- for source in graph.sources.values() -%}
      {%- if source.identifier == relation.identifier and source.schema == relation.schema
            and source.meta.get('ingest_day_column') -%}
        {%- do return(in_bronze_ingest_days(source.meta.get('ingest_day_column'))) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {%- do return('true') -%}
{%- endmacro %}
