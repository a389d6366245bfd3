"""Harvest: open-ended training on spare nodes, in granules, in windows of a minimum length."""

from __future__ import annotations

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family
from ..tables import component_frame, rounded


def _has_harvest(data: PlanningData) -> bool:
    """Instances with a harvest (`training.harvest`)."""
    return bool(data.training.harvest)


def _window_would_pass_the_horizon(data: PlanningData, g: str, t: int) -> bool:
    """A window opened in period t could not last its minimum length inside the horizon."""
    return t > data.periods - data.training.harvest[g].min_window_periods


def _exports(model: pyo.ConcreteModel, data: PlanningData) -> dict:
    """Harvested nodes per (node type, period) and the nodes moved in to open or widen a window."""
    k = data.training.granule_nodes
    table = component_frame(model.harvest_granules, ["node_type", "period"], "harvest_nodes")
    table["opened_nodes"] = component_frame(model.harvest_opened, ["node_type", "period"], "o")["o"]
    return {"harvest": rounded(rounded(table, "harvest_nodes", k), "opened_nodes", k)}


def _start(model: pyo.ConcreteModel):
    """Nothing harvested in the warm start."""
    for var in model.harvest_granules.values():
        yield var, 0


@family(applies=_has_harvest, needs=("PERIODS",),
        provides=("HARVEST_TYPES", "harvest_granules", "harvest_opened", "harvest_opened_rows", "harvest_window",
                  "harvest_value_usd"),
        contributes=("value_usd", "training_nodes"), tables=("harvest",), exports=_exports, start=_start)
def add_training_harvest(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """Harvest granules h_{g,t} in Z+ (`harvest_granules`, k nodes each, k = training.granule_nodes)
    over `HARVEST_TYPES` x `PERIODS`, in any period of the horizon (a harvest has no window of its
    own), at value v_g per node-hour, with windows of at least M_g periods; o_{g,t} >= 0
    (`harvest_opened`, continuous) are the granules moved into the harvest in period t:

        harvest_opened_rows:  o_{g,t} >= h_{g,t} - h_{g,t-1}              (h_{g,-1} = 0)
        harvest_window:       h_{g,t} >= sum_{tau = max(0, t - M_g + 1)}^{t} o_{g,tau}
        bound:                o_{g,t} = 0 for t > T - M_g   (a window opened then would end past the horizon)
        bound:                h_{g,t} <= max_nodes_g / k    (none when max_nodes is null)

    (the aggregated minimum up-time of unit commitment: every granule moved into training in
    period tau stays there through tau + M_g - 1). **Expressions** k h_{g,t} nodes in training
    (pool training_nodes; 0 on a node type without a harvest) and

        harvest_value_usd = sum_{g,t} v_g Delta k (h_{g,t} - phi o_{g,t})

    (pool value_usd): the first period of a window loses phi of itself to the move.
    """
    harvest = data.training.harvest
    k, phi = data.training.granule_nodes, data.training.switch_share
    model.HARVEST_TYPES = pyo.Set(initialize=list(harvest), ordered=True)
    model.harvest_granules = pyo.Var(model.HARVEST_TYPES, model.PERIODS, within=pyo.NonNegativeIntegers,
                                     bounds=lambda mdl, g, t: (0, harvest[g].max_granules))
    model.harvest_opened = pyo.Var(
        model.HARVEST_TYPES, model.PERIODS, within=pyo.NonNegativeReals,
        bounds=lambda mdl, g, t: (0, 0 if _window_would_pass_the_horizon(data, g, t) else None))

    def opened_rule(mdl, g, t):
        before = mdl.harvest_granules[g, t - 1] if t > 0 else 0
        return mdl.harvest_opened[g, t] >= mdl.harvest_granules[g, t] - before

    def window_rule(mdl, g, t):
        first = max(0, t - harvest[g].min_window_periods + 1)
        return mdl.harvest_granules[g, t] >= sum(mdl.harvest_opened[g, s] for s in range(first, t + 1))

    model.harvest_opened_rows = pyo.Constraint(model.HARVEST_TYPES, model.PERIODS, rule=opened_rule)
    model.harvest_window = pyo.Constraint(model.HARVEST_TYPES, model.PERIODS, rule=window_rule)
    model.harvest_value_usd = pyo.Expression(expr=sum(
        harvest[g].usd_per_node_hour * data.period_hours * k
        * (model.harvest_granules[g, t] - phi * model.harvest_opened[g, t])
        for g in harvest for t in model.PERIODS))
    pools.add("training_nodes", lambda g, t: k * model.harvest_granules[g, t] if g in harvest else 0)
    pools.add("value_usd", model.harvest_value_usd)
