"""Node balance: nodes serving in a period never exceed the owned plus rented fleet."""

from __future__ import annotations

import pyomo.environ as pyo

from ..instance import PlanningData


def add_node_balance(model: pyo.ConcreteModel, data: PlanningData) -> None:
    """**Expression** serving_nodes_{g,t} = sum_{(m,g,r)} u_{m,g,r} x_{m,g,r,t}.

    **Constraint** node_balance, **enforced over** (g, t):

        serving_nodes_{g,t} + away_{g,t} - F_g - R_{g,t} <= 0

    away_{g,t} are the nodes training or switching back (nodes_away_from_serving of the
    switching family; 0 without training). The slack is the idle node count.
    """
    def serving_nodes_rule(mdl, g, t):
        return sum(
            data.unit_nodes[(m, gg, r)] * mdl.serving_units[m, gg, r, t]
            for (m, gg, r) in mdl.UNIT_KINDS
            if gg == g
        )

    model.serving_nodes = pyo.Expression(model.NODE_TYPES, model.PERIODS, rule=serving_nodes_rule)

    def node_balance_rule(mdl, g, t):
        away = mdl.nodes_away_from_serving[g, t] if hasattr(mdl, "nodes_away_from_serving") else 0
        return mdl.serving_nodes[g, t] + away - mdl.owned_nodes[g] - mdl.rented_nodes[g, t] <= 0

    model.node_balance = pyo.Constraint(model.NODE_TYPES, model.PERIODS, rule=node_balance_rule)
