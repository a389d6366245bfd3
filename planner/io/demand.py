"""Demand tables: the per-period token table of an instance, the scenario table, and series built from a shape."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import NO_VALUE, InputError
from .files import read_text

DEMAND_COLUMNS = ("period", "served_model", "input_tokens", "input_cache_hit_tokens", "output_tokens")
TOKEN_COLUMNS = DEMAND_COLUMNS[2:]


def read_demand_csv(path: Path, served_models: Sequence[str], periods: int) -> dict[str, np.ndarray]:
    """Read and check a demand table: one row per (period, served model), tokens per period.

    Returns {column: array[model, period]} of tokens for each of TOKEN_COLUMNS.
    """
    frame = _demand_frame(path)
    row_of = {i: i + 1 for i in range(len(frame))}  # 1-based data row (header and comments not counted)
    period = _integers(path, frame, "period", row_of)
    tokens = {c: _non_negative_numbers(path, frame, c, row_of) for c in TOKEN_COLUMNS}
    model_index = {m: k for k, m in enumerate(served_models)}
    out = {c: np.full((len(served_models), periods), np.nan) for c in TOKEN_COLUMNS}
    for i, (p, m) in enumerate(zip(period, frame["served_model"])):
        where = f"data row {row_of[i]}"
        if m not in model_index:
            raise InputError(path, f"{where}, served_model", m,
                             f"unknown served model; the instance has {sorted(model_index)}")
        if not 0 <= p < periods:
            raise InputError(path, f"{where}, period", int(p), f"outside the horizon 0..{periods - 1}")
        if not np.isnan(out["input_tokens"][model_index[m], p]):
            raise InputError(path, f"{where}, period", int(p), f"duplicate row for served model {m!r}")
        for c in TOKEN_COLUMNS:
            out[c][model_index[m], p] = tokens[c][i]
        if tokens["input_cache_hit_tokens"][i] > tokens["input_tokens"][i]:
            raise InputError(path, f"{where}, input_cache_hit_tokens", frame["input_cache_hit_tokens"].iloc[i].strip(),
                             f"more than input_tokens ({frame['input_tokens'].iloc[i].strip()})")
    missing = np.argwhere(np.isnan(out["input_tokens"]))
    if len(missing):
        k, p = missing[0]
        raise InputError(path, "period", int(p),
                         f"no row for served model {served_models[k]!r} "
                         f"({len(missing)} (period, model) pairs missing of {out['input_tokens'].size})")
    for array in out.values():
        array.setflags(write=False)
    return out


def _demand_frame(path: Path) -> pd.DataFrame:
    """A demand table's rows as text under its checked header (at least one row)."""
    text = read_text(path)
    try:
        # header=None: the header fixes the number of fields, so a longer row is an error (with a
        # header, pandas would silently read a first row with one field more as an index column).
        frame = pd.read_csv(io.StringIO(text), comment="#", header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(path, "header", NO_VALUE,
                         f"the file is empty; expected the header {','.join(DEMAND_COLUMNS)}") from None
    except pd.errors.ParserError as exc:
        raise InputError(path, "", NO_VALUE, f"not a readable CSV table: {str(exc).splitlines()[0]}") from None
    frame = _with_header(path, frame)
    if frame.empty:
        raise InputError(path, "(rows)", NO_VALUE, "the demand table has no rows")
    return frame


def _with_header(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """Check the first row as the header; return the rows below it under those column names."""
    columns = [c.strip() for c in frame.iloc[0]]
    for c in columns:
        if c not in DEMAND_COLUMNS:
            raise InputError(path, "header", c, f"unknown column; expected {', '.join(DEMAND_COLUMNS)}")
        if columns.count(c) > 1:
            raise InputError(path, "header", c, "duplicate column")
    for c in DEMAND_COLUMNS:
        if c not in columns:
            raise InputError(path, "header", c, "required column is missing")
    rows = frame.iloc[1:].reset_index(drop=True)
    rows.columns = columns
    return rows


def _integers(path: Path, frame: pd.DataFrame, column: str, row_of: dict[int, int]) -> np.ndarray:
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
    bad = values.isna() | ~np.isfinite(values.astype(float)) | (values != values.round())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, f"data row {row_of[i]}, {column}", frame[column].iloc[i], "must be a whole number")
    return values.to_numpy(dtype=np.int64)


def _non_negative_numbers(path: Path, frame: pd.DataFrame, column: str, row_of: dict[int, int]) -> np.ndarray:
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"data row {row_of[i]}, {column}", frame[column].iloc[i],
                         "must be a finite number of tokens >= 0")
    return values


PEAK_COLUMN = "peak_to_mean_ratio"


