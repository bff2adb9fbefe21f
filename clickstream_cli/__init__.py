"""The `clickstream` command line: every command of the streaming side and of the lake."""
