{#-
  lake_table (local target): the model's rows are staged, audited, then published into an
  Iceberg table in the local catalog (write-audit-publish).

  DuckDB writes the query's rows as Parquet, one folder per partition value, under the table's
  warehouse folder (a folder per invocation); the `iceberg` plugin records them as staged.
  Nothing is committed here: the relation dbt sees for the rest of the invocation (downstream
  models, tests) is a view over the staged result, the committed rows outside the partitions
  this run rewrites plus the staged files. At the end of the invocation
  `publish_staged_tables` (macros/publication.sql) commits the staged tables whose blocking
  tests passed and discards the others. A run with event days (vars event_days or
  min_date/max_date, see macros/window.sql) replaces only the partitions of those days
  widened by the model's `rewrite_widen_days`; a full build replaces everything.
-#}
{% materialization lake_table, adapter='duckdb' %}
  {%- set partitioned_by = config.get('partitioned_by') or [] -%}
  {%- set rewrite_column = config.get('rewrite_column') -%}
  {%- set rewrite = rewrite_spec(rewrite_column, config.get('rewrite_widen_days', 0))
        if rewrite_column else none -%}
  {%- if flags.FULL_REFRESH -%}{%- set rewrite = none -%}{%- endif -%}
  {%- set files_dir = env_var('CLICKSTREAM_HOME') ~ '/warehouse/' ~ this.schema ~ '.db/'
        ~ this.identifier ~ '/data/run-' ~ invocation_id -%}
  {%- set target_relation = this.incorporate(type='view') -%}

  {{ run_hooks(pre_hooks) }}

  {% do adapter.store_relation('iceberg', this, [], files_dir, 'parquet', {
        'action': 'stage', 'invocation_id': invocation_id, 'unique_id': model.unique_id,
        'partitioned_by': partitioned_by, 'rewrite': rewrite}) %}
  {% call statement('write_schema') -%}
    copy (select * from (
      {{ sql }}
    ) limit 0) to '{{ files_dir }}/_schema.parquet' (format parquet)
  {%- endcall %}
  {#- straight from the query to Parquet: DuckDB streams, spills, and never stages the rows -#}
  {% call statement('write_files') -%}
    copy (
      {{ sql }}
    ) to '{{ files_dir }}{% if not partitioned_by %}/part-0.parquet{% endif %}'
      (format parquet, {{ var('parquet_write_options') }}, row_group_size 262144
       {%- if partitioned_by %}, partition_by ({{ partitioned_by | join(', ') }}),
       write_partition_columns true, overwrite_or_ignore true,
       filename_pattern 'part-{uuid}'{% endif %})
  {%- endcall %}
  {%- set row_count = run_query(
        "select count(*) from read_parquet('" ~ files_dir ~ "/**/*.parquet')"
      ).columns[0].values()[0] -%}

  {% call statement('main') -%}
    create schema if not exists {{ this.schema }};
    create or replace view {{ target_relation }} as
      {{ staged_rows(this, files_dir, rewrite) }}
  {%- endcall %}

  {{ run_hooks(post_hooks) }}
  {% do adapter.commit() %}
  {% do store_result('main', response='OK ' ~ row_count ~ ' staged, '
        ~ ('rewriting ' ~ rewrite['days'] | length ~ ' day(s)' if rewrite else 'full')) %}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
