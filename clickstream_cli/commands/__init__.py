"""One module per `clickstream` sub-command; heavy imports stay inside the command bodies."""
