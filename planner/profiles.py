"""Served-model x hardware profiles: what one node type does for one served model (models/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from .errors import InputError
from .files import read_yaml_mapping
from .slo import interpolate_operating_point
from .validation import Strict, validate

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]


class PrefillProfile(Strict):
    """Prefill: input tokens processed per second by one node, measured at a cache-hit share."""

    unit_nodes: Annotated[int, Field(ge=1)]
    input_tokens_per_s_per_node: Positive
    cache_hit_share_at_measurement: Share
    cache_hit_relative_cost: Annotated[float, Field(gt=0, le=1)]  # a hit still loads its KV cache
    servers_per_unit: Annotated[int, Field(ge=1)] = 1  # prompts a unit prefills side by side (DP ranks)


class OperatingPoint(Strict):
    """What one decode node generates when each user sees `tokens_per_s_per_user`."""

    tokens_per_s_per_user: Positive
    output_tokens_per_s_per_node: Positive


class DecodeProfile(Strict):
    """Decode: output tokens generated per second by one node, measured at a per-user speed.

    `operating_points` (optional) give the throughput at other speeds; they must pass through
    the measured point, speeds strictly increasing and throughputs not increasing.
    """

    unit_nodes: Annotated[int, Field(ge=1)]
    output_tokens_per_s_per_node: Positive
    tokens_per_s_per_user: Positive | None = None
    operating_points: list[OperatingPoint] = []

    @model_validator(mode="after")
    def _table_is_monotone_and_holds_the_measured_point(self) -> "DecodeProfile":
        points = self.operating_points
        if not points:
            return self
        if self.tokens_per_s_per_user is None:
            raise ValueError("operating_points need tokens_per_s_per_user, the speed of the measured point")
        for before, after in zip(points, points[1:]):
            if after.tokens_per_s_per_user <= before.tokens_per_s_per_user:
                raise ValueError("operating_points must have strictly increasing tokens_per_s_per_user")
            if after.output_tokens_per_s_per_node > before.output_tokens_per_s_per_node:
                raise ValueError("operating_points must not gain throughput at a faster per-user speed")
        if self.tokens_per_s_per_user > points[-1].tokens_per_s_per_user:
            raise ValueError(f"the measured speed {self.tokens_per_s_per_user} tokens/s per user is faster than "
                             f"the fastest operating point ({points[-1].tokens_per_s_per_user})")
        at_anchor = self.throughput_at(self.tokens_per_s_per_user)
        if abs(at_anchor / self.output_tokens_per_s_per_node - 1) > 0.005:
            raise ValueError(f"operating_points give {at_anchor:g} tokens/s per node at "
                             f"{self.tokens_per_s_per_user} tokens/s per user, not the measured "
                             f"{self.output_tokens_per_s_per_node:g}")
        return self

    def throughput_at(self, speed: float | None) -> float | None:
        """Output tokens/s per node at a per-user speed (None: the measured point); None when the
        speed is faster than the table's fastest point (or than the measured speed, without a table)."""
        if speed is None or speed == self.tokens_per_s_per_user:
            return self.output_tokens_per_s_per_node
        if not self.operating_points:
            measured = self.tokens_per_s_per_user
            return self.output_tokens_per_s_per_node if measured is not None and speed <= measured else None
        return interpolate_operating_point([p.tokens_per_s_per_user for p in self.operating_points],
                                           [p.output_tokens_per_s_per_node for p in self.operating_points], speed)

    def fastest_speed(self) -> float | None:
        if self.operating_points:
            return self.operating_points[-1].tokens_per_s_per_user
        return self.tokens_per_s_per_user


class Profile(Strict):
    """One served model on one node type. Throughputs are per node, in tokens per second."""

    name: str
    served_model: str
    node_type: str
    gpus_per_node: Annotated[int, Field(ge=1)]
    prefill: PrefillProfile
    decode: DecodeProfile
    sources: Annotated[list[str], Field(min_length=1)]
    notes: str = ""

    def prefill_miss_equivalents_per_token_at_measurement(self) -> float:
        """Prefill work of one token at the measured mix, in cache-miss tokens: (1 - s) + h s."""
        s = self.prefill.cache_hit_share_at_measurement
        return (1.0 - s) + self.prefill.cache_hit_relative_cost * s


def load_profile(models_dir: Path, name: str, referenced_from: str, field: str) -> Profile:
    """Load models_dir/NAME.yaml. A missing profile is an error of the instance field naming it."""
    path = Path(models_dir) / f"{name}.yaml"
    if not path.is_file():
        raise InputError(referenced_from, field, name, f"unknown profile: no file {path}")
    profile = validate(Profile, read_yaml_mapping(path), str(path))
    expected = f"{profile.served_model}@{profile.node_type}"
    if profile.name != expected:
        raise InputError(path, "name", profile.name, f"must be served_model@node_type, here {expected!r}")
    if profile.name != name:
        raise InputError(path, "name", profile.name, f"must match the file name {name!r}")
    return profile
