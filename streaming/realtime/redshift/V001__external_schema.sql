-- The Kinesis event stream as an external schema: Redshift reads it with the streaming role.
CREATE EXTERNAL SCHEMA IF NOT EXISTS ${external_schema}
FROM KINESIS
IAM_ROLE '${iam_role_arn}';
