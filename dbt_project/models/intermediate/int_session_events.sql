{#-
  Events that may belong to the sessions this run rebuilds, each with its session key. The run
  rewrites the session partitions of its event days widened by one day (silver_sessions'
  `rewrite_widen_days`); a session is rebuilt whole: events are read one day beyond that on
  both sides, and silver_sessions keeps only the sessions that start inside it (their
  partition is the start date). A session may span at most two consecutive days for this to
  hold. Ordering events within their session is left to silver_sessions, which does it in the
  one window pass that computes the session's attributes.
  Events without a session id are sessionised per user: a new session starts after
  `session_gap_minutes` of inactivity; its key is derived from the user and its first event,
  so it is the same on every run. An event with neither gets a session of its own.
  The events are read twice, not through one CTE: DuckDB materializes a CTE referenced more
  than once, which at 10 M events spilled and tripled the time.
-#}
with orphans as (
    select
        event_id,
        user_id_hash,
        ts,
        case
            when lag(ts) over (partition by user_id_hash order by ts, event_id) is null then 1
            when ts > lag(ts) over (partition by user_id_hash order by ts, event_id)
                + interval '{{ var("session_gap_minutes") }}' minute then 1
            else 0
        end as starts_session
    from {{ ref('silver_events') }}
    where
        {{ in_rebuild_days('event_dt', widen=2) }}
        and session_id is null
        and user_id_hash is not null
),

orphan_runs as (
    select
        event_id,
        user_id_hash,
        ts,
        sum(starts_session) over (
            partition by user_id_hash order by ts, event_id rows unbounded preceding
        ) as run_number
    from orphans
),

orphan_keys as (
    select
        event_id,
        'derived-' || {{ dbt.hash(
            "user_id_hash || '|' || " ~ timestamp_key(
                "min(ts) over (partition by user_id_hash, run_number)"
            )
        ) }} as derived_session_id
    from orphan_runs
),

keyed as (
    select
        events.*,
        coalesce(
            events.session_id,
            orphan_keys.derived_session_id,
            'event-' || events.event_id
        ) as session_key
    from {{ ref('silver_events') }} as events
    left join orphan_keys on events.event_id = orphan_keys.event_id
    where {{ in_rebuild_days('events.event_dt', widen=2) }}
)

select *
from keyed
