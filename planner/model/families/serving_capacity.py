"""Serving capacity: whole prefill and decode units cover each period's demand, or it goes unserved."""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family
from ..tables import component_frame, rounded


def _no_demand(data: PlanningData, m: str, r: str, t: int) -> bool:
    """The row is not needed: nothing to serve in that role and period."""
    return data.role_demand_mtok(m, r)[t] <= 0.0


def _max_useful_units(data: PlanningData, m: str, g: str, r: str, t: int) -> int:
    """A valid upper bound: no more units of type g than g alone needs for all of the period's
    demand (more would only add cost). A family that sets a floor on units (TTFT,
    availability) raises the bound to its floor (raise_unit_bound)."""
    return int(np.ceil(data.role_demand_mtok(m, r)[t] / data.unit_capacity_mtok[(m, g, r)][t] - 1e-9))


def raise_unit_bound(model: pyo.ConcreteModel, key: tuple[str, str, str, int], floor: float) -> None:
    """Let x_{m,g,r,t} reach a floor another family sets on it (the bound stays valid: type g alone
    never needs more than the larger of its demand's units and the floor)."""
    var = model.serving_units[key]
    if floor > var.ub:
        var.setub(int(floor))


def _exports(model: pyo.ConcreteModel, data: PlanningData) -> dict:
    units = rounded(component_frame(model.serving_units, ["served_model", "node_type", "role", "period"], "units"),
                    "units")
    units["nodes"] = [data.unit_nodes[k] * n
                      for k, n in zip(zip(units.served_model, units.node_type, units.role), units.units)]
    unserved = component_frame(model.unserved_share, ["served_model", "role", "period"], "unserved_share")
    unserved["unserved_mtok"] = [
        share * data.role_demand_mtok(m, r)[t]
        for m, r, t, share in unserved[["served_model", "role", "period", "unserved_share"]].itertuples(index=False)
    ]
    return {"units": units, "unserved": unserved}


def _start(model: pyo.ConcreteModel):
    """Every serving unit of the LP rounded up: capacity only grows."""
    for var in model.serving_units.values():
        yield var, math.ceil(var.value - 1e-6)


@family(needs=("UNIT_KINDS", "PERIODS", "SERVED_MODELS", "ROLES", "NODE_TYPES"),
        provides=("serving_units", "unserved_share", "serving_capacity", "serving_nodes", "unserved_penalty_usd"),
        contributes=("cost_usd", "service_shortfalls", "demand_rows"), tables=("units", "unserved"), exports=_exports, start=_start)
def add_serving_capacity(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """**Variables** x_{m,g,r,t} in Z+ (`serving_units`, over `UNIT_KINDS` x `PERIODS`): whole
    serving units, u_{m,g,r} nodes each; s_{m,r,t} in [0, 1] (`unserved_share`, over every
    (m, r, t)): the share of the demand not served.

    **Constraint** `serving_capacity`, **enforced over** (m, r, t) with D_{m,r,t} > 0 (rows
    without demand are skipped, `_no_demand`):

        sum_{g : (m,g) deployed} (c_{m,g,r,t} / D_{m,r,t}) x_{m,g,r,t} + s_{m,r,t} >= 1

    i.e. capacity + unserved >= demand, each row divided by its demand so that the right-hand
    side is 1 whatever the scale (10^3 or 10^15 tokens a day stay within solver tolerances).
    c_{m,g,r,t} is what one unit serves in period t in million tokens (input tokens for prefill
    at the period's cache-hit mix, output tokens for decode; `physics.compile._unit_capacity_mtok`)
    and D_{m,r,t} the demand in million tokens. Unserved tokens are s_{m,r,t} D_{m,r,t}. The row
    grows with demand (pool demand_rows): its dual divided by D_{m,r,t} is the marginal cost of a
    million tokens in USD. With `penalties.allow_unserved` false, s is fixed at 0: every token
    must be served.

    **Bounds** 0 <= x_{m,g,r,t} <= ceil(D_{m,r,t} / c_{m,g,r,t} - 1e-9) (`_max_useful_units`; 0 in
    a period without demand): type g alone never needs more, so the bound is valid, and it cuts
    the search. A family that sets a floor on units (TTFT, availability) raises the bound to its
    floor (`raise_unit_bound`).

    **Expression** serving_nodes_{g,t} = sum_{(m,g,r) in UNIT_KINDS} u_{m,g,r} x_{m,g,r,t}.

    **Cost** (pool cost_usd), p_r the penalty in USD per million unserved input (prefill) or
    output (decode) tokens, weighted 1/S with S equally likely scenarios:

        unserved_penalty_usd = (1/S) sum_{(m,r,t) : D_{m,r,t} > 0} p_r D_{m,r,t} s_{m,r,t}

    The unserved shares s of every (m, r, t) are service shortfalls (pool service_shortfalls): a
    scenario with s > 0 misses its SLO.
    """
    model.serving_units = pyo.Var(model.UNIT_KINDS, model.PERIODS, within=pyo.NonNegativeIntegers,
                                  bounds=lambda mdl, m, g, r, t: (0, _max_useful_units(data, m, g, r, t)))
    model.unserved_share = pyo.Var(model.SERVED_MODELS, model.ROLES, model.PERIODS, bounds=(0.0, 1.0))

    def serving_capacity_rule(mdl, m, r, t):
        if _no_demand(data, m, r, t):
            return pyo.Constraint.Skip
        demand = data.role_demand_mtok(m, r)[t]
        capacity_share = sum(
            (data.unit_capacity_mtok[(m, g, r)][t] / demand) * mdl.serving_units[m, g, r, t]
            for g in data.deployed_types(m)
        )
        return capacity_share + mdl.unserved_share[m, r, t] >= 1.0

    model.serving_capacity = pyo.Constraint(
        model.SERVED_MODELS, model.ROLES, model.PERIODS, rule=serving_capacity_rule
    )
    if not data.penalties.allow_unserved:  # shortfall not allowed: s = 0, a hard limit
        model.unserved_share.fix(0.0)

    def serving_nodes_rule(mdl, g, t):
        return sum(data.unit_nodes[(m, gg, r)] * mdl.serving_units[m, gg, r, t]
                   for (m, gg, r) in mdl.UNIT_KINDS if gg == g)

    model.serving_nodes = pyo.Expression(model.NODE_TYPES, model.PERIODS, rule=serving_nodes_rule)
    weight = 1.0 / data.scenarios
    model.unserved_penalty_usd = pyo.Expression(expr=sum(
        weight * data.penalties.usd_per_mtok(r) * data.role_demand_mtok(m, r)[t] * model.unserved_share[m, r, t]
        for (m, r, t) in model.unserved_share.index_set()
        if data.role_demand_mtok(m, r)[t] > 0))
    pools.add("cost_usd", model.unserved_penalty_usd)
    pools.add("service_shortfalls", (model.unserved_share, lambda key: key[2]))
    pools.add("demand_rows", dict(model.serving_capacity.items()))
