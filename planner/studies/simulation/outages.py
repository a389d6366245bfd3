"""Node failures in a simulated window, as section 9 of docs/formulation.md states them: each node
fails at rate lambda and is down d hours (the swap time where spares exist, else the repair time);
a unit is down while any of its nodes is, or while it restarts after a fault of its own (rate
lambda_unit, r hours). Up times are exponential and down times fixed, an
alternating renewal process, so at the window's start a node is down with the stationary
probability p = lambda d / (1 + lambda d), for a uniform share of d still to go; a unit of u nodes
is then up with probability (1 - p)^u, as the plan's availability rows assume."""

from __future__ import annotations

import numpy as np

from ...physics.data import FailureRates
from ...units import SECONDS_PER_HOUR


def _node_outages(rng: np.random.Generator, rate_per_s: float, down_s: float, p_down: float,
                  begin_s: float, end_s: float) -> list[tuple[float, float]]:
    """(start, end) of one node's down times touching the window (one under way at begin_s starts
    there)."""
    out, t = [], begin_s
    if rng.random() < p_down:
        t = begin_s + rng.uniform(0.0, down_s)
        out.append((begin_s, t))
    while True:
        t += rng.exponential(1.0 / rate_per_s)
        if t >= end_s:
            return out
        out.append((t, t + down_s))
        t += down_s


def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def unit_outages(rng: np.random.Generator, units: int, nodes_per_unit: int, rates: FailureRates,
                 begin_s: float, end_s: float, count_from_s: float | None = None
                 ) -> tuple[list[tuple[float, int, float]], int]:
    """(start s, unit, duration s) of every unit outage touching [begin_s, end_s) (overlapping
    node outages of a unit merged), and the node failures that begin in [count_from_s, end_s)
    (default: the whole window; a warm-up's failures act but are not counted)."""
    count_from_s = begin_s if count_from_s is None else count_from_s
    classes = [(rates.node_failures_per_hour / SECONDS_PER_HOUR, nodes_per_unit,
                SECONDS_PER_HOUR * (rates.repair_hours if rates.swap_hours is None else rates.swap_hours)),
               (rates.unit_failures_per_hour / SECONDS_PER_HOUR, 1, SECONDS_PER_HOUR * rates.unit_restart_hours)]
    classes = [(rate, count, down) for rate, count, down in classes if rate > 0]
    if units == 0 or not classes:
        return [], 0
    out, seen = [], 0
    for unit in range(units):
        intervals = []
        for rate_per_s, count, down_s in classes:  # the unit's nodes, and the unit itself (software)
            p_down = rate_per_s * down_s / (1.0 + rate_per_s * down_s)
            for _ in range(count):
                part = _node_outages(rng, rate_per_s, down_s, p_down, begin_s, end_s)
                intervals += part
                seen += sum(1 for start, end in part if start >= count_from_s and start > begin_s)
        out += [(start, unit, end - start) for start, end in _union(intervals)]
    return out, seen
