"""Reading a sweep spec (sweeps/*.yaml): its schema checked, its base instance found."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .files import read_yaml_mapping
from .schema.sweep import SweepSpec
from .validation import validate


def load_sweep_spec(path: str | Path) -> tuple[SweepSpec, Path]:
    """The spec and its base instance's path (relative to the spec). Raises InputError."""
    path = Path(path)
    spec = validate(SweepSpec, read_yaml_mapping(path), str(path))
    base = (path.parent / spec.base).resolve()
    if not base.is_file():
        raise InputError(path, "base", spec.base, f"file not found: {base}")
    if not spec.grid and not spec.cases:
        raise InputError(path, "grid", None, "a sweep needs a grid or a list of cases")
    return spec, base
