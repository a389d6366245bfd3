"""What follows from a published day's figures (planner/io/reference.py): its node steps per
period, their split into prefill and decode, the demand table in its shape, the capacity at full
use it implies (the calibration), and the disclosure's own arithmetic, recomputed.

Every number here is computed from the reference files; none is written in code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.demand import DEMAND_COLUMNS, series_from_shape
from ..io.reference import Reference
from ..units import HOURS_PER_DAY, SECONDS_PER_HOUR, TOKENS_PER_MTOK
from .clock import MINUTES_PER_DAY, minutes, window_share


def nodes_per_period(reference: Reference, starts: pd.DatetimeIndex, period_hours: float) -> np.ndarray:
    """Time-weighted mean of the published node steps over each period (steps repeat daily, on
    the reference's own clock whatever the horizon's)."""
    starts = starts.tz_convert(reference.clock)
    total = np.zeros(len(starts))
    steps = reference.steps
    for start, end, nodes in zip(steps["from"], steps["to"], steps["nodes"]):
        total += nodes * window_share(starts, period_hours, start, end)
    return total


@dataclass(frozen=True)
class RoleSplit:
    """Published node counts split into roles: at the peak, and per step of the chart.

    On the reference day: each 30-node step is 3 prefill units of 4 nodes and 1 decode unit of 18
    (4a + 18b = 30 has no other solution in whole units), and the 278-node peak is 29 prefill and
    9 decode units, the split whose day-long prefill node-hours come nearest the throughput's
    (608 B / 73.7 k tokens/s = 2,291.6 node-hours; the split gives 2,292).
    """

    peak_prefill_nodes: float
    peak_decode_nodes: float
    step_prefill_nodes: float
    step_decode_nodes: float

    def split(self, nodes: np.ndarray) -> dict[str, np.ndarray]:
        """Prefill and decode nodes inside published node counts."""
        steps_down = (self.peak_prefill_nodes + self.peak_decode_nodes - np.asarray(nodes, dtype=float)) / (
            self.step_prefill_nodes + self.step_decode_nodes)
        return {"prefill": self.peak_prefill_nodes - self.step_prefill_nodes * steps_down,
                "decode": self.peak_decode_nodes - self.step_decode_nodes * steps_down}


def _unit_mixes(total: int, prefill_unit: int, decode_unit: int) -> list[tuple[int, int]]:
    """Every (prefill units, decode units) with prefill_unit a + decode_unit b = total."""
    return [((total - decode_unit * b) // prefill_unit, b) for b in range(total // decode_unit + 1)
            if (total - decode_unit * b) % prefill_unit == 0]


def role_split(reference: Reference) -> RoleSplit:
    """The split of the published node steps into whole prefill and decode units (RoleSplit)."""
    f = reference.figures
    u_p, u_d = int(f["deployment"]["prefill_unit_nodes"]), int(f["deployment"]["decode_unit_nodes"])
    levels = sorted({int(round(n)) for n in reference.steps["nodes"]})
    peak = levels[-1]
    step = reduce(math.gcd, (peak - n for n in levels[:-1]), 0)
    step_mixes = _unit_mixes(step, u_p, u_d) if step else [(0, 0)]
    if len(step_mixes) != 1:
        raise InputError(reference.path, "deployment", f"{step}-node steps",
                         f"a step is {len(step_mixes)} different mixes of {u_p}- and {u_d}-node units, not one")
    (a, b), = step_mixes
    durations = np.array([(minutes(e) - minutes(s)) % MINUTES_PER_DAY or MINUTES_PER_DAY
                          for s, e in zip(reference.steps["from"], reference.steps["to"])], dtype=float)
    nodes = reference.steps["nodes"].to_numpy(dtype=float)
    prefill_node_hours = float(f["tokens"]["input_total"]) / float(
        f["throughput_per_node"]["prefill_input_tokens_per_s"]) / SECONDS_PER_HOUR

    def split_of(mix: tuple[int, int]) -> RoleSplit:
        return RoleSplit(mix[0] * u_p, mix[1] * u_d, a * u_p, b * u_d)

    def miss(mix: tuple[int, int]) -> float:
        day_prefill = (split_of(mix).split(nodes)["prefill"] * durations).sum() / 60.0
        return abs(day_prefill * HOURS_PER_DAY * 60.0 / durations.sum() - prefill_node_hours)

    peaks = _unit_mixes(peak, u_p, u_d)
    if not peaks:
        raise InputError(reference.path, "fleet.peak_nodes", peak,
                         f"is no sum of {u_p}- and {u_d}-node units")
    return split_of(min(peaks, key=miss))


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
    nodes = role_split(reference).split(nodes_per_period(reference, starts, period_hours))
    seconds = SECONDS_PER_HOUR * period_hours
    loads = {
        "prefill": shares * tokens["input_total"] / (nodes["prefill"] * seconds) / rates["prefill_input_tokens_per_s"],
        "decode": shares * tokens["output_total"] / (nodes["decode"] * seconds) / rates["decode_output_tokens_per_s"],
    }
    return {role: float(load.max()) for role, load in loads.items()}


def full_use_nodes(reference: Reference) -> float:
    """Mean nodes the published day needs at full use, on planner's own definition (the reseller
    study's `full_use_nodes`): each role's day tokens over a node's capacity at full use, the
    published day-average rate times the heaviest hourly load per node it carried
    (`peak_capacity_factors`, the reference instance's optimistic calibration), over 24 hours."""
    window = reference.figures["window"]
    starts = pd.date_range(pd.Timestamp(window["start"]), pd.Timestamp(window["end"]), freq="h", inclusive="left")
    factors = peak_capacity_factors(reference, starts, 1.0)
    tokens, rates = reference.figures["tokens"], reference.figures["throughput_per_node"]
    seconds = SECONDS_PER_HOUR * len(starts)
    return (tokens["input_total"] / (rates["prefill_input_tokens_per_s"] * factors["prefill"] * seconds)
            + tokens["output_total"] / (rates["decode_output_tokens_per_s"] * factors["decode"] * seconds))


def published_arithmetic(reference: Reference) -> dict[str, float]:
    """The disclosure's own arithmetic, recomputed from its tokens, throughputs and prices."""
    f = reference.figures
    tokens, rates = f["tokens"], f["throughput_per_node"]
    prices = f["prices_usd_per_million_tokens"]["deepseek-reasoner"]
    gpu_hour_usd = reference.gpus_per_node * reference.usd_per_gpu_hour
    cost = f["fleet"]["average_nodes"] * HOURS_PER_DAY * gpu_hour_usd
    misses = tokens["input_total"] - tokens["input_cache_hit"]
    revenue = (tokens["input_cache_hit"] * prices["input_cache_hit"] + misses * prices["input_cache_miss"]
               + tokens["output_total"] * prices["output"]) / TOKENS_PER_MTOK
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
        "node_hours_from_average": f["fleet"]["average_nodes"] * HOURS_PER_DAY,
    }


