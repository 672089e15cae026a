"""How API Gateway applies a Lambda authorizer's policy to a method ARN.

An explicit Deny wins; otherwise some Allow must match. In ``Resource`` and ``Action`` a ``*`` matches any run
of characters (``/`` and line breaks included) and ``?`` any single character, as in IAM.
"""

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

INVOKE = "execute-api:Invoke"


@cache
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [item for item in value if isinstance(item, str)]
    return []


def _matches(statement: Mapping[str, Any], method_arn: str) -> bool:
    actions = _as_list(statement.get("Action"))
    resources = _as_list(statement.get("Resource"))
    return any(_wildcard(action).fullmatch(INVOKE) for action in actions) and any(
        _wildcard(resource).fullmatch(method_arn) for resource in resources
    )


def is_allowed(authorizer_response: Mapping[str, Any], method_arn: str) -> bool:
    """Whether the authorizer's ``policyDocument`` lets the caller invoke ``method_arn``."""
    document = authorizer_response.get("policyDocument", {})
    statements = _as_list_of_mappings(document.get("Statement"))
    if any(s.get("Effect") == "Deny" and _matches(s, method_arn) for s in statements):
        return False
    return any(s.get("Effect") == "Allow" and _matches(s, method_arn) for s in statements)


def _as_list_of_mappings(value: object) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, Mapping)]
    return []
