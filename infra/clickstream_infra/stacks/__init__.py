"""One module per stack; ``clickstream_infra.app`` wires them together."""
