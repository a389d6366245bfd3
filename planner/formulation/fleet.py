"""Fleet: owned nodes for the whole horizon and rented nodes per period."""

from __future__ import annotations

import pyomo.environ as pyo

from ..instance import PlanningData


def add_fleet(model: pyo.ConcreteModel, data: PlanningData) -> None:
    """Owned fleet F_g and rented nodes R_{g,t}.

    **Variables** F_g in Z+ (nodes, whole horizon), R_{g,t} in Z+ (nodes in period t).
    **Bounds** owned_min_g <= F_g <= owned_max_g; 0 <= R_{g,t} <= rental_max_g. A node type
    without an `owned` (`rental`) section has its maximum at 0; a missing maximum is no limit.
    """
    def owned_bounds(m, g):
        t = data.node_type(g)
        return (t.owned_min_nodes, t.owned_max_nodes)

    def rented_bounds(m, g, p):
        return (0, data.node_type(g).rental_max_nodes)

    model.owned_nodes = pyo.Var(model.NODE_TYPES, within=pyo.NonNegativeIntegers, bounds=owned_bounds)
    model.rented_nodes = pyo.Var(
        model.NODE_TYPES, model.PERIODS, within=pyo.NonNegativeIntegers, bounds=rented_bounds
    )
