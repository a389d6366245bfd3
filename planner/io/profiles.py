"""Reading profiles (models/*.yaml)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .files import read_yaml_mapping
from .schema.profile import Profile
from .validation import validate


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
