{#- Models live in the lake/mart namespaces exactly, on every target (no target-schema prefix). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
