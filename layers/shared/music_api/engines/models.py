"""An engine of the catalogue, as stored and as listed (docs/data-model.md, the engine catalogue)."""

import re
from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from music_api.core.stored import StoredNumber

ENGINE_KEY_PATTERN: Final = re.compile(r"[a-z][a-z0-9_-]{1,31}")
ENGINE_KEY_RULE: Final = "must be 2 to 32 lowercase letters, digits, '_' or '-', starting with a letter"
# One Query page holds far more; the listing has no paging, so the catalogue stays small by design.
MAX_ENGINES: Final = 100
LANGUAGE_PATTERN: Final = r"^[a-z]{2,3}(-[A-Z]{2})?$"
# Which code runs the engine (music_api.worker.registry) and its operator-set settings, which that code validates.
IMPLEMENTATION_PATTERN: Final = r"^[a-z][a-z0-9_]{1,31}$"
SETTING_NAME_PATTERN: Final = r"^[a-z][a-z0-9_]{0,39}$"
MAX_SETTINGS: Final = 30


def _plain_number(value: object) -> object:
    """DynamoDB hands numbers back as Decimal: a whole one is an int, any other a float, as they were put."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# A setting's value: text, a number or a flag.
SettingValue = Annotated[
    StrictBool | StrictInt | StrictFloat | Annotated[StrictStr, Field(max_length=500)], BeforeValidator(_plain_number)
]
# The licence classes a track can carry (generation-family.md, "Get a track"); an engine's is what its tracks get.
LicenceClass = Literal["commercial_cleared", "commercial_enterprise", "personal_only", "unclear"]


def is_engine_key(value: str) -> bool:
    return ENGINE_KEY_PATTERN.fullmatch(value) is not None


class Engine(BaseModel):
    """What a client may know of an engine: listed by GET /engines, checked by create."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: Annotated[str, Field(pattern=f"^{ENGINE_KEY_PATTERN.pattern}$", max_length=32)]
    # DynamoDB hands numbers back as Decimal: a number is required, a whole one by int's own check.
    max_duration_seconds: Annotated[int, Field(ge=1, le=3600), StoredNumber]
    vocals: StrictBool
    lyrics: StrictBool
    stems: StrictBool
    languages: Annotated[list[Annotated[str, Field(pattern=LANGUAGE_PATTERN, max_length=6)]], Field(max_length=50)]
    licence_class: LicenceClass
    commercial_use: StrictBool
    requires_attribution: StrictBool


class StoredEngine(Engine):
    """The catalogue item: the listed fields, whether operators have it switched on, and what runs it (never
    listed: a client knows an engine by what it does, not by how)."""

    enabled: StrictBool
    implementation: Annotated[str, Field(pattern=IMPLEMENTATION_PATTERN)]
    settings: Annotated[
        dict[Annotated[str, Field(pattern=SETTING_NAME_PATTERN)], SettingValue], Field(max_length=MAX_SETTINGS)
    ] = {}

    def listed(self) -> Engine:
        return Engine.model_validate(self.model_dump(exclude={"enabled", "implementation", "settings"}))


class EngineList(BaseModel):
    """The body of GET /engines: the enabled engines, by key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engines: Annotated[list[Engine], Field(max_length=MAX_ENGINES)]
