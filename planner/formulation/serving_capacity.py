"""Serving capacity: whole prefill and decode units cover each period's demand, or it goes unserved."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from ..instance import PlanningData


def _no_demand(data: PlanningData, m: str, r: str, t: int) -> bool:
    """The row is not needed: nothing to serve in that role and period."""
    return data.role_demand_mtok(m, r)[t] <= 0.0


def _max_useful_units(data: PlanningData, m: str, g: str, r: str, t: int) -> int:
    """A valid upper bound: no more units of type g than g alone needs for all of the period's
    demand, its TTFT floor and its availability floor (more would only add cost)."""
    alone = np.ceil(data.role_demand_mtok(m, r)[t] / data.unit_capacity_mtok[(m, g, r)][t] - 1e-9)
    floors = [alone]
    if r == "prefill":
        floors.append(data.min_prefill_units[(m, g)][t])
    if data.availability_units:
        floors.append(data.availability_units[(m, g, r)][t])
    return int(max(floors))


def add_serving_capacity(model: pyo.ConcreteModel, data: PlanningData) -> None:
    """**Constraint** serving_capacity, **enforced over** (m, r, t) with D_{m,r,t} > 0:

        sum_{g : (m,g) deployed} (c_{m,g,r,t} / D_{m,r,t}) x_{m,g,r,t} + s_{m,r,t} >= 1

    i.e. capacity + unserved >= demand, each row divided by its demand so that the right-hand
    side is 1 whatever the scale (10^3 or 10^15 tokens a day stay within solver tolerances).
    x_{m,g,r,t} in Z+ are serving units (u_{m,g,r} nodes each); c_{m,g,r,t} is what one unit
    serves in period t in million tokens (input tokens for prefill at the period's cache-hit
    mix, output tokens for decode; see instance._unit_capacity_mtok); D_{m,r,t} the demand in
    million tokens; 0 <= s_{m,r,t} <= 1 the unserved share, priced in the objective at
    p_r D_{m,r,t}. Unserved tokens are s_{m,r,t} D_{m,r,t}. The row's dual divided by
    D_{m,r,t} is the marginal cost of a million tokens in $. With penalties.allow_unserved false,
    s = 0: every token must be served.

    **Bounds** 0 <= x_{m,g,r,t} <= max(ceil(D_{m,r,t} / c_{m,g,r,t}), TTFT and availability floors):
    type g alone never needs more (_max_useful_units); a valid bound that cuts the search.

    **Expression** serving_nodes_{g,t} = sum_{(m,g,r)} u_{m,g,r} x_{m,g,r,t}.
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
            for (mm, g) in data.deployments
            if mm == m
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
