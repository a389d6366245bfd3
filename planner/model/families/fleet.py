"""Fleet: owned nodes for the whole horizon and rented nodes per period, and what they cost."""

from __future__ import annotations

import math

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family
from ..tables import component_frame, rounded


def _exports(model: pyo.ConcreteModel, data: PlanningData) -> dict:
    return {"owned": rounded(component_frame(model.owned_nodes, ["node_type"], "owned_nodes"), "owned_nodes"),
            "rented": rounded(component_frame(model.rented_nodes, ["node_type", "period"], "rented_nodes"),
                              "rented_nodes")}


def _start(model: pyo.ConcreteModel):
    """The LP's owned fleet rounded up, within its bound."""
    for var in model.owned_nodes.values():
        yield var, min(math.ceil(var.value - 1e-6), var.ub if var.ub is not None else math.inf)


@family(needs=("NODE_TYPES", "PERIODS"),
        provides=("owned_nodes", "rented_nodes", "owned_cost_usd", "rental_cost_usd"),
        contributes=("cost_usd",), tables=("owned", "rented"), exports=_exports, start=_start)
def add_fleet(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """Owned fleet F_g and rented nodes R_{g,t}, and what they cost.

    **Variables** F_g in Z+ (`owned_nodes`: nodes for the whole horizon) and R_{g,t} in Z+
    (`rented_nodes`: nodes in period t), over every node type g and period t.

    **Bounds** (variable bounds, not rows):

        F^min_g <= F_g <= F^max_g          (owned.min_nodes, owned.max_nodes)
        0 <= R_{g,t} <= R^max_g            (rental.max_nodes)

    A missing maximum is no limit. A node type without an `owned` section has
    F^min_g = F^max_g = 0; one without a `rental` section has R^max_g = 0.

    **Costs** (pool cost_usd), with a_g, b_g the owned and rental prices in USD per node-hour
    (gpus_per_node x USD per GPU-hour; 0 without the section), Delta the period length in hours,
    H = T Delta the horizon and S equally likely scenarios stacked as blocks of periods:

        owned_cost_usd  = sum_g a_g H F_g                    (every hour of the horizon, used or not)
        rental_cost_usd = (1/S) sum_{g,t} b_g Delta R_{g,t}  (only when rented; expected over scenarios)
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
    weight = 1.0 / data.scenarios  # per-period terms are expectations over equally likely scenarios
    model.owned_cost_usd = pyo.Expression(expr=sum(
        data.node_type(g).owned_usd_per_node_hour * data.horizon_hours * model.owned_nodes[g]
        for g in model.NODE_TYPES))
    model.rental_cost_usd = pyo.Expression(expr=sum(
        weight * data.node_type(g).rental_usd_per_node_hour * data.period_hours * model.rented_nodes[g, t]
        for g in model.NODE_TYPES for t in model.PERIODS))
    pools.add("cost_usd", model.owned_cost_usd)
    pools.add("cost_usd", model.rental_cost_usd)
