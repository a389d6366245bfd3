"""Results of a solved model as tidy tables: one helper for variables and expressions, indexed by
their index set's names (GridPath's way: each family exports its own tables through it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo


def component_frame(component, names: list[str], column: str) -> pd.DataFrame:
    """A table of an indexed variable's or expression's values: one row per index, columns
    `names` + `column`; a variable without a value reads 0."""
    keys = list(component.keys())
    if component.ctype is pyo.Var:
        values = (component[k].value if component[k].value is not None else 0.0 for k in keys)
    else:
        values = (pyo.value(component[k]) for k in keys)
    array = np.fromiter(values, float, len(keys))
    index = pd.MultiIndex.from_tuples([k if isinstance(k, tuple) else (k,) for k in keys], names=names)
    return pd.DataFrame({column: array}, index=index).reset_index()


def rounded(frame: pd.DataFrame, column: str, factor: int = 1) -> pd.DataFrame:
    """`column` rounded to whole numbers (HiGHS returns integers within 1e-6), times `factor`."""
    frame[column] = (frame[column].round() * factor).astype(np.int64)
    return frame


def consecutive_runs(periods: list[int]) -> list[tuple[int, ...]]:
    """[3, 4, 5, 8, 9] -> [(3, 4, 5), (8, 9)]."""
    out: list[list[int]] = []
    for t in periods:
        if out and t == out[-1][-1] + 1:
            out[-1].append(t)
        else:
            out.append([t])
    return [tuple(s) for s in out]
