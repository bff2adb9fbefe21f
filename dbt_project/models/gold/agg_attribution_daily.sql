{{ config(
    partitioned_by=['event_dt'],
    rewrite_column='event_dt',
    rewrite_widen_days=var('attribution_lookback_days'),
    unique_key=['event_dt', 'attribution_model', 'channel', 'campaign'],
    pre_hook="{{ delete_rewritten_days('event_dt', var('attribution_lookback_days')) }}",
) }}

{#- Conversions and revenue credited per conversion day × attribution model × channel ×
    campaign ('(none)' without one), from fact_attribution; rebuilt over the same days. -#}
select
    event_dt,
    attribution_model,
    channel,
    coalesce(campaign, '(none)') as campaign,
    cast(sum(credit_share) as decimal(20, 12)) as conversions,
    cast(sum(revenue_credited_cents) as bigint) as revenue_credited_cents,
    cast(count(distinct conversion_id) as integer) as credited_conversions
from {{ ref('fact_attribution') }}
where {{ in_rebuild_days('event_dt', widen=var('attribution_lookback_days')) }}
group by event_dt, attribution_model, channel, coalesce(campaign, '(none)')
