{{ config(unique_key='date_day') }}

{#- One row per calendar day from the first to the last event date of silver_events, rebuilt
    whole on every run (at most 10,000 days). -#}
with bounds as (
    select
        min(event_dt) as first_day,
        max(event_dt) as last_day
    from {{ ref('silver_events') }}
),

digits as (
    select digits.digit
    from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as digits (digit)
),

offsets as (
    select units.digit + 10 * tens.digit + 100 * hundreds.digit + 1000 * thousands.digit as n
    from digits as units
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
),

days as (
    select cast(bounds.first_day + offsets.n * interval '1' day as date) as date_day
    from bounds
    cross join offsets
    where offsets.n <= date_diff('day', bounds.first_day, bounds.last_day)
)

select
    date_day,
    cast(year(date_day) as integer) as year_number,
    cast(month(date_day) as integer) as month_number,
    cast(day(date_day) as integer) as day_of_month,
    cast(mod(date_diff('day', date '2000-01-03', date_day), 7) + 1 as integer) as iso_day_of_week,
    mod(date_diff('day', date '2000-01-03', date_day), 7) >= 5 as is_weekend,
    {{ week_start('date_day') }} as week_start,
    cast(date_trunc('month', date_day) as date) as month_start
from days
