{#- Reconciliation: every session the run rewrote has exactly one funnel row (a full build:
    every session). -#}
{{ config(meta={'dagster': {'ref': {'name': 'fact_funnel'}}}) }}
select sessions.session_id
from {{ ref('silver_sessions') }} as sessions
left join {{ ref('fact_funnel') }} as funnel on sessions.session_id = funnel.session_id
where
    {{ in_rebuild_days('sessions.event_dt', 1) }}
    and funnel.session_id is null
