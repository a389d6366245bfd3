"""Availability under node failures: redundant units for the availability target."""

from __future__ import annotations

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family
from .serving_capacity import raise_unit_bound


def _has_failures(data: PlanningData) -> bool:
    """Instances with a `failures` section."""
    return bool(data.availability_units)


def _needs_availability_row(data: PlanningData, m: str, r: str, t: int) -> bool:
    return any(data.availability_units[(m, g, r)][t] > 0 for g in data.deployed_types(m))


@family(applies=_has_failures, needs=("serving_units", "unserved_share", "SERVED_MODELS", "ROLES", "PERIODS"),
        provides=("availability_units",), contributes=("demand_rows",))
def add_availability(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """**Constraint** `availability_units`, **enforced over** (m, r, t) where some deployed type has
    N_{m,g,r,t} > 0 (`_needs_availability_row`: the role has demand in t):

        sum_{g : (m,g) deployed, N_{m,g,r,t} > 0} x_{m,g,r,t} / N_{m,g,r,t} + s_{m,r,t} >= 1

    N_{m,g,r,t} is the fewest units of type g alone of which at least
    k = ceil(D_{m,r,t} / c_{m,g,r,t} - 1e-9) are up with the availability target alpha, each unit
    up independently with probability a = (1 - p)^{u_{m,g,r}} (p = lambda d / (1 + lambda d) a
    node's down probability, d the swap time when failed nodes are swapped, else the repair
    time; physics/failures.py):

        N_{m,g,r,t} = min { n >= k : P(Binomial(n, a) >= k) >= alpha }

    the binomial redundancy (`physics.compile._availability_units`; N = k when a = 1 or
    alpha = 0, and N = 0 where k = 0). s_{m,r,t} is the unserved share of serving_capacity, so a
    plan that leaves a share of demand unserved needs that share fewer units. With several node
    types the row interpolates between single-type pools, as the TTFT row does.

    **Bounds** The bound of x_{m,g,r,t} is raised to N_{m,g,r,t} (`raise_unit_bound`).

    The floor grows with demand, so its rows join the demand rows of the marginal cost (pool
    demand_rows). The pool of spare nodes that stand in for failed ones is the family spare_pool.
    """
    def rule(mdl, m, r, t):
        if not _needs_availability_row(data, m, r, t):
            return pyo.Constraint.Skip
        pools_ = sum(mdl.serving_units[m, g, r, t] / float(data.availability_units[(m, g, r)][t])
                     for g in data.deployed_types(m) if data.availability_units[(m, g, r)][t] > 0)
        return pools_ + mdl.unserved_share[m, r, t] >= 1.0

    model.availability_units = pyo.Constraint(model.SERVED_MODELS, model.ROLES, model.PERIODS, rule=rule)
    for (m, g, r), units in data.availability_units.items():
        for t in range(data.periods):
            raise_unit_bound(model, (m, g, r, t), units[t])
    pools.add("demand_rows", dict(model.availability_units.items()))