def read_peaks_csv(path: Path, served_models: Sequence[str], periods: int) -> np.ndarray:
    """Per-period peak-to-mean ratios of arrivals: columns period, served_model and
    peak_to_mean_ratio (other columns ignored: the STEM.stats.csv of planner demand from-trace is
    such a table). Every (period, served model) once; a blank ratio (a period without requests)
    reads 1. Returns [model, period], read-only."""
    text = read_text(path)
    try:
        frame = pd.read_csv(io.StringIO(text), comment="#", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(path, "header", NO_VALUE, f"the file is empty; expected period, served_model, {PEAK_COLUMN}") \
            from None
    except pd.errors.ParserError as exc:
        raise InputError(path, "", NO_VALUE, f"not a readable CSV table: {str(exc).splitlines()[0]}") from None
    for column in ("period", "served_model", PEAK_COLUMN):
        if column not in frame.columns:
            raise InputError(path, "header", column, "required column is missing")
    row_of = {i: i + 1 for i in range(len(frame))}
    period = _integers(path, frame, "period", row_of)
    text_values = frame[PEAK_COLUMN].str.strip()
    values = pd.to_numeric(text_values.replace("", "1"), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 1) | (values > 1000)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"data row {row_of[i]}, {PEAK_COLUMN}", frame[PEAK_COLUMN].iloc[i],
                         "must be a number from 1 to 1000 (the busiest window's rate over the period's mean), "
                         "or blank")
    index = {m: k for k, m in enumerate(served_models)}
    out = np.full((len(served_models), periods), np.nan)
    for i, (p, m) in enumerate(zip(period, frame["served_model"].str.strip())):
        where = f"data row {row_of[i]}"
        if m not in index:
            raise InputError(path, f"{where}, served_model", m, f"unknown served model; the instance has {sorted(index)}")
        if not 0 <= p < periods:
            raise InputError(path, f"{where}, period", int(p), f"outside the horizon 0..{periods - 1}")
        if not np.isnan(out[index[m], p]):
            raise InputError(path, f"{where}, period", int(p), f"duplicate row for served model {m!r}")
        out[index[m], p] = values[i]
    missing = np.argwhere(np.isnan(out))
    if len(missing):
        k, p = missing[0]
        raise InputError(path, "period", int(p), f"no row for served model {served_models[k]!r} "
                         f"({len(missing)} (period, model) pairs missing of {out.size})")
    out.setflags(write=False)
    return out


def series_from_shape(weights: Sequence[float], total: float) -> np.ndarray:
    """Split a daily `total` over periods in proportion to `weights`, as whole tokens summing to it.

    Cumulative rounding keeps the sum exact: round(total * cumsum(w)/sum(w)), then differences.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) == 0 or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError("weights must be a non-empty series of finite numbers >= 0 with a positive sum")
    cumulative = np.rint(total * np.cumsum(w) / w.sum())
    return np.diff(np.concatenate([[0.0], cumulative]))


def read_scenario_csv(path: Path, served_models: Sequence[str], periods: int) -> dict[str, np.ndarray]:
    """A scenario file: the demand columns plus `scenario` (0, 1, ...), every (scenario, period,
    served model) once. Returns {column: [model, S*T]} with scenarios as consecutive blocks."""
    text = read_text(path)
    try:
        frame = pd.read_csv(io.StringIO(text), comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, "", NO_VALUE, f"not a readable CSV table: {str(exc).splitlines()[0]}") from None
    expected = ("scenario", *DEMAND_COLUMNS)
    for column in expected:
        if column not in frame.columns:
            raise InputError(path, "header", column, "required column is missing")
    for column in frame.columns:
        if column not in expected:
            raise InputError(path, "header", column, f"unknown column; expected {', '.join(expected)}")
    numbers = frame[["scenario", "period", *TOKEN_COLUMNS]].apply(pd.to_numeric, errors="coerce")
    bad = numbers.isna() | (numbers < 0) | ~np.isfinite(numbers.astype(float))
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        name = numbers.columns[col]
        raise InputError(path, f"data row {row + 1}, {name}", str(frame[name].iloc[row]), "must be a finite number >= 0")
    if frame.empty:
        raise InputError(path, "(rows)", NO_VALUE, "the scenario table has no rows")
    count = int(numbers["scenario"].max()) + 1
    out = {c: np.full((len(served_models), count * periods), np.nan) for c in TOKEN_COLUMNS}
    index = {m: k for k, m in enumerate(served_models)}
    for i, row in enumerate(numbers.itertuples(index=False)):
        model = frame["served_model"].iloc[i]
        if model not in index:
            raise InputError(path, f"data row {i + 1}, served_model", model, "unknown served model")
        if not 0 <= row.period < periods:
            raise InputError(path, f"data row {i + 1}, period", row.period, f"outside the horizon 0..{periods - 1}")
        column = int(row.scenario) * periods + int(row.period)
        if not np.isnan(out["input_tokens"][index[model], column]):
            raise InputError(path, f"data row {i + 1}, period", int(row.period),
                             f"duplicate row for scenario {int(row.scenario)} and served model {model!r}")
        if row.input_cache_hit_tokens > row.input_tokens:
            raise InputError(path, f"data row {i + 1}, input_cache_hit_tokens", float(row.input_cache_hit_tokens),
                             f"more than input_tokens ({float(row.input_tokens):g})")
        for c in TOKEN_COLUMNS:
            out[c][index[model], column] = getattr(row, c)
    missing = np.argwhere(np.isnan(out["input_tokens"]))
    if len(missing):
        k, column = missing[0]
        raise InputError(path, "scenario", int(column // periods),
                         f"no row for period {column % periods} of served model {served_models[k]!r}")
    return out


#: The most periods a shape table may have (an instance's horizon allows as many).
MAX_SHAPE_PERIODS = 100_000


def read_demand_shape(path: Path) -> tuple[tuple[str, ...], np.ndarray]:
    """A demand table read for its shape: (its served models, sorted; its output tokens per period,
    summed over them). Periods run from 0 to the largest present; the table is checked as
    `read_demand_csv` checks an instance's (every period of every model once, tokens >= 0)."""
    frame = _demand_frame(path)
    period = _integers(path, frame, "period", {i: i + 1 for i in range(len(frame))})
    if period.max() >= MAX_SHAPE_PERIODS:
        i = int(np.argmax(period))
        raise InputError(path, f"data row {i + 1}, period", int(period[i]),
                         f"a shape has at most {MAX_SHAPE_PERIODS:,} periods")
    models = tuple(sorted(set(frame["served_model"])))
    tokens = read_demand_csv(path, models, int(max(period.max(), 0)) + 1)
    output = tokens["output_tokens"].sum(axis=0)
    if not output.sum() > 0:
        raise InputError(path, "output_tokens", 0, "no output tokens in any period: the shape is undefined")
    return models, output
