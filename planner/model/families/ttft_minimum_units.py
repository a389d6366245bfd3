"""TTFT: enough prefill units in every period that the queueing delay meets the SLO percentile."""

from __future__ import annotations

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family
from ..tables import component_frame
from .serving_capacity import raise_unit_bound


def _has_ttft_target(data: PlanningData) -> bool:
    """Instances with a TTFT target (`slo.ttft_s`) that some type can meet in some period with demand."""
    return any((units > 0).any() for units in data.min_prefill_units.values())


def _needs_ttft_row(data: PlanningData, m: str, t: int) -> bool:
    """The row is needed: some node type needs at least one unit for this model in period t."""
    return any(data.min_prefill_units[(m, g)][t] > 0 for g in data.deployed_types(m))


def _exports(model: pyo.ConcreteModel, data: PlanningData) -> dict:
    return {"ttft_shortfall": component_frame(model.ttft_shortfall_share, ["served_model", "period"],
                                              "shortfall_share")}


@family(applies=_has_ttft_target, needs=("serving_units", "SERVED_MODELS", "PERIODS"),
        provides=("ttft_shortfall_share", "ttft_minimum_units", "ttft_shortfall_usd"),
        contributes=("cost_usd", "service_shortfalls", "demand_rows"), tables=("ttft_shortfall",), exports=_exports)
def add_ttft_minimum_units(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """**Variable** sigma_{m,t} in [0, 1] (`ttft_shortfall_share`, over every (m, t)): the share of
    the TTFT prefill pool missing.

    **Constraint** `ttft_minimum_units`, **enforced over** (m, t) where some deployed type has
    n_{m,g,t} > 0 (`_needs_ttft_row`: the served model has a TTFT target and input demand in t):

        sum_{g : n_{m,g,t} > 0} x_{m,g,prefill,t} / n_{m,g,t} + sigma_{m,t} >= 1

    n_{m,g,t} is the fewest prefill units of node type g alone whose TTFT percentile meets the
    target (`physics.slo.min_units_for_ttft`: the tail of wait + prefill time, the wait from
    Erlang C with the Allen-Cunneen correction, at the period's peak arrival rate; 0 without a
    target or demand, -1 where the target is below the percentile of g's prefill time alone). With one node type the row
    is x >= n (1 - sigma); with several, a mix of types qualifies when its units, each counted as
    a share 1/n_{m,g,t} of a qualifying pool, add up to one (a linear interpolation between
    single-type pools). sigma lets a fleet too small for the target still give a plan: the
    shortfall is priced like that share of the period's input tokens going unserved (pool
    cost_usd),

        ttft_shortfall_usd = (1/S) sum_{(m,t) with a row} p_prefill D_{m,prefill,t} sigma_{m,t}

    and sigma is a service shortfall (pool service_shortfalls). The floor grows with demand, so
    the row joins the demand rows of the marginal cost under the key (m, prefill, t) (pool
    demand_rows).

    **Bounds** Where n_{m,g,t} = -1 (type g cannot meet the target at all) and another type can,
    x_{m,g,prefill,t} is fixed at 0: no prefill of that model on g in that period. Where no type
    can (the target is unattainable in t), there is no row and no unit is fixed: the period is
    counted in `summary.json`'s `ttft_unattainable_periods`. Elsewhere the bound of
    x_{m,g,prefill,t} is raised to n_{m,g,t} (`raise_unit_bound`). With
    `penalties.allow_unserved` false, sigma is fixed at 0: the target is a hard limit.
    """
    model.ttft_shortfall_share = pyo.Var(model.SERVED_MODELS, model.PERIODS, bounds=(0.0, 1.0))

    def rule(mdl, m, t):
        if not _needs_ttft_row(data, m, t):
            return pyo.Constraint.Skip
        need = {g: float(data.min_prefill_units[(m, g)][t]) for g in data.deployed_types(m)}
        pools_ = sum(mdl.serving_units[m, g, "prefill", t] / n for g, n in need.items() if n > 0)
        return pools_ + mdl.ttft_shortfall_share[m, t] >= 1.0

    model.ttft_minimum_units = pyo.Constraint(model.SERVED_MODELS, model.PERIODS, rule=rule)
    if not data.penalties.allow_unserved:  # the SLO is a hard limit too
        model.ttft_shortfall_share.fix(0.0)
    penalty = data.penalties.unserved_input_usd_per_million_tokens
    model.ttft_shortfall_usd = pyo.Expression(expr=sum(
        penalty / data.scenarios * data.role_demand_mtok(m, "prefill")[t] * model.ttft_shortfall_share[m, t]
        for m in model.SERVED_MODELS for t in model.PERIODS if _needs_ttft_row(data, m, t)))
    for (m, g), units in data.min_prefill_units.items():
        nowhere = data.ttft_unattainable(m)
        for t in range(data.periods):
            if nowhere[t]:
                continue
            if units[t] < 0:
                model.serving_units[m, g, "prefill", t].fix(0)
            else:
                raise_unit_bound(model, (m, g, "prefill", t), units[t])
    pools.add("cost_usd", model.ttft_shortfall_usd)
    pools.add("service_shortfalls", (model.ttft_shortfall_share, lambda key: key[1]))
    pools.add("demand_rows", {(m, "prefill", t): row for (m, t), row in model.ttft_minimum_units.items()})
