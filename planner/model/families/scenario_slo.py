"""Chance constraint: the SLO holds in every period of at least a target share of scenarios."""

from __future__ import annotations

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family


def _has_chance_constraint(data: PlanningData) -> bool:
    """Instances with `scenarios.slo_share`."""
    return data.scenario_slo_share is not None


def _start(model: pyo.ConcreteModel):
    """Every scenario meets its SLO in the warm start."""
    for var in model.scenario_miss.values():
        yield var, 0


@family(applies=_has_chance_constraint,
        provides=("SCENARIOS", "scenario_miss", "SHORTFALLS", "scenario_slo_shortfall", "scenario_slo_share"),
        consumes=("service_shortfalls",), start=_start)
def add_scenario_slo(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """With `scenarios.slo_share` = beta: a binary miss_s (`scenario_miss`) per scenario s in
    `SCENARIOS` = {0, ..., S-1}; s(t) = floor(t / T) is the scenario of period t
    (`PlanningData.scenario_of`). For every service shortfall share sigma_k of the pool
    service_shortfalls, in period t_k (`SHORTFALLS` indexes them: the unserved shares s_{m,r,t} of
    every (m, r, t), rows without demand included, and, when the TTFT family applies, the TTFT
    pool shortfalls sigma_{m,t} of every (m, t)):

        scenario_slo_shortfall:  sigma_k <= miss_{s(t_k)}
        scenario_slo_share:      (1/S) sum_s miss_s <= 1 - beta

    Scenarios not allowed to miss serve all their demand at the SLO; the others still pay the
    penalty for what they leave unserved. Without slo_share the family does not apply, and misses
    only carry the penalty.
    """
    beta = data.scenario_slo_share
    shortfalls = [(var, period(key)) for var_component, period in pools["service_shortfalls"]
                  for key, var in var_component.items()]
    model.SCENARIOS = pyo.Set(initialize=range(data.scenarios), ordered=True)
    model.scenario_miss = pyo.Var(model.SCENARIOS, within=pyo.Binary)
    model.SHORTFALLS = pyo.Set(initialize=range(len(shortfalls)), ordered=True)
    model.scenario_slo_shortfall = pyo.Constraint(
        model.SHORTFALLS,
        rule=lambda mdl, k: shortfalls[k][0] <= mdl.scenario_miss[data.scenario_of(shortfalls[k][1])])
    model.scenario_slo_share = pyo.Constraint(
        expr=sum(model.scenario_miss[s] for s in model.SCENARIOS) / data.scenarios <= 1.0 - beta)
