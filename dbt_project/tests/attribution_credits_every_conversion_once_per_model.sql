{#- Every conversion (purchase in silver_events) is credited once under each model: present
    under all of them, and one row per touch (no touch credited twice). -#}
{{ config(meta={'dagster': {'ref': {'name': 'fact_attribution'}}}) }}
with conversions as (
    select event_id as conversion_id
    from {{ ref('silver_events') }}
    where event_type = 'purchase'
),

credits as (
    select
        conversion_id,
        attribution_model,
        count(*) as touch_rows,
        count(distinct touch_session_id) as touches
    from {{ ref('fact_attribution') }}
    group by conversion_id, attribution_model
),

per_conversion as (
    select
        conversions.conversion_id,
        count(credits.attribution_model) as models,
        count(distinct credits.attribution_model) as distinct_models,
        coalesce(sum(credits.touch_rows - credits.touches), 0) as repeated_touches
    from conversions
    left join credits on conversions.conversion_id = credits.conversion_id
    group by conversions.conversion_id
)

select *
from per_conversion
where models <> {{ attribution_models() | length }}
    or distinct_models <> {{ attribution_models() | length }}
    or repeated_touches <> 0
