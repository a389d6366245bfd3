"""Node balance: nodes serving in a period never exceed the owned plus rented fleet."""

from __future__ import annotations

import pyomo.environ as pyo

from ..instance import PlanningData


def add_node_balance(model: pyo.ConcreteModel, data: PlanningData) -> None:
    """**Expression** serving_nodes_{g,t} = sum_{(m,g,r)} u_{m,g,r} x_{m,g,r,t}.

    **Constraint** node_balance, **enforced over** (g, t):

        serving_nodes_{g,t} - F_g - R_{g,t} <= 0

    The slack F_g + R_{g,t} - serving_nodes_{g,t} is the idle node count (nodes that could
    train); the training family adds its nodes to the left-hand side.
    """
    def serving_nodes_rule(mdl, g, t):
        return sum(
            data.unit_nodes[(m, gg, r)] * mdl.serving_units[m, gg, r, t]
            for (m, gg, r) in mdl.UNIT_KINDS
            if gg == g
        )

    model.serving_nodes = pyo.Expression(model.NODE_TYPES, model.PERIODS, rule=serving_nodes_rule)

    def node_balance_rule(mdl, g, t):
        return mdl.serving_nodes[g, t] - mdl.owned_nodes[g] - mdl.rented_nodes[g, t] <= 0

    model.node_balance = pyo.Constraint(model.NODE_TYPES, model.PERIODS, rule=node_balance_rule)
