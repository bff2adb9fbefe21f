"""The real-time path: minute marts kept from the Kinesis stream.

In ``aws`` they are Redshift streaming materialised views and views over them
(``redshift/*.sql``, applied by :mod:`streaming.realtime.redshift_apply`). Locally a second
reader of the stream (:mod:`streaming.realtime.consumer`) keeps the same marts, with the same
names and columns, in DuckDB under the local home. :mod:`lakehouse.realtime_reconcile` compares
them with the batch tables.
"""
