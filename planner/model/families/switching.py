"""Switching: nodes moved between serving and training lose time in that period, and may cost money."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family
from ..tables import component_frame, rounded


def _exports(model: pyo.ConcreteModel, data: PlanningData) -> dict:
    """Training nodes and the moves in and out per (node type, period)."""
    training = rounded(component_frame(model.training_nodes, ["node_type", "period"], "training_nodes"),
                       "training_nodes")
    # Moves from the training series itself: with free moves the switch variables are not held
    # down to the changes, so they are not read back.
    change = training.groupby("node_type")["training_nodes"].diff().fillna(training["training_nodes"])
    moves = training[["node_type", "period"]].copy()
    moves["switched_in"] = change.clip(lower=0).astype(np.int64)
    moves["switched_out"] = (-change).clip(lower=0).astype(np.int64)
    return {"training": training, "moves": moves}


@family(when_contributed=("training_nodes",), needs=("NODE_TYPES", "PERIODS"),
        provides=("training_nodes", "switch_in", "switch_out", "switch_in_rows", "switch_out_rows",
                  "nodes_away_from_serving", "switching_cost_usd"),
        consumes=("training_nodes",), contributes=("cost_usd", "nodes_off_serving"), tables=("training", "moves"),
        exports=_exports)
def add_switching(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """**Expression** training_nodes_{g,t}, over every (g, t): the sum of the pool training_nodes
    (job gangs and harvested granules).

    **Variables** i_{g,t} >= 0 (`switch_in`) and o_{g,t} >= 0 (`switch_out`), continuous, over
    every (g, t): nodes moved from serving into training, and back (this o is not the harvest's).

    **Constraints**, over (g, t), with training_nodes_{g,-1} = 0:

        switch_in_rows:   i_{g,t} >= training_nodes_{g,t} - training_nodes_{g,t-1}
        switch_out_rows:  o_{g,t} >= training_nodes_{g,t-1} - training_nodes_{g,t}

    A node moved back to serving in period t loses phi of that period (drain, weight load), so

        nodes_away_from_serving_{g,t} = training_nodes_{g,t} + phi o_{g,t}

    nodes are held away from serving (pool nodes_off_serving; the training side's loss is in the
    job lengths and the harvest value). Moves cost

        switching_cost_usd = c_switch sum_{g,t} (i_{g,t} + o_{g,t})

    (pool cost_usd). Because serving is in whole units, nodes taken from a serving unit take the
    whole unit's capacity with them: the node balance is over whole units.
    """
    phi = data.training.switch_share
    terms = pools["training_nodes"]
    model.training_nodes = pyo.Expression(model.NODE_TYPES, model.PERIODS,
                                          rule=lambda mdl, g, t: sum(term(g, t) for term in terms))
    model.switch_in = pyo.Var(model.NODE_TYPES, model.PERIODS, within=pyo.NonNegativeReals)
    model.switch_out = pyo.Var(model.NODE_TYPES, model.PERIODS, within=pyo.NonNegativeReals)

    def before(mdl, g, t):
        return mdl.training_nodes[g, t - 1] if t > 0 else 0

    model.switch_in_rows = pyo.Constraint(
        model.NODE_TYPES, model.PERIODS,
        rule=lambda mdl, g, t: mdl.switch_in[g, t] >= mdl.training_nodes[g, t] - before(mdl, g, t))
    model.switch_out_rows = pyo.Constraint(
        model.NODE_TYPES, model.PERIODS,
        rule=lambda mdl, g, t: mdl.switch_out[g, t] >= before(mdl, g, t) - mdl.training_nodes[g, t])
    model.nodes_away_from_serving = pyo.Expression(
        model.NODE_TYPES, model.PERIODS,
        rule=lambda mdl, g, t: mdl.training_nodes[g, t] + phi * mdl.switch_out[g, t])
    model.switching_cost_usd = pyo.Expression(expr=data.training.usd_per_node_switch * sum(
        model.switch_in[g, t] + model.switch_out[g, t] for g in model.NODE_TYPES for t in model.PERIODS))
    pools.add("cost_usd", model.switching_cost_usd)
    pools.add("nodes_off_serving", lambda g, t: model.nodes_away_from_serving[g, t])
