"""Demand scenarios: a seeded generator around the instance's demand, or a user's scenario file.

A scenario multiplies the base demand of every period (all token columns alike, so the cache-hit
mix is kept): a day-level factor L_s (lognormal, mean 1), independent hourly noise
(1 + eps_{s,t}, eps normal, clipped at -0.9) and bursts (with probability p an hour is multiplied
by 1 + U(0, burst_scale)). Scenarios are equally likely. The extensive form stacks them as
blocks of periods (instance.PlanningData).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Sequence

import numpy as np
import pandas as pd
from pydantic import Field

from .demand import DEMAND_COLUMNS, TOKEN_COLUMNS
from .errors import NO_VALUE, InputError
from .files import read_text
from .validation import Strict


class Scenarios(Strict):
    count: Annotated[int, Field(ge=1, le=5000)] = 1
    seed: Annotated[int, Field(ge=0)] = 0
    level_sd: Annotated[float, Field(ge=0, le=2)] = 0.0
    hourly_sd: Annotated[float, Field(ge=0, le=2)] = 0.0
    burst_probability: Annotated[float, Field(ge=0, le=1)] = 0.0
    burst_scale: Annotated[float, Field(ge=0, le=10)] = 0.0
    file: str | None = None
    slo_share: Annotated[float, Field(gt=0, le=1)] | None = None


def multipliers(spec: Scenarios, periods: int, seed: int | None = None) -> np.ndarray:
    """[scenario, period] demand multipliers from the generator (seed overrides spec.seed)."""
    rng = np.random.default_rng(spec.seed if seed is None else seed)
    shape = (spec.count, periods)
    level = rng.lognormal(-spec.level_sd**2 / 2, spec.level_sd, size=(spec.count, 1)) if spec.level_sd else np.ones((spec.count, 1))
    noise = np.clip(1.0 + rng.normal(0.0, spec.hourly_sd, size=shape), 0.1, None) if spec.hourly_sd else np.ones(shape)
    bursts = rng.random(shape) < spec.burst_probability
    burst = 1.0 + bursts * rng.uniform(0.0, spec.burst_scale, size=shape)
    return level * noise * burst


def scenario_demand(base: dict[str, np.ndarray], factors: np.ndarray) -> dict[str, np.ndarray]:
    """Stack base demand [model, T] into [model, S*T], scenario s scaled by factors[s]."""
    return {c: np.concatenate([v * f for f in factors], axis=1) for c, v in base.items()}


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
