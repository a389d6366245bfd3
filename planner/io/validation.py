"""Schema validation: strict, frozen records and one clear message for the first problem."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import NO_VALUE, InputError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base of every schema record: unknown keys, coercions and NaN/inf are refused; immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def clock_time(value: str) -> str:
    """A daily clock time HH:MM from 00:00 to 24:00, or ValueError."""
    if not _CLOCK.match(value):
        raise ValueError("must be a clock time HH:MM (00:00 to 24:00)")
    return value


def iso_with_offset(value: str) -> str:
    """An ISO 8601 date-time with a UTC offset (local clocks come from it), or ValueError."""
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time such as 2025-02-27T12:00:00+08:00") from None
    if moment.tzinfo is None:
        raise ValueError("needs a UTC offset (+08:00): local clocks come from it")
    return value


def known_time_zone(value: str) -> str:
    """An IANA time zone name that this machine knows (zoneinfo, with the tzdata package), or ValueError."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone, such as Asia/Shanghai or Europe/Berlin") from None
    return value


_PROBLEMS = {
    "extra_forbidden": "unknown key",
    "missing": "required field is missing",
}


def dotted(loc: tuple[Any, ...]) -> str:
    """('served_models', 'r1', 'prices', 'output') -> 'served_models.r1.prices.output'."""
    parts = [str(p) for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
    return ".".join(parts) or "(top level)"


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # pydantic adds union/type tags ('int', 'none', 'constrained-float') to a location; drop them.
    tags = {"int", "float", "str", "bool", "none", "list[str]", "dict[str,str]", "constrained-float",
            "constrained-int", "lax-or-strict[lax=function-after[parse(), str],strict=function-after[parse(), str]]"}
    return tuple(p for p in loc if not (isinstance(p, str) and (p in tags or "[" in p)))


def validate(schema: type[M], raw: dict[str, Any], file: str) -> M:
    """`schema.model_validate(raw)`, turning the first error into an InputError naming file and field."""
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        loc = _clean_loc(first["loc"])
        problem = _PROBLEMS.get(first["type"], first["msg"].removeprefix("Value error, "))
        value = NO_VALUE if first["type"] == "missing" else first.get("input", NO_VALUE)
        if isinstance(value, dict) and first["type"] not in ("extra_forbidden",):
            value = NO_VALUE
        more = {(_clean_loc(e["loc"]), e["type"]) for e in errors[1:]} - {(loc, first["type"])}
        if more:
            problem += f" (and {len(more)} more problem{'s' if len(more) > 1 else ''})"
        raise InputError(file, dotted(loc), value, problem) from None
