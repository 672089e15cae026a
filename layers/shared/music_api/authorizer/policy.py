"""The IAM policy a REQUEST authorizer returns: one Allow for the caller's organizations, or Deny all.

Written out rather than built with Powertools' authorizer data classes, whose package import alone adds
about 50 ms to every cold start (docs/performance.md); the output has the same shape.
"""

import re
from typing import Any, Final

# arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<method>/<path>. The path is the client's and may hold
# any character, line breaks included (DOTALL): only the API and stage are taken from it.
_METHOD_ARN: Final = re.compile(r"(arn:[\w-]+:execute-api:[\w-]+:\d{12}:[A-Za-z0-9]+/[\w-]+)/[A-Z]+/.*", re.DOTALL)
# The family's routes a member may call, per organization ("<METHOD>/<path>", * as in IAM: any characters,
# slashes included, so GET .../generations/* covers one job but not the list, and no GET covers a POST).
ROUTES: Final = (
    "GET/v1/music/{organization_id}/generations",
    "GET/v1/music/{organization_id}/generations/*",
    "POST/v1/music/{organization_id}/generations",
    "POST/v1/music/{organization_id}/generations/*/cancel",
    "GET/v1/music/{organization_id}/engines",
    "GET/v1/music/{organization_id}/tracks/*",
)


class MalformedMethodArnError(ValueError):
    """The event's methodArn is not an API Gateway method ARN: a gateway misconfiguration."""


def authorizer_policy(
    method_arn: str, principal_id: str, organization_ids: list[str], context: dict[str, str]
) -> dict[str, Any]:
    """Allow every route of ``ROUTES`` in every organization for the API and stage of ``method_arn``; with no
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
