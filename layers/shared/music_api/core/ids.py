"""Identifier formats. Path parameters are checked against these before they reach DynamoDB or an ARN."""

import re
from typing import Final

# ASCII letters and digits only: no separators, wildcards or look-alike characters can reach a key or an ARN.
JOB_ID_PATTERN: Final = re.compile(r"mgen_[A-Za-z0-9]{8,64}")
ORGANIZATION_ID_PATTERN: Final = re.compile(r"org_[A-Za-z0-9]{3,64}")
USER_ID_PATTERN: Final = re.compile(r"usr_[A-Za-z0-9]{3,64}")
TRACK_ID_PATTERN: Final = re.compile(r"mtrack_[A-Za-z0-9]{8,64}")
# The longest value each pattern accepts (prefix + 64), published as maxLength in docs/openapi.yaml.
JOB_ID_MAX_LENGTH: Final = len("mgen_") + 64
ORGANIZATION_ID_MAX_LENGTH: Final = len("org_") + 64
TRACK_ID_MAX_LENGTH: Final = len("mtrack_") + 64

JOB_ID_RULE: Final = "must be 'mgen_' followed by 8 to 64 ASCII letters or digits"
ORGANIZATION_ID_RULE: Final = "must be 'org_' followed by 3 to 64 ASCII letters or digits"
TRACK_ID_RULE: Final = "must be 'mtrack_' followed by 8 to 64 ASCII letters or digits"


def anchored(pattern: re.Pattern[str]) -> str:
    """The pattern for pydantic's ``Field(pattern=...)``, which searches rather than matching whole strings."""
    return f"^(?:{pattern.pattern})$"


def is_job_id(value: str) -> bool:
    return JOB_ID_PATTERN.fullmatch(value) is not None


def is_organization_id(value: str) -> bool:
    return ORGANIZATION_ID_PATTERN.fullmatch(value) is not None


def is_user_id(value: str) -> bool:
    return USER_ID_PATTERN.fullmatch(value) is not None


def is_track_id(value: str) -> bool:
    return TRACK_ID_PATTERN.fullmatch(value) is not None
