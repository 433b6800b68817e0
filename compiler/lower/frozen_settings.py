"""The base of every experiment settings block: a frozen pydantic model that refuses unknown
settings, non-finite numbers and `true` where a number belongs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from genolang.compiler.lower.config_checks import bool_for_number

__all__ = ["FrozenSettings"]


class FrozenSettings(BaseModel):
    # allow_inf_nan=False: `1e999`, `nan` and `inf` are refused where the spec gives them,
    # instead of training to a NaN loss
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads `seed = true` as 1: a typo that would silently become a setting
        if bool_for_number(cls.model_fields[info.field_name].annotation, value):
            raise ValueError(f"expects a number, not `{str(value).lower()}`")
        return value
