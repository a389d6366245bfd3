"""Node balance: nodes serving in a period never exceed the owned plus rented fleet."""

from __future__ import annotations

import pyomo.environ as pyo

from ..instance import PlanningData


def add_node_balance(model: pyo.ConcreteModel, data: PlanningData) -> None:
    """**Constraint** node_balance, **enforced over** (g, t):

        serving_nodes_{g,t} + away_{g,t} + spares_{g,t} - F_g - R_{g,t} <= 0

    serving_nodes_{g,t} = sum_{(m,g,r)} u_{m,g,r} x_{m,g,r,t} (an expression of serving_capacity).
    away_{g,t} are the nodes training or switching back (nodes_away_from_serving of the
    switching family; 0 without training); spares_{g,t} the spare pool of the availability family
    (0 without swaps), on the left-hand side too. The slack is the idle node count.
    """
    def node_balance_rule(mdl, g, t):
        away = mdl.nodes_away_from_serving[g, t] if hasattr(mdl, "nodes_away_from_serving") else 0
        spare = mdl.spare_nodes[g, t] if hasattr(mdl, "spare_nodes") else 0
        return mdl.serving_nodes[g, t] + away + spare - mdl.owned_nodes[g] - mdl.rented_nodes[g, t] <= 0

    model.node_balance = pyo.Constraint(model.NODE_TYPES, model.PERIODS, rule=node_balance_rule)
