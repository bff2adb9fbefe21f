{#- Replaced whole on Athena too: merging a rebuild would keep a stay a late change removed. -#}
{{ config(
    materialized=('lake_table' if target.type == 'duckdb' else 'table'),
    tags=['unpartitioned'],
    partitioned_by=['segment_key'],
    unique_key=['user_id_hash', 'segment_key', 'valid_from'],
) }}

{#-
  SCD2 of segment membership, rebuilt from the complete change log on every run (the log is
  small): one row per stay of a user in a segment, `valid_to` null while still in it.
  A repeated `enter` without a `leave` in between does not open a second row.
-#}
with changes as (
    select
        user_id_hash,
        segment_key,
        action,
        {{ lake_timestamp('as_of_ts') }} as as_of_ts,
        lag(action) over (
            partition by user_id_hash, segment_key order by as_of_ts, action
        ) as previous_action
    from {{ source('lake', 'user_segment_changes') }}
),

transitions as (
    select *
    from changes
    where (previous_action is null and action = 'enter')
        or (previous_action is not null and action <> previous_action)
),

stays as (
    select
        user_id_hash,
        segment_key,
        action,
        as_of_ts,
        lead(as_of_ts) over (
            partition by user_id_hash, segment_key order by as_of_ts
        ) as next_change_ts
    from transitions
)

select
    user_id_hash,
    segment_key,
    as_of_ts,
    as_of_ts as valid_from,
    next_change_ts as valid_to
from stays
where action = 'enter'
