"""Typed results as JSON-ready records: field names are the keys, in declaration order."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def as_record(value: Any) -> Any:
    """A dataclass (recursively) as a dict of plain values; numpy scalars as Python numbers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_record(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: as_record(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_record(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value
