"""Chance constraint: the SLO holds in every period of at least a target share of scenarios."""

from __future__ import annotations

import pyomo.environ as pyo

from ..instance import PlanningData


def add_scenario_slo(model: pyo.ConcreteModel, data: PlanningData) -> None:
    """With scenarios.slo_share = beta: binary miss_s per scenario,

        scenario_slo_unserved:  s_{m,r,t} <= miss_{s(t)}           (every served model, role, period)
        scenario_slo_ttft:      sigma_{m,t} <= miss_{s(t)}         (when TTFT rows exist)
        scenario_slo_share:     (1/S) sum_s miss_s <= 1 - beta

    Scenarios not allowed to miss serve all their demand at the SLO; the others still pay the
    penalty for what they leave unserved. Without slo_share, misses only carry the penalty.
    """
    beta = data.spec.scenarios.slo_share
    if beta is None:
        return
    model.SCENARIOS = pyo.Set(initialize=range(data.scenarios), ordered=True)
    model.scenario_miss = pyo.Var(model.SCENARIOS, within=pyo.Binary)
    model.scenario_slo_unserved = pyo.Constraint(
        model.SERVED_MODELS, model.ROLES, model.PERIODS,
        rule=lambda mdl, m, r, t: mdl.unserved_share[m, r, t] <= mdl.scenario_miss[data.scenario_of(t)])
    if hasattr(model, "ttft_shortfall_share"):
        model.scenario_slo_ttft = pyo.Constraint(
            model.SERVED_MODELS, model.PERIODS,
            rule=lambda mdl, m, t: mdl.ttft_shortfall_share[m, t] <= mdl.scenario_miss[data.scenario_of(t)])
    model.scenario_slo_share = pyo.Constraint(
        expr=sum(model.scenario_miss[s] for s in model.SCENARIOS) / data.scenarios <= 1.0 - beta)
