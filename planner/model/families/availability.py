"""Availability under node failures: redundant units for the availability target."""

from __future__ import annotations

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family
from .serving_capacity import raise_unit_bound


def _has_failures(data: PlanningData) -> bool:
    return bool(data.availability_units)


def _needs_availability_row(data: PlanningData, m: str, r: str, t: int) -> bool:
    return any(data.availability_units[(m, g, r)][t] > 0 for g in data.deployed_types(m))


@family(applies=_has_failures, needs=("serving_units", "unserved_share", "SERVED_MODELS", "ROLES", "PERIODS"),
        provides=("availability_units",), contributes=("demand_rows",))
def add_availability(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """**Constraint** availability_units, **enforced over** (m, r, t) with demand:

        sum_{g : (m,g) deployed} x_{m,g,r,t} / N_{m,g,r,t} + s_{m,r,t} >= 1

    N_{m,g,r,t} is the fewest units of type g whose ceil(D/c) working units are up with the
    availability target, each unit up with probability a = (1 - p)^u (physics/failures.py): the
    binomial redundancy. s_{m,r,t} is the unserved share of serving_capacity, so a plan that
    leaves a share of demand unserved needs that share fewer units. With several node types
    the row interpolates between single-type pools, as the TTFT row does. The bound of
    x_{m,g,r,t} is raised to N_{m,g,r,t}. The floor grows with demand, so its rows join the
    demand rows of the marginal cost (pool demand_rows).
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
