{#- Reconciliation: the funnel's payouts add up to the affiliate clicks' payouts. -#}
{#- Whole-table invariant: it cannot be cut at day boundaries (a session's events and clicks
    can fall on the next day), so it warns rather than blocks; the day's gates are exact. -#}
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fact_funnel'}}}) }}
with funnel as (
    select coalesce(sum(payout_cents), 0) as payout_cents from {{ ref('fact_funnel') }}
),

clicks as (
    select coalesce(sum(payout_cents), 0) as payout_cents from {{ ref('fact_affiliate_clicks') }}
)

select
    funnel.payout_cents as funnel_payout_cents,
    clicks.payout_cents as clicks_payout_cents
from funnel cross join clicks
where funnel.payout_cents <> clicks.payout_cents
