"""Where generated traffic goes: a JSONL file, the landing store, or an ingest over HTTP."""
