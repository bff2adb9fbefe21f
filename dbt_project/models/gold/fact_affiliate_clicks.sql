{{ config(
    partitioned_by=['event_dt'],
    rewrite_column='event_dt',
    unique_key='event_id',
) }}

{#- One row per affiliate click (deduplicated in silver), merged on event_id. -#}
select
    event_id,
    ts,
    session_id,
    user_id_hash,
    affiliate_link_id,
    affiliate_target,
    coalesce(payout_cents, 0) as payout_cents,
    ab_variant,
    geo_country,
    is_bot,
    event_dt
from {{ ref('silver_events') }}
where event_type = 'affiliate_click'
    and {{ in_rebuild_days('event_dt') }}
