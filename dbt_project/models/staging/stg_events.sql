{#- Bronze rows of the run's event days (macros/window.sql), flattened, empty strings as nulls.
    Ephemeral; its select is the macro `staged_bronze_events` (macros/staging.sql). Only the ingest dates that can hold those days are read. -#}

{{ staged_bronze_events() }}
