{#- Reconciliation: every session has exactly one funnel row. -#}
{{ config(meta={'dagster': {'ref': {'name': 'fact_funnel'}}}) }}
select sessions.session_id
from {{ ref('silver_sessions') }} as sessions
left join {{ ref('fact_funnel') }} as funnel on sessions.session_id = funnel.session_id
where funnel.session_id is null
