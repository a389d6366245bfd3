"""Served-model x hardware profiles: what one node type does for one served model (models/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from .errors import InputError
from .files import read_yaml_mapping
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


class DecodeProfile(Strict):
    """Decode: output tokens generated per second by one node."""

    unit_nodes: Annotated[int, Field(ge=1)]
    output_tokens_per_s_per_node: Positive


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
