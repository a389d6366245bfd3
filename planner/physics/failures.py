"""Node failures: unit availability, redundant units for an availability target, spare nodes.

A node fails at rate lambda per hour and is down for d hours: the repair time, or the swap time
when a spare node stands ready. Its steady-state down probability is p = lambda d / (1 + lambda d).
Expert parallelism spans a whole unit, so a unit of u nodes is up only while all u are:
a = (1 - p)^u (an 18-node decode unit is 18 times as fragile as a node). A unit also fails as a whole
(software) at rate lambda_unit for r hours, independently of its nodes: down with probability
q = lambda_unit r / (1 + lambda_unit r), so a = (1 - p)^u (1 - q).
A rack of R nodes (its switch, cables, power) fails at rate lambda_rack and takes all its nodes out
for the rack repair time (the swap time where spares stand ready): down with probability
r = lambda_rack d_rack / (1 + lambda_rack d_rack). Units are laid out on racks in order: a unit
of u >= R nodes on ceil(u / R) racks of its own, units of u < R nodes w = floor(R / u) to a
rack. A unit's marginal availability is a = (1 - p)^u (1 - q) (1 - r)^ceil(u / R).
Units on racks of their own fail independently, so k units of capacity held with probability
alpha need the fewest n with P(Binomial(n, a) >= k) >= alpha (`min_units_for_availability`); w
units sharing a rack fail together when it does, and the count of units up is a sum over racks
of (rack up) x Binomial(w, a / (1 - r)), whose law is computed exactly (`units_up_sf`).
Spares: failed nodes wait for repair in the spare pool's place; the pool must cover the nodes in
repair at once with probability alpha: the alpha-quantile of Poisson(lambda x repair x nodes)
plus R x Poisson(lambda_rack x rack repair x nodes / R) (racks in repair at once: a compound
Poisson law, failures that cluster).
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


def rack_down_probability(failures: Failures) -> float:
    """r = lambda_rack d / (1 + lambda_rack d), d = swap hours with spares, else the rack repair hours."""
    down = failures.swap_hours if failures.swap_hours is not None else failures.rack_repair_hours
    rate = failures.rack_failures_per_hour * down
    return rate / (1.0 + rate)


def racks_per_unit(failures: Failures, unit_nodes: int) -> int:
    """ceil(u / R): the racks a unit touches (1 for a unit smaller than a rack)."""
    return -(-unit_nodes // failures.rack_nodes)


def units_per_rack(failures: Failures, unit_nodes: int) -> int:
    """w = floor(R / u) units share a rack when u < R; 1 otherwise (a unit has racks of its own)."""
    return max(1, failures.rack_nodes // unit_nodes)


def unit_availability(failures: Failures, unit_nodes: int) -> float:
    """a = (1 - p)^u (1 - q) (1 - r)^ceil(u / R): a unit serves only while every one of its nodes
    and racks is up and it has no fault of its own."""
    return ((1.0 - node_down_probability(failures)) ** unit_nodes * (1.0 - unit_down_probability(failures))
            * (1.0 - rack_down_probability(failures)) ** racks_per_unit(failures, unit_nodes))


def units_up_sf(n: int, k: int, own: float, per_rack: int, rack_up: float) -> float:
    """P(at least k of n units up) when the units sit `per_rack` to a rack (the last rack partly
    filled), a rack is up with probability `rack_up` and, on an up rack, each unit is up on its
    own with probability `own` (all independent). The law of the count is the product of the
    racks' generating functions, evaluated by FFT."""
    from scipy.stats import binom  # imported here: scipy.stats takes about a second to import

    if k <= 0:
        return 1.0
    if k > n:
        return 0.0

    def rack_pmf(w: int) -> np.ndarray:
        pmf = rack_up * binom.pmf(np.arange(w + 1), w, own)
        pmf[0] += 1.0 - rack_up
        return pmf

    full, rest = divmod(n, per_rack)
    size = 1 << int(np.ceil(np.log2(n + 2)))
    spectrum = np.fft.rfft(rack_pmf(per_rack), size) ** full
    if rest:
        spectrum = spectrum * np.fft.rfft(rack_pmf(rest), size)
    pmf = np.clip(np.fft.irfft(spectrum, size)[: n + 1], 0.0, None)
    return float(min(1.0, pmf[k:].sum()))


def min_units_for_failures(failures: Failures, unit_nodes: int, needed) -> np.ndarray:
    """Fewest units n per period such that `needed` of them are up with the availability target,
    under the failure classes of `failures`: the binomial rule with the marginal a where units have
    racks of their own (or racks never fail), else the exact grouped law (units_up_sf), whose tail
    grows with n (one more unit never lowers the count up): searched from the binomial n, upwards
    while short of the target, downwards while one fewer still meets it (sharing a rack can need
    more units than independence, or fewer when all must be up)."""
    a = unit_availability(failures, unit_nodes)
    target = failures.availability_target
    first = min_units_for_availability(needed, a, target)
    w = units_per_rack(failures, unit_nodes)
    r = rack_down_probability(failures)
    if w == 1 or r == 0.0 or target <= 0:
        return first
    own = a / (1.0 - r)
    memo: dict[int, int] = {}
    out = np.array(first, dtype=np.int64)
    for i, k in enumerate(np.atleast_1d(np.asarray(needed, dtype=float)).astype(np.int64)):
        if k <= 0:
            continue
        if k not in memo:
            n = int(first[i])
            while units_up_sf(n, int(k), own, w, 1.0 - r) < target:
                n += 1
            while n > k and units_up_sf(n - 1, int(k), own, w, 1.0 - r) >= target:
                n -= 1
            memo[k] = n
        out[i] = memo[k]
    return out


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
    racks = failures.rack_failures_per_hour * failures.rack_repair_hours * nodes / failures.rack_nodes
    if racks == 0.0:
        return int(poisson.ppf(failures.availability_target, mean))
    top = int(poisson.ppf(1 - 1e-12, mean)) + failures.rack_nodes * int(poisson.ppf(1 - 1e-12, racks)) + 1
    single = poisson.pmf(np.arange(top + 1), mean)
    clustered = np.zeros(top + 1)
    count = np.arange(top // failures.rack_nodes + 1)
    clustered[count * failures.rack_nodes] = poisson.pmf(count, racks)
    law = np.convolve(single, clustered)[: top + 1]
    return int(np.searchsorted(np.cumsum(law), failures.availability_target - 1e-12))
