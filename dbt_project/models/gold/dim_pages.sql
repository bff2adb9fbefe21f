{{ config(unique_key='page_path') }}

{#- One row per page path ever seen in silver_events, with its page type (macros/pages.sql),
    rebuilt whole on every run (paths are few). -#}
with paths as (
    select
        {{ page_path('page_url') }} as page_path,
        event_dt
    from {{ ref('silver_events') }}
)

select
    page_path,
    {{ page_type('page_path') }} as page_type,
    min(event_dt) as first_seen_dt,
    max(event_dt) as last_seen_dt
from paths
where page_path is not null
group by page_path
