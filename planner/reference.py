"""The published DeepSeek day (reference/): its figures, its node steps, and what follows from them.

Source of every figure: DeepSeek, "DeepSeek-V3 / R1 Inference System Overview", 1 March 2025
(deepseek-ai/open-infra-index), and its two charts; reference/*.yaml names them field by field.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import (BaseModel, ConfigDict, NonNegativeFloat, PositiveFloat, PositiveInt,
                      field_validator)

from .demand import DEMAND_COLUMNS, series_from_shape
from .errors import NO_VALUE, InputError
from .files import read_text, read_yaml_mapping
from .validation import validate
from .instance import SECONDS_PER_HOUR, window_share

#: The published peak, 278 nodes, is 29 prefill units of 4 nodes and 9 decode units of 18 nodes,
#: and each 30-node step of the chart removes 3 prefill units and 1 decode unit (4a + 18b = 30
#: has no other solution in whole units). Check: the split gives 2,292 prefill node-hours, and
#: 608 B input tokens / 73.7 k tokens/s per node = 2,291.6 node-hours (tests/test_reference.py).
PEAK_PREFILL_NODES = 116
PEAK_DECODE_NODES = 162
STEP_PREFILL_NODES = 12
STEP_DECODE_NODES = 18


class _Published(BaseModel):
    """The fields of a published-day file that planner reads; others may be there too."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)


class _Hardware(_Published):
    gpus_per_node: PositiveInt
    rental_usd_per_gpu_hour: PositiveFloat


class _Fleet(_Published):
    peak_nodes: PositiveFloat
    average_nodes: PositiveFloat


class _Tokens(_Published):
    input_total: PositiveFloat
    input_cache_hit: NonNegativeFloat
    output_total: PositiveFloat


class _Throughput(_Published):
    prefill_input_tokens_per_s: PositiveFloat
    decode_output_tokens_per_s: PositiveFloat


class _Economics(_Published):
    daily_cost_usd: PositiveFloat
    theoretical_daily_revenue_usd: PositiveFloat
    cost_profit_margin: float


class _PriceList(_Published):
    input_cache_hit: NonNegativeFloat
    input_cache_miss: NonNegativeFloat
    output: NonNegativeFloat


