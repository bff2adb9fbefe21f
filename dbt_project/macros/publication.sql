{#-
  Write-audit-publish on the local target (macros/materializations/lake_table.sql).

  A model's staged rows are visible to the rest of its invocation through the view
  `staged_rows` builds; the invocation's on-run-end hook calls `publish_staged_tables(results)`,
  which hands every node result to the `iceberg` plugin (lakehouse/publish.py): a staged model
  is committed into its Iceberg table unless its own run errored, a test of error severity on
  it failed or errored, or a model it was built from is withheld; otherwise its staged files
  are deleted and its Iceberg table is untouched. The outcome is recorded in
  <CLICKSTREAM_HOME>/duckdb/published/<invocation_id>.json (lakehouse/publication.py). Each
  staged model's view is then re-pointed at its table's committed snapshot (dropped when the
  table does not exist). Other targets stage nothing: the hook does nothing there.
-#}

{#- The metadata file of `relation`'s committed snapshot, or none when it has no table. -#}
{% macro committed_metadata_location(relation) -%}
  {%- set pointer = env_var('CLICKSTREAM_HOME') ~ '/duckdb/pointers/' ~ relation.schema ~ '.'
        ~ relation.identifier -%}
  {%- set found = run_query(
        "select count(*) from glob('" ~ pointer ~ "')").columns[0].values()[0] -%}
  {%- if found == 0 -%}{{ return(none) }}{%- endif -%}
  {{ return(run_query(
        "select trim(content) from read_text('" ~ pointer ~ "')").columns[0].values()[0]) }}
{%- endmacro %}

{#- SQL: the rows `relation` will hold once published: its committed rows outside the
    partitions `rewrite` replaces (none when it replaces all), then the staged files. -#}
{% macro staged_rows(relation, files_dir, rewrite) -%}
  {%- set committed = committed_metadata_location(relation) if rewrite else none -%}
  {%- if committed is not none %}
    select * from iceberg_scan('{{ committed }}')
    where not coalesce(
      {%- if rewrite['days'] %} {{ rewrite['column'] }} in (
        {%- for day in rewrite['days'] %}date '{{ day }}'{{ ', ' if not loop.last }}{% endfor -%}
      ){%- else %} false{%- endif %}, false)
    union all by name
  {%- endif %}
    select * from read_parquet('{{ files_dir }}/**/*.parquet', hive_partitioning = false)
{%- endmacro %}

{#- The `schema.table` of every model the invocation staged. -#}
{% macro _staged_identifiers() -%}
  {%- set staged_dir = env_var('CLICKSTREAM_HOME') ~ '/duckdb/staged/' ~ invocation_id -%}
  {%- set found = run_query(
        "select parse_filename(file, true) from glob('" ~ staged_dir ~ "/*.json') order by 1") -%}
  {{ return(found.columns[0].values() | list) }}
{%- endmacro %}

{% macro publish_staged_tables(results) -%}
  {%- if not execute or target.type != 'duckdb' -%}{{ return('') }}{%- endif -%}
  {%- set staged = _staged_identifiers() -%}
  {%- set outcomes = [] -%}
  {%- for result in results -%}
    {%- do outcomes.append({
          'unique_id': result.node.unique_id,
          'name': result.node.name,
          'resource_type': result.node.resource_type | string,
          'status': result.status | string,
          'severity': result.node.config.get('severity'),
          'depends_on': result.node.depends_on.nodes | list,
        }) -%}
  {%- endfor -%}
  {%- set upstream = {} -%}
  {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
    {%- do upstream.update({node.unique_id: node.depends_on.nodes | list}) -%}
  {%- endfor -%}
  {% do adapter.store_relation('iceberg', api.Relation.create(identifier='publication'), [], '',
        'json', {'action': 'publish', 'invocation_id': invocation_id, 'results': outcomes,
                 'upstream': upstream}) %}
  {%- for identifier in staged -%}
    {%- set schema, table = identifier.split('.', 1) -%}
    {%- set relation = api.Relation.create(
          database=target.database, schema=schema, identifier=table, type='view') -%}
    {%- set committed = committed_metadata_location(relation) %}
    {% if committed is none -%}
    drop view if exists {{ relation }};
    {%- else -%}
    create or replace view {{ relation }} as select * from iceberg_scan('{{ committed }}');
    {%- endif -%}
  {%- endfor -%}
{%- endmacro %}
