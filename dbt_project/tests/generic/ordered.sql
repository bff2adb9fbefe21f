{#- Rows where `column_name` is before `earlier` (nulls pass). -#}
{% test not_before(model, column_name, earlier) %}
select {{ earlier }}, {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ earlier }}
{% endtest %}
