"""The space's param models (float, int, categorical, bool) and the field types specs share.

Part of the spec (:mod:`kttui.spec`): the base model that forbids unknown keys
and the validators that refuse values pydantic would coerce silently.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


def _scalar(value: Any) -> Any:
    """Accept exactly str/int/float/bool; pydantic's unions would give 4 errors per item."""
    if isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"must be a number, a string or true/false, not {type(value).__name__}")


Scalar = Annotated[Any, BeforeValidator(_scalar)]

#: Params are stored as floats by Optuna: integers beyond this lose their identity.
MAX_INT_PARAM = 2**53


def _whole(value: Any) -> Any:
    """Counts and seeds: ``true`` is not 1 and ``1e29`` is not a count someone meant."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(value, float):
        raise ValueError(f"must be a whole number written without a decimal point, not {value!r}")
    return value


def _int_param_bound(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(value, int | float) and abs(value) > MAX_INT_PARAM:
        raise ValueError(f"must be within ±2**53 ({MAX_INT_PARAM}); Optuna stores params as floats")
    return value


Whole = Annotated[int, BeforeValidator(_whole)]
OptWhole = Annotated[int | None, BeforeValidator(_whole)]
IntBound = Annotated[int, BeforeValidator(_int_param_bound)]


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FloatParam(SpecModel):
    """A real-valued param; ``log`` samples uniformly in log space, ``step`` discretises."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = Field(default=None, gt=0)


class IntParam(SpecModel):
    """An integer param in ``[low, high]`` (both inclusive)."""

    type: Literal["int"]
    low: IntBound
    high: IntBound
    log: bool = False
    step: Whole = Field(default=1, ge=1)


class CategoricalParam(SpecModel):
    """One of a list of values (numbers keep their order for analysis)."""

    type: Literal["categorical"]
    choices: list[Scalar] = Field(min_length=1)

    @field_validator("choices")
    @classmethod
    def _unique(cls, choices: list[Any]) -> list[Any]:
        seen: set[tuple[type, Any]] = set()  # a set: 200 000 choices must stay linear
        for choice in choices:
            key = (type(choice), choice)
            if key in seen:
                raise ValueError(f"choice {choice!r} is listed twice")
            seen.add(key)
        return choices


class BoolParam(SpecModel):
    """true or false."""

    type: Literal["bool"]


Param = Annotated[FloatParam | IntParam | CategoricalParam | BoolParam, Field(discriminator="type")]
