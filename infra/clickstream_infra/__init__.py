"""The AWS deployment of the clickstream lakehouse as a CDK app; every name from the settings."""
