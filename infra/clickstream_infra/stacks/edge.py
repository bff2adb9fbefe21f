"""The CloudFront web ACL: WAF managed rules and a per-IP rate limit, with its logs.

CloudFront only takes web ACLs created in us-east-1. When the deployment's region is us-east-1
the ACL lives in the ingest stack; elsewhere in this small edge stack in us-east-1, which the
ingest stack references across regions.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from clickstream_infra import names
from clickstream_infra.config import DeploymentConfig
from clickstream_infra.stacks.common import allow_log_encryption, customer_key, encrypted_log_group
from streaming.contracts.settings import Settings

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


class EdgeStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        config: DeploymentConfig,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = customer_key(self, names.key_alias(settings, "edge"), "clickstream WAF logs")
        allow_log_encryption(key)
        self.web_acl = web_acl(self, settings, config, key)


def web_acl(
    scope: Construct, settings: Settings, config: DeploymentConfig, key: kms.Key
) -> wafv2.CfnWebACL:
    rules = [
        wafv2.CfnWebACL.RuleProperty(
            name="rate-limit-per-ip",
            priority=0,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=config.waf_rate_limit_per_ip, aggregate_key_type="IP"
                )
            ),
            visibility_config=_visibility("rate-limit-per-ip"),
        )
    ]
    for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_visibility(group),
            )
        )
    acl = wafv2.CfnWebACL(
        scope,
        "WebAcl",
        name=names.web_acl_name(settings),
        scope="CLOUDFRONT",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility(names.web_acl_name(settings)),
        rules=rules,
    )
    waf_logs = encrypted_log_group(
        scope, "WafLogs", names.waf_log_group_name(settings), key, config
    )
    wafv2.CfnLoggingConfiguration(
        scope,
        "WafLogging",
        resource_arn=acl.attr_arn,
        # WAF takes the log group's ARN without the ":*" suffix of its Arn attribute.
        log_destination_configs=[
            Stack.of(scope).format_arn(
                service="logs",
                resource="log-group",
                resource_name=waf_logs.log_group_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        ],
        # Keep only what WAF blocked or counted: logging every allowed event would cost more
        # than the web ACL itself at the project's event rates.
        logging_filter={
            "DefaultBehavior": "DROP",
            "Filters": [
                {
                    "Behavior": "KEEP",
                    "Requirement": "MEETS_ANY",
                    "Conditions": [
                        {"ActionCondition": {"Action": "BLOCK"}},
                        {"ActionCondition": {"Action": "COUNT"}},
                    ],
                }
            ],
        },
    )
    return acl


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True,
        metric_name=metric_name.replace("-", ""),
        sampled_requests_enabled=True,
    )
