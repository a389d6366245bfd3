"""Field types and records shared by every schema, and `described`, which documents a field.

Every field of every schema carries its documentation here, in code: a description (its
meaning, with the symbol the formulation uses) and, where it has one, a unit. The field tables of
docs/formats.md are generated from them (planner/report/docs.py); tests/test_docs.py fails when
the file is stale.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticUndefined

from ..validation import Strict, clock_time

#: A name that `--set` can reach: no dots.
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_@+-]*$"
Name = Annotated[str, Field(min_length=1, pattern=NAME_PATTERN)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]


def described(description: str, default: Any = PydanticUndefined, *, unit: str | None = None,
              source: str | None = None, **constraints: Any) -> Any:
    """A pydantic Field with its documentation: what it means, its unit, and where a shipped
    default comes from. `default` omitted: the field is required."""
    extra = {key: value for key, value in (("unit", unit), ("source", source)) if value}
    return Field(default, description=" ".join(description.split()), json_schema_extra=extra or None,
                 **constraints)


class Prices(Strict):
    """List prices in USD per million tokens."""

    input_cache_hit: NonNegative = described("An input token found in the KV cache.",
                                             unit="USD per million tokens")
    input_cache_miss: NonNegative = described("An input token not in the cache.", unit="USD per million tokens")
    output: NonNegative = described("An output (generated) token.", unit="USD per million tokens")


class ClockWindow(Strict):
    """A daily clock window [start, end); past midnight when end is not after start."""

    start: str = described("Start of the window on the local clock (`horizon.time_zone`, else `horizon.start`'s UTC offset), a quoted "
                           "`\"HH:MM\"` from `\"00:00\"` to `\"24:00\"`; two-digit hours (`\"9:00\"` is refused).",
                           unit="clock time")
    end: str = described("End of the window (exclusive), as `start`. Not after `start`: the window runs past "
                         "midnight; equal to `start`: the whole day.", unit="clock time")

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        return clock_time(value)


class Sourced(Strict):
    """Every figure says where it comes from, or that it is an assumption."""

    source: str | None = described(
        "Where the figures of this item come from; an empty text counts as none.", None)
    assumption: bool = described(
        "`true`: the figures are assumptions. Required (`true`) when there is no `source`.", False)

    @model_validator(mode="after")
    def _sourced(self):
        if not self.source and not self.assumption:
            raise ValueError("give a source, or set assumption: true")
        return self
