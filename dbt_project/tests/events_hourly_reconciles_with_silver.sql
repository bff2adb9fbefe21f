{#- Reconciliation, day by day: agg_events_hourly and fact_clicks add up to silver_events
    (events, human events, affiliate payout). -#}
{{ config(meta={'dagster': {'ref': {'name': 'agg_events_hourly'}}}) }}
with hourly as (
    select
        event_dt,
        sum(events) as events,
        sum(human_events) as human_events,
        sum(payout_cents) as payout_cents
    from {{ ref('agg_events_hourly') }}
    group by event_dt
),

facts as (
    select
        event_dt,
        count(*) as events,
        count(case when not is_bot then 1 end) as human_events,
        sum(payout_cents) as payout_cents
    from {{ ref('fact_clicks') }}
    group by event_dt
),

silver as (
    select
        event_dt,
        count(*) as events,
        count(case when not is_bot then 1 end) as human_events,
        sum(
            case when event_type = 'affiliate_click' then coalesce(payout_cents, 0) else 0 end
        ) as payout_cents
    from {{ ref('silver_events') }}
    group by event_dt
)

select
    silver.event_dt,
    silver.events as silver_events,
    hourly.events as hourly_events,
    facts.events as fact_events,
    silver.payout_cents as silver_payout_cents,
    hourly.payout_cents as hourly_payout_cents,
    facts.payout_cents as fact_payout_cents
from silver
full outer join hourly on silver.event_dt = hourly.event_dt
full outer join facts on coalesce(silver.event_dt, hourly.event_dt) = facts.event_dt
where not {{ null_safe_equal('silver.events', 'hourly.events') }}
    or not {{ null_safe_equal('silver.events', 'facts.events') }}
    or not {{ null_safe_equal('silver.human_events', 'hourly.human_events') }}
    or not {{ null_safe_equal('silver.human_events', 'facts.human_events') }}
    or not {{ null_safe_equal('silver.payout_cents', 'hourly.payout_cents') }}
    or not {{ null_safe_equal('silver.payout_cents', 'facts.payout_cents') }}