class _PublishedDay(_Published):
    hardware: _Hardware
    fleet: _Fleet
    tokens: _Tokens
    throughput_per_node: _Throughput
    economics: _Economics
    prices_usd_per_million_tokens: dict[str, _PriceList | Any]

    @field_validator("prices_usd_per_million_tokens")
    @classmethod
    def _has_reasoner_prices(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "deepseek-reasoner" not in value:
            raise ValueError("needs the deepseek-reasoner list prices (the published revenue uses them)")
        _PriceList.model_validate(value["deepseek-reasoner"])
        return value


@dataclass(frozen=True)
class Reference:
    """The published figures (YAML), node steps and hourly income/cost (CSVs beside it)."""

    path: Path
    figures: dict[str, Any]
    steps: pd.DataFrame  # from, to, nodes (local clock)
    hourly: pd.DataFrame  # hour_start, theoretical_income_kusd, cost_usd

    @property
    def gpus_per_node(self) -> int:
        return int(self.figures["hardware"]["gpus_per_node"])

    @property
    def usd_per_gpu_hour(self) -> float:
        return float(self.figures["hardware"]["rental_usd_per_gpu_hour"])


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(io.StringIO(read_text(path)), comment="#", dtype={"from": str, "to": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, "", NO_VALUE, f"not a readable CSV table: {exc}") from None


def _checked_csv(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """A reference table with the named columns: 'clock' (HH:MM) or 'number' (finite, >= 0)."""
    frame = _read_csv(path)
    for column, kind in columns.items():
        if column not in frame.columns:
            raise InputError(path, "header", column, "required column is missing")
        values = frame[column]
        if kind == "number":
            numbers = pd.to_numeric(values, errors="coerce")
            bad = ~np.isfinite(numbers.to_numpy(dtype=float)) | (numbers < 0).to_numpy()
        else:
            bad = ~values.astype(str).str.fullmatch(r"([01]\d|2[0-3]):[0-5]\d|24:00").to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(path, f"data row {i + 1}, {column}", values.iloc[i],
                             "must be a number >= 0" if kind == "number" else "must be a clock time HH:MM")
    if frame.empty:
        raise InputError(path, "(rows)", NO_VALUE, "the table has no rows")
    return frame


def load_reference(path: str | Path) -> Reference:
    """Load NAME.yaml with NAME-nodes.csv and NAME-hourly.csv beside it, checking what is read."""
    path = Path(path)
    stem = path.with_suffix("")
    figures = read_yaml_mapping(path)
    validate(_PublishedDay, figures, str(path))
    return Reference(
        path=path,
        figures=figures,
        steps=_checked_csv(Path(f"{stem}-nodes.csv"), {"from": "clock", "to": "clock", "nodes": "number"}),
        hourly=_checked_csv(Path(f"{stem}-hourly.csv"), {"theoretical_income_kusd": "number", "cost_usd": "number"}),
    )


def nodes_per_period(reference: Reference, starts: pd.DatetimeIndex, period_hours: float) -> np.ndarray:
    """Time-weighted mean of the published node steps over each period (steps repeat daily)."""
    total = np.zeros(len(starts))
    steps = reference.steps
    for start, end, nodes in zip(steps["from"], steps["to"], steps["nodes"]):
        total += nodes * window_share(starts, period_hours, start, end)
    return total


def role_split(nodes: np.ndarray) -> dict[str, np.ndarray]:
    """Prefill and decode nodes inside published node counts (see PEAK_* and STEP_* above)."""
    steps_down = (PEAK_PREFILL_NODES + PEAK_DECODE_NODES - np.asarray(nodes, dtype=float)) / (
        STEP_PREFILL_NODES + STEP_DECODE_NODES
    )
    return {
        "prefill": PEAK_PREFILL_NODES - STEP_PREFILL_NODES * steps_down,
        "decode": PEAK_DECODE_NODES - STEP_DECODE_NODES * steps_down,
    }


def demand_shape(reference: Reference) -> np.ndarray:
    """Hourly weights of demand: the income bars (every token at one price), in chart order."""
    return reference.hourly["theoretical_income_kusd"].to_numpy(dtype=float)


def demand_table(reference: Reference, shares: str | dict[str, float]) -> pd.DataFrame:
    """The day's tokens (text) spread over the hours in the shape of the income bars (chart),
    split between served models by `shares` (a lone name takes every token)."""
    shares = {shares: 1.0} if isinstance(shares, str) else dict(shares)
    tokens = reference.figures["tokens"]
    weights = demand_shape(reference)
    tables = []
    for model, share in shares.items():
        inputs = series_from_shape(weights, share * float(tokens["input_total"]))
        hits = series_from_shape(weights, share * float(tokens["input_cache_hit"]))
        tables.append(pd.DataFrame({
            "period": np.arange(len(weights)),
            "served_model": model,
            "input_tokens": inputs.astype(np.int64),
            "input_cache_hit_tokens": np.minimum(hits, inputs).astype(np.int64),
            "output_tokens": series_from_shape(weights, share * float(tokens["output_total"])).astype(np.int64),
        }))
    table = pd.concat(tables).sort_values(["period", "served_model"], kind="stable", ignore_index=True)
    return table[list(DEMAND_COLUMNS)]


def peak_capacity_factors(reference: Reference, starts: pd.DatetimeIndex, period_hours: float) -> dict[str, float]:
    """Capacity at full use over the published day average, per role.

    kappa_r = max_t [ D_{r,t} / (N_{r,t} * 3600 * period_hours) ] / rate_r, where D is the role's
    tokens in period t (the day's total in the shape of the income bars), N the role's published
    nodes and rate_r the published day-average tokens/s per node. It is the heaviest hourly load
    per node that the published schedule carried: the smallest node capacity under which the
    published schedule serves every hour.
    """
    tokens = reference.figures["tokens"]
    rates = reference.figures["throughput_per_node"]
    shape = demand_shape(reference)
    shares = shape / shape.sum()
    nodes = role_split(nodes_per_period(reference, starts, period_hours))
    seconds = SECONDS_PER_HOUR * period_hours
    loads = {
        "prefill": shares * tokens["input_total"] / (nodes["prefill"] * seconds) / rates["prefill_input_tokens_per_s"],
        "decode": shares * tokens["output_total"] / (nodes["decode"] * seconds) / rates["decode_output_tokens_per_s"],
    }
    return {role: float(load.max()) for role, load in loads.items()}


def published_arithmetic(reference: Reference) -> dict[str, float]:
    """The disclosure's own arithmetic, recomputed from its tokens, throughputs and prices."""
    f = reference.figures
    tokens, rates = f["tokens"], f["throughput_per_node"]
    prices = f["prices_usd_per_million_tokens"]["deepseek-reasoner"]
    gpu_hour_usd = reference.gpus_per_node * reference.usd_per_gpu_hour
    cost = f["fleet"]["average_nodes"] * 24 * gpu_hour_usd
    misses = tokens["input_total"] - tokens["input_cache_hit"]
    revenue = (tokens["input_cache_hit"] * prices["input_cache_hit"] + misses * prices["input_cache_miss"]
               + tokens["output_total"] * prices["output"]) / 1e6
    prefill_node_hours = tokens["input_total"] / rates["prefill_input_tokens_per_s"] / SECONDS_PER_HOUR
    decode_node_hours = tokens["output_total"] / rates["decode_output_tokens_per_s"] / SECONDS_PER_HOUR
    published_revenue = f["economics"]["theoretical_daily_revenue_usd"]
    return {
        "daily_cost_usd": cost,
        "theoretical_revenue_usd": revenue,
        "revenue_error_vs_published": revenue / published_revenue - 1,
        "cost_profit_margin": (revenue - cost) / cost,
        "cost_profit_margin_published_revenue": (published_revenue - cost) / cost,
        "prefill_node_hours_from_throughput": prefill_node_hours,
        "decode_node_hours_from_throughput": decode_node_hours,
        "node_hours_from_throughput": prefill_node_hours + decode_node_hours,
        "node_hours_from_average": f["fleet"]["average_nodes"] * 24,
    }


def published_figures(reference: Reference) -> dict[str, float]:
    """What a plan is compared with: the published mean, peak, cost, revenue and margin."""
    f = reference.figures
    return {
        "nodes_mean": float(f["fleet"]["average_nodes"]),
        "nodes_peak": float(f["fleet"]["peak_nodes"]),
        "cost_usd": float(f["economics"]["daily_cost_usd"]),
        "revenue_usd": float(f["economics"]["theoretical_daily_revenue_usd"]),
        "cost_profit_margin": float(f["economics"]["cost_profit_margin"]),
        # Every node not serving went to research and training (disclosure): 1 - 226.75 / 278.
        "training_node_hours": (float(f["fleet"]["peak_nodes"]) - float(f["fleet"]["average_nodes"])) * 24,
        "training_share_of_fleet_hours": 1 - float(f["fleet"]["average_nodes"]) / float(f["fleet"]["peak_nodes"]),
        "source": str(reference.path.name),
    }
