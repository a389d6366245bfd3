"""Prompt lengths: a column of a CSV (a request trace works as it is), for an empirical prompt
shape (`workload.prompt_tokens_distribution: empirical`)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import NO_VALUE, InputError
from .files import read_text

#: Fewer lengths than this cannot tell a tail (a p95 needs dozens beyond it).
MIN_PROMPTS = 100


def read_prompt_lengths(path: Path, column: str) -> np.ndarray:
    """The positive prompt lengths in `column` of the CSV at `path`, read-only."""
    text = read_text(path)
    try:
        frame = pd.read_csv(io.StringIO(text), comment="#", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(path, "header", NO_VALUE, f"the file is empty; expected a column {column!r}") from None
    except pd.errors.ParserError as exc:
        raise InputError(path, "", NO_VALUE, f"not a readable CSV table: {str(exc).splitlines()[0]}") from None
    if column not in frame.columns:
        raise InputError(path, "header", column, f"no such column; the file has {list(frame.columns)}")
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"data row {i + 1}, {column}", frame[column].iloc[i],
                         "must be a finite number of tokens > 0")
    if len(values) < MIN_PROMPTS:
        raise InputError(path, column, len(values), f"only {len(values)} prompt lengths; at least {MIN_PROMPTS} "
                         "are needed to tell the tail of their distribution")
    values.setflags(write=False)
    return values
