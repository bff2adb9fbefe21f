{#-
  lake_table (local target): the model's rows become an Iceberg table in the local catalog.

  DuckDB writes the rows as Parquet, one folder per partition value, under the table's
  warehouse folder; the `iceberg` plugin commits them (deleting the partitions this run
  rewrites, adding the new files, in one Iceberg transaction); the relation dbt sees is a
  view over the table's new snapshot. A windowed run (vars min_date/max_date) replaces only
  the partitions of its rewrite range; a full build replaces everything.
-#}
{% materialization lake_table, adapter='duckdb' %}
  {%- set partitioned_by = config.get('partitioned_by') or [] -%}
  {%- set rewrite_column = config.get('rewrite_column') -%}
  {%- set rewrite = rewrite_spec(rewrite_column) if rewrite_column else none -%}
  {%- if flags.FULL_REFRESH -%}{%- set rewrite = none -%}{%- endif -%}
  {%- set files_dir = env_var('CLICKSTREAM_HOME') ~ '/warehouse/' ~ this.schema ~ '.db/'
        ~ this.identifier ~ '/data/run-' ~ invocation_id -%}
  {%- set staging = make_intermediate_relation(this.incorporate(type='table'), suffix='__stage') -%}
  {%- set target_relation = this.incorporate(type='view') -%}

  {{ run_hooks(pre_hooks) }}

  {{ drop_relation_if_exists(staging) }}
  {% do adapter.store_relation('iceberg', this, [], files_dir, 'parquet', {'action': 'prepare'}) %}
  {% call statement('stage') -%}
    create temp table {{ staging.identifier }} as {{ sql }}
  {%- endcall %}
  {% call statement('write_schema') -%}
    copy (select * from {{ staging.identifier }} limit 0)
      to '{{ files_dir }}/_schema.parquet' (format parquet)
  {%- endcall %}
  {% call statement('write_files') -%}
    copy (select * from {{ staging.identifier }}{% if partitioned_by %} order by {{ partitioned_by | join(', ') }}{% endif %})
      to '{{ files_dir }}'
      (format parquet, compression zstd, row_group_size 262144,
       {%- if partitioned_by %} partition_by ({{ partitioned_by | join(', ') }}), write_partition_columns true,{% endif %}
       overwrite_or_ignore true, filename_pattern 'part-{uuid}')
  {%- endcall %}
  {%- set row_count = run_query('select count(*) from ' ~ staging.identifier).columns[0].values()[0] -%}

  {% do adapter.store_relation('iceberg', this, [], files_dir, 'parquet',
        {'action': 'commit', 'partitioned_by': partitioned_by, 'rewrite': rewrite}) %}

  {%- set pointer = env_var('CLICKSTREAM_HOME') ~ '/duckdb/pointers/' ~ this.schema ~ '.' ~ this.identifier -%}
  {%- set metadata_location = run_query("select trim(content) from read_text('" ~ pointer ~ "')").columns[0].values()[0] -%}
  {% call statement('main') -%}
    create schema if not exists {{ this.schema }};
    drop table if exists {{ staging.identifier }};
    create or replace view {{ target_relation }} as
      select * from iceberg_scan('{{ metadata_location }}')
  {%- endcall %}

  {{ run_hooks(post_hooks) }}
  {% do adapter.commit() %}
  {% do store_result('main', response='OK ' ~ row_count ~ (' rewrote ' ~ rewrite['start'] ~ '..' ~ rewrite['end'] if rewrite else ' full')) %}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
