"""Node balance: nodes serving in a period, plus those held away from serving, never exceed the fleet."""

from __future__ import annotations

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family


@family(needs=("serving_nodes", "owned_nodes", "rented_nodes", "NODE_TYPES", "PERIODS"),
        provides=("node_balance",), consumes=("nodes_off_serving", "nodes_on_hand"))
def add_node_balance(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """**Constraint** `node_balance`, **enforced over** (g, t):

        serving_nodes_{g,t} + sum_{k in nodes_off_serving} k_{g,t} - F_g - R_{g,t} - sum_{v in nodes_on_hand} v_{g,t} <= 0

    serving_nodes_{g,t} = sum_{(m,g,r)} u_{m,g,r} x_{m,g,r,t} (serving_capacity). The pool
    nodes_off_serving holds the nodes the fleet keeps but that do not serve: training and nodes
    moving back (switching), spares (spare_pool); empty, the row is serving <= fleet. The slack
    is the idle node count. The pool nodes_on_hand holds the fleet's nodes beyond F_g and R_{g,t}
    (reserved contracts); empty, the fleet is F_g + R_{g,t}.
    """
    away, extra = pools["nodes_off_serving"], pools["nodes_on_hand"]

    def node_balance_rule(mdl, g, t):
        held = sum(term(g, t) for term in away)
        more = sum(term(g, t) for term in extra)
        return mdl.serving_nodes[g, t] + held - mdl.owned_nodes[g] - mdl.rented_nodes[g, t] - more <= 0

    model.node_balance = pyo.Constraint(model.NODE_TYPES, model.PERIODS, rule=node_balance_rule)
