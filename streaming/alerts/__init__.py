"""Key-event alerts: rules from the settings evaluated on the stream (locally by a reader of the
stream, on AWS by a Lambda), each alert delivered at least once to the configured sinks."""
