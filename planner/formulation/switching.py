"""Switching: nodes moved between serving and training lose time in that period, and may cost money."""

from __future__ import annotations

import pyomo.environ as pyo

from ..instance import PlanningData


def add_switching(model: pyo.ConcreteModel, data: PlanningData) -> None:
    """**Expression** training_nodes_{g,t} = job_nodes_{g,t} + k h_{g,t} (nodes away from serving).

    **Constraints**, over (g, t), with training_nodes_{g,-1} = 0:

        switch_in:   i_{g,t} >= training_nodes_{g,t} - training_nodes_{g,t-1}
        switch_out:  o_{g,t} >= training_nodes_{g,t-1} - training_nodes_{g,t}

    A node moved back to serving in period t loses phi of that period (drain, weight load), so
    the node balance counts training_nodes_{g,t} + phi o_{g,t} nodes away from serving (the
    training side's loss is in the job lengths and the harvest value). Moves cost
    switching_cost_usd = c_switch sum_{g,t} (i_{g,t} + o_{g,t}).
    Because serving is in whole units, nodes taken from a serving unit take the whole unit's
    capacity with them: the node balance is over whole units.
    """
    if not data.training.active:
        return
    k, phi = data.training.granule_nodes, data.training.switch_share

    def training_rule(mdl, g, t):
        jobs = mdl.job_nodes[g, t] if hasattr(mdl, "job_nodes") else 0
        harvest = k * mdl.harvest_granules[g, t] if g in data.training.harvest else 0
        return jobs + harvest

    model.training_nodes = pyo.Expression(model.NODE_TYPES, model.PERIODS, rule=training_rule)
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
