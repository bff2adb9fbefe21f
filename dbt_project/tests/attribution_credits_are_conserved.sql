{#- Conservation: under every model, each conversion's credit shares add up to exactly 1 and
    its revenue credited to exactly its revenue. -#}
{{ config(meta={'dagster': {'ref': {'name': 'fact_attribution'}}}) }}
select
    conversion_id,
    attribution_model,
    sum(credit_share) as credit_shares,
    sum(revenue_credited_cents) as revenue_credited_cents,
    max(revenue_cents) as revenue_cents
from {{ ref('fact_attribution') }}
group by conversion_id, attribution_model
having
    sum(credit_share) <> 1
    or sum(revenue_credited_cents) <> max(revenue_cents)
    or min(revenue_cents) <> max(revenue_cents)
