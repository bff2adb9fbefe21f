"""The HTTP ingest: validation, consent, privacy and enrichment of client events, shared by the
ASGI server and the Lambda handler."""
