"""Event contract, ingest, stream producer, Firehose-equivalent delivery and real-time marts."""
