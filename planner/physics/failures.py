"""Node failures: unit availability, redundant units for an availability target, spare nodes.

A node fails at rate lambda per hour and is down for d hours: the repair time, or the swap time
when a spare node stands ready. Its steady-state down probability is p = lambda d / (1 + lambda d).
Expert parallelism spans a whole unit, so a unit of u nodes is up only while all u are:
a = (1 - p)^u (an 18-node decode unit is 18 times as fragile as a node). A unit also fails as a whole
(software) at rate lambda_unit for r hours, independently of its nodes: down with probability
q = lambda_unit r / (1 + lambda_unit r), so a = (1 - p)^u (1 - q).
Units fail independently, so k units of capacity held with probability alpha need the fewest
n with P(Binomial(n, a) >= k) >= alpha (`min_units_for_availability`).
Spares: failed nodes wait for repair in the spare pool's place; the pool must cover the nodes in
repair at once with probability alpha: the alpha-quantile of Poisson(lambda x repair x nodes).
"""

from __future__ import annotations

import numpy as np

from ..io.schema.failures import Failures


def node_down_probability(failures: Failures) -> float:
    """p = lambda d / (1 + lambda d), d = swap hours with spares, else repair hours."""
    down = failures.swap_hours if failures.swap_hours is not None else failures.repair_hours
    rate = failures.node_failures_per_hour * down
    return rate / (1.0 + rate)


def unit_down_probability(failures: Failures) -> float:
    """q = lambda_unit r / (1 + lambda_unit r): a unit down for a fault of its own (software)."""
    rate = failures.unit_failures_per_hour * failures.unit_restart_hours
    return rate / (1.0 + rate)


def unit_availability(failures: Failures, unit_nodes: int) -> float:
    """a = (1 - p)^u (1 - q): a unit serves only while every one of its nodes is up and it has no
    fault of its own."""
    return (1.0 - node_down_probability(failures)) ** unit_nodes * (1.0 - unit_down_probability(failures))


def min_units_for_availability(needed, availability: float, target: float) -> np.ndarray:
    """Fewest units n with P(Binomial(n, a) >= k) >= target, for each k in `needed` (whole units).

    Bisection between k and a bound from the normal approximation; vectorized over periods.
    """
    from scipy.stats import binom  # imported here: scipy.stats takes about a second to import

    k = np.atleast_1d(np.asarray(needed, dtype=float))
    if availability >= 1.0 or target <= 0:
        return k.astype(np.int64)
    sd = np.sqrt(np.maximum(k, 1.0) * (1 - availability) / availability)
    hi = np.ceil(k / availability + 8.0 * sd / availability + 8.0)

    def enough(n):
        return binom.sf(k - 1, n, availability) >= target

    while not enough(hi)[k > 0].all():
        hi = np.where(enough(hi), hi, hi * 2)
    lo = k.copy()
    while (lo < hi).any():
        mid = np.floor((lo + hi) / 2)
        ok = enough(mid)
        hi = np.where((lo < hi) & ok, mid, hi)
        lo = np.where((lo < hi) & ~ok, mid + 1, lo)
    return np.where(k > 0, hi, 0).astype(np.int64)


def spare_nodes(failures: Failures, nodes: float) -> int:
    """Spare pool for `nodes` in service: the alpha-quantile of nodes in repair at once (0 without swaps)."""
    if failures.swap_hours is None or nodes <= 0:
        return 0
    from scipy.stats import poisson  # imported here: scipy.stats takes about a second to import

    mean = failures.node_failures_per_hour * failures.repair_hours * nodes
    return int(poisson.ppf(failures.availability_target, mean))
