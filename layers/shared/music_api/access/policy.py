"""The IAM policy a REQUEST authorizer returns: one Allow for the caller's organizations, or Deny all.

Written out rather than built with Powertools' authorizer data classes, whose package import alone adds
about 50 ms to every cold start (docs/performance.md); the output has the same shape.
"""

import re
from typing import Any, Final

# arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<method>/<path>
_METHOD_ARN: Final = re.compile(r"(arn:[\w-]+:execute-api:[\w-]+:\d{12}:[A-Za-z0-9]+/[\w-]+)/[A-Z]+/.*")
# Every route of the generation family, per organization: GET the list; GET one job; POST its cancel.
ROUTES: Final = (
    "GET/v1/music/{organization_id}/generations",
    "GET/v1/music/{organization_id}/generations/*",
    "POST/v1/music/{organization_id}/generations/*/cancel",
)


class MalformedMethodArnError(ValueError):
    """The event's methodArn is not an API Gateway method ARN: a gateway misconfiguration."""


def authorizer_policy(
    method_arn: str, principal_id: str, organization_ids: list[str], context: dict[str, str]
) -> dict[str, Any]:
    """Allow the family's routes on every organization for the API and stage of ``method_arn``; with no
    organization, deny everything. Organization ids must already be validated (no wildcards)."""
    match = _METHOD_ARN.fullmatch(method_arn)
    if match is None:
        raise MalformedMethodArnError("methodArn is not an execute-api method ARN")
    stage_arn = match.group(1)
    if organization_ids:
        statement = {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": [
                f"{stage_arn}/{route.format(organization_id=org)}" for org in organization_ids for route in ROUTES
            ],
        }
    else:
        statement = {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{stage_arn}/*/*"]}
    return {
        "principalId": principal_id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": context,
    }
