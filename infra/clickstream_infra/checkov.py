"""Inline checkov suppressions: each one names the check and says why it does not apply."""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct


def skip_check(construct: IConstruct, check_id: str, reason: str) -> None:
    """Record ``Metadata.checkov.skip`` on the construct's CloudFormation resource."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    if len(reason) < 20:
        raise ValueError(f"the suppression of {check_id} needs a real justification")
    metadata = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"].append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", metadata)
