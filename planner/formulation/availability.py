"""Availability under node failures: redundant units and a spare-node pool."""

from __future__ import annotations

import pyomo.environ as pyo

from ..instance import ROLES, PlanningData


def _needs_availability_row(data: PlanningData, m: str, r: str, t: int) -> bool:
    return any(data.availability_units[(m, g, r)][t] > 0 for (mm, g) in data.deployments if mm == m)


def add_availability(model: pyo.ConcreteModel, data: PlanningData) -> None:
    """**Constraint** availability_units, **enforced over** (m, r, t) with demand:

        sum_{g : (m,g) deployed} x_{m,g,r,t} / N_{m,g,r,t} + s_{m,r,t} >= 1

    N_{m,g,r,t} is the fewest units of type g whose ceil(D/c) working units are up with the
    availability target, each unit up with probability a = (1 - p)^u (failures.py): the
    binomial redundancy. s_{m,r,t} is the unserved share of serving_capacity, so a plan that
    leaves a share of demand unserved needs that share fewer units. With several node types
    the row interpolates between single-type pools, as the TTFT row does.

    **Constraint** spare_pool, **enforced over** (g, t) when failed nodes are swapped:

        spare_{g,t} >= rho_g serving_nodes_{g,t}

    rho_g = spares per node in service (the availability-quantile of nodes in repair at once for
    the busiest period's nodes, failures.spare_nodes). The node balance counts the spares.
    """
    if not data.availability_units:
        return

    def rule(mdl, m, r, t):
        if not _needs_availability_row(data, m, r, t):
            return pyo.Constraint.Skip
        pools = sum(mdl.serving_units[m, g, r, t] / float(data.availability_units[(m, g, r)][t])
                    for (mm, g) in data.deployments if mm == m and data.availability_units[(m, g, r)][t] > 0)
        return pools + mdl.unserved_share[m, r, t] >= 1.0

    model.availability_units = pyo.Constraint(model.SERVED_MODELS, ROLES, model.PERIODS, rule=rule)
    if data.spare_ratio:
        model.spare_nodes = pyo.Var(model.NODE_TYPES, model.PERIODS, within=pyo.NonNegativeIntegers)
        model.spare_pool = pyo.Constraint(
            model.NODE_TYPES, model.PERIODS,
            rule=lambda mdl, g, t: (mdl.spare_nodes[g, t] >= data.spare_ratio[g] * mdl.serving_nodes[g, t])
            if g in data.spare_ratio else pyo.Constraint.Skip)
