"""A plan's fleet through a day of failures, event by event: node failures, a unit's own faults and
rack outages (correlated: every node of a rack at once), with swaps from a spare pool that runs
out when failures cluster (docs/formulation.md, section 9.3).

Layout (as `physics.failures` sizes it): each served model's units of one role on one node type
are laid out in order, a unit of u >= R nodes on ceil(u / R) racks of its own, units of u < R
nodes w = floor(R / u) to a rack; a unit kind starts on a fresh rack. The day's largest count of
each kind is laid out; in a period only the first n_t units serve, and a unit not serving
takes no spare when its node fails (it waits for the repair).

Events are Poisson in time (rates per node, per unit, per rack) from a warm-up before the day, so
that repairs under way at its start are drawn too. A failed node, or every node of a failed rack,
is swapped for a spare within the swap time if the pool has one free (the spare is then held
until the repair ends); otherwise its unit is down until the repair. A unit's own fault takes no
spare. The pool's size is the plan's in the period the failure falls in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...physics.data import FailureRates


@dataclass(frozen=True)
class Layout:
    """Units of one node type on racks: for each unit, its kind and, per rack it touches, the rack
    and the unit's nodes on it."""

    kinds: tuple[int, ...]  # per unit: index of its kind
    index_in_kind: tuple[int, ...]  # per unit: its rank within its kind (serves while rank < n_t)
    racks: tuple[tuple[tuple[int, int], ...], ...]  # per unit: ((rack, nodes on it), ...)
    rack_count: int

    @property
    def nodes(self) -> np.ndarray:
        return np.array([sum(n for _, n in r) for r in self.racks])


def lay_out(unit_nodes: list[int], counts: list[int], rack_nodes: int) -> Layout:
    """Lay out `counts[k]` units of `unit_nodes[k]` nodes, kind after kind, on racks of `rack_nodes`."""
    kinds, ranks, racks, next_rack = [], [], [], 0
    for k, (u, n) in enumerate(zip(unit_nodes, counts)):
        per_rack = max(1, rack_nodes // u)
        for i in range(n):
            if u >= rack_nodes:
                first, span = next_rack, -(-u // rack_nodes)
                racks.append(tuple((first + j, min(rack_nodes, u - j * rack_nodes)) for j in range(span)))
                next_rack += span
            else:
                racks.append(((next_rack + i // per_rack, u),))
            kinds.append(k)
            ranks.append(i)
        if u < rack_nodes and n:
            next_rack += -(-n // per_rack)
    return Layout(tuple(kinds), tuple(ranks), tuple(racks), next_rack)


@dataclass(frozen=True)
class DayOfFailures:
    """Per unit, its down intervals (hours from the day's start), and the swaps the pool refused."""

    down: list[list[tuple[float, float]]]
    swaps_refused: int


def simulate_day(rng: np.random.Generator, layout: Layout, rates: FailureRates, spares: np.ndarray,
                 period_hours: float, serving: np.ndarray | None = None) -> DayOfFailures:
    """One day (len(spares) periods) of failures on `layout`, with `spares[t]` spare nodes in period t.
    `serving[kind, t]` (default: every unit laid out): the units of each kind serving in period t;
    a unit not serving when its node fails takes no spare (it waits for the repair)."""
    day = len(spares) * period_hours
    warm = 2.0 * max(rates.repair_hours, rates.rack_repair_hours, rates.unit_restart_hours)
    span = warm + day
    nodes = layout.nodes
    units = len(nodes)
    events: list[tuple[float, str, int]] = []
    total_nodes = int(nodes.sum())
    for rate, kind, count in ((rates.node_failures_per_hour, "node", total_nodes),
                              (rates.unit_failures_per_hour, "unit", units),
                              (rates.rack_failures_per_hour, "rack", layout.rack_count)):
        if rate > 0 and count:
            draws = rng.poisson(rate * count * span)
            events += zip(rng.uniform(-warm, day, draws).tolist(), [kind] * draws,
                          rng.integers(count, size=draws).tolist())
    events.sort()
    unit_of_node = np.repeat(np.arange(units), nodes)
    # A Poisson stream thinned while its target is down is the alternating renewal process of
    # section 9 (exponential up times, fixed down times): down with probability lambda d / (1 + lambda d).
    busy_until = {"node": np.full(total_nodes, -np.inf), "unit": np.full(units, -np.inf),
                  "rack": np.full(layout.rack_count, -np.inf)}
    on_rack: dict[int, list[tuple[int, int]]] = {}
    for unit, parts in enumerate(layout.racks):
        for rack, count in parts:
            on_rack.setdefault(rack, []).append((unit, count))
    held: list[float] = []  # release times of spares in use
    down: list[list[tuple[float, float]]] = [[] for _ in range(units)]
    refused = 0

    def period_of(at: float) -> int:
        return int(min(max(at, 0.0), day - 1e-9) // period_hours)

    def pool(at: float) -> int:
        return int(spares[period_of(at)]) - sum(1 for release in held if release > at)

    def idle(unit: int, at: float) -> bool:
        return serving is not None and layout.index_in_kind[unit] >= serving[layout.kinds[unit], period_of(at)]

    def fail(unit: int, at: float, count: int, repair: float) -> float:
        """The unit's outage from `count` of its nodes failing at `at`; returns its end."""
        nonlocal refused
        if idle(unit, at):
            down[unit].append((at, at + repair))
            return at + repair
        if rates.swap_hours is not None and pool(at) >= count:
            held.extend([at + repair] * count)
            end = at + rates.swap_hours
        else:
            refused += rates.swap_hours is not None and at >= 0.0  # the day's, not the warm-up's
            end = at + repair
        down[unit].append((at, end))
        return end

    for at, kind, which in events:
        if at < busy_until[kind][which]:
            continue
        if kind == "node":
            busy_until[kind][which] = fail(int(unit_of_node[which]), at, 1, rates.repair_hours)
        elif kind == "unit":
            busy_until[kind][which] = at + rates.unit_restart_hours
            down[which].append((at, busy_until[kind][which]))
        else:
            ends = [fail(unit, at, count, rates.rack_repair_hours) for unit, count in on_rack.get(which, [])]
            busy_until[kind][which] = max(ends, default=at + rates.rack_repair_hours)
    return DayOfFailures(down, refused)


def units_up(day: DayOfFailures, layout: Layout, serving: np.ndarray, instants: np.ndarray,
             period_hours: float) -> np.ndarray:
    """[kinds x instants]: units of each kind serving (rank below the period's count
    `serving[kind, t]`) and up at each instant (hours from the day's start)."""
    periods = np.minimum((instants // period_hours).astype(int), serving.shape[1] - 1)
    count = np.zeros((serving.shape[0], len(instants)))
    for unit, (kind, rank) in enumerate(zip(layout.kinds, layout.index_in_kind)):
        up = rank < serving[kind, periods]
        for start, end in day.down[unit]:
            up &= ~((instants >= start) & (instants < end))
        count[kind] += up
    return count
