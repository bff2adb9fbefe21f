{#- Rule: a session's attribute is the first non-null value in its event order (ts, then
    event_id), computed here independently of the model: sessions where it differs fail. Only
    sessions the run rebuilt are compared: they start on its days widened by one, so the events
    read (a day more on both sides) hold each of them whole. -#}
{{ config(meta={'dagster': {'ref': {'name': 'silver_sessions'}}}) }}
{%- set attributes = {
    'user_id_hash': 'user_id_hash', 'geo_country': 'geo_country', 'ab_variant': 'ab_variant',
    'utm_source': 'utm_source', 'utm_medium': 'utm_medium', 'utm_campaign': 'utm_campaign',
    'referrer': 'referrer', 'first_page_url': 'page_url'} %}
with events as (
    select
        *,
        row_number() over ({{ session_order() }}) as position_asc
    from {{ ref('int_session_events') }}
),

first_positions as (
    select
        session_key,
    {%- for column in attributes.values() | unique %}
        min(case when {{ column }} is not null then position_asc end) as first_{{ column }}
        {{- "," if not loop.last }}
    {%- endfor %}
    from events
    group by session_key
    having {{ in_rebuild_days('cast(min(ts) as date)', widen=1) }}
),

expected as (
    select
        events.session_key,
    {%- for name, column in attributes.items() %}
        max(
            case
                when events.position_asc = first_positions.first_{{ column }}
                    then events.{{ column }}
            end
        ) as {{ name }}
        {{- "," if not loop.last }}
    {%- endfor %}
    from events
    inner join first_positions on events.session_key = first_positions.session_key
    group by events.session_key
)

select sessions.session_id
from {{ ref('silver_sessions') }} as sessions
inner join expected on sessions.session_id = expected.session_key
where
    {%- for name in attributes %}
        {{ "or " if not loop.first }}not (
            {{ null_safe_equal('sessions.' ~ name, 'expected.' ~ name) }}
        )
    {%- endfor %}