@dataclass(frozen=True)
class PublishedFigures:
    """What a plan is compared with (summary.json's `reference.published`)."""

    nodes_mean: float
    nodes_peak: float
    cost_usd: float
    revenue_usd: float
    cost_profit_margin: float
    training_node_hours: float
    training_share_of_fleet_hours: float
    source: str

    @property
    def gross_margin(self) -> float:
        return (self.revenue_usd - self.cost_usd) / self.revenue_usd


def published_figures(reference: Reference) -> PublishedFigures:
    """The published mean, peak, cost, revenue and margin, and the training they imply."""
    f = reference.figures
    peak, mean = float(f["fleet"]["peak_nodes"]), float(f["fleet"]["average_nodes"])
    return PublishedFigures(
        nodes_mean=mean,
        nodes_peak=peak,
        cost_usd=float(f["economics"]["daily_cost_usd"]),
        revenue_usd=float(f["economics"]["theoretical_daily_revenue_usd"]),
        cost_profit_margin=float(f["economics"]["cost_profit_margin"]),
        # Every node not serving went to research and training (disclosure): 1 - 226.75 / 278.
        training_node_hours=(peak - mean) * HOURS_PER_DAY,
        training_share_of_fleet_hours=1 - mean / peak,
        source=str(reference.path.name),
    )
