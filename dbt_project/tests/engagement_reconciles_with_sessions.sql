{#- Reconciliation, day by day: agg_engagement_daily adds up to the human sessions of
    silver_sessions (sessions, page views, affiliate clicks, payout). Both are keyed by the
    session's start date, so the days match exactly. -#}
{{ config(meta={'dagster': {'ref': {'name': 'agg_engagement_daily'}}}) }}
with mart as (
    select
        event_dt,
        sum(sessions) as sessions,
        sum(pageviews) as pageviews,
        sum(affiliate_clicks) as affiliate_clicks,
        sum(payout_cents) as payout_cents
    from {{ ref('agg_engagement_daily') }}
    group by event_dt
),

silver as (
    select
        event_dt,
        count(*) as sessions,
        sum(pageviews) as pageviews,
        sum(affiliate_clicks) as affiliate_clicks,
        sum(payout_cents) as payout_cents
    from {{ ref('silver_sessions') }}
    where not is_bot
    group by event_dt
)

select
    coalesce(mart.event_dt, silver.event_dt) as event_dt,
    mart.sessions as mart_sessions,
    silver.sessions as silver_sessions,
    mart.pageviews as mart_pageviews,
    silver.pageviews as silver_pageviews,
    mart.payout_cents as mart_payout_cents,
    silver.payout_cents as silver_payout_cents
from mart
full outer join silver on mart.event_dt = silver.event_dt
where not {{ null_safe_equal('mart.sessions', 'silver.sessions') }}
    or not {{ null_safe_equal('mart.pageviews', 'silver.pageviews') }}
    or not {{ null_safe_equal('mart.affiliate_clicks', 'silver.affiliate_clicks') }}
    or not {{ null_safe_equal('mart.payout_cents', 'silver.payout_cents') }}
