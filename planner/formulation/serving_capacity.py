"""Serving capacity: whole prefill and decode units cover each period's demand, or it goes unserved."""

from __future__ import annotations

import pyomo.environ as pyo

from ..instance import PlanningData


def _no_demand(data: PlanningData, m: str, r: str, t: int) -> bool:
    """The row is not needed: nothing to serve in that role and period."""
    return data.role_demand_mtok(m, r)[t] <= 0.0


def add_serving_capacity(model: pyo.ConcreteModel, data: PlanningData) -> None:
    """**Constraint** serving_capacity, **enforced over** (m, r, t):

        sum_{g : (m,g) deployed} c_{m,g,r,t} x_{m,g,r,t} + e_{m,r,t} >= D_{m,r,t}

    x_{m,g,r,t} in Z+ are serving units (u_{m,g,r} nodes each); c_{m,g,r,t} is what one unit
    serves in period t in million tokens (input tokens for prefill at the period's cache-hit
    mix, output tokens for decode; see instance._unit_capacity_mtok); D_{m,r,t} the demand in
    million tokens; 0 <= e_{m,r,t} <= D_{m,r,t} the unserved tokens, priced in the objective.
    Demand is a constant on the right-hand side, so the row's dual is the marginal cost of a
    million tokens in $ (issue 8 reads it).
    """
    model.serving_units = pyo.Var(model.UNIT_KINDS, model.PERIODS, within=pyo.NonNegativeIntegers)

    def unserved_bounds(mdl, m, r, t):
        return (0.0, data.role_demand_mtok(m, r)[t])

    model.unserved_mtok = pyo.Var(
        model.SERVED_MODELS, model.ROLES, model.PERIODS, within=pyo.NonNegativeReals, bounds=unserved_bounds
    )

    def serving_capacity_rule(mdl, m, r, t):
        if _no_demand(data, m, r, t):
            return pyo.Constraint.Skip
        capacity = sum(
            data.unit_capacity_mtok[(m, g, r)][t] * mdl.serving_units[m, g, r, t]
            for (mm, g) in data.deployments
            if mm == m
        )
        return capacity + mdl.unserved_mtok[m, r, t] >= data.role_demand_mtok(m, r)[t]

    model.serving_capacity = pyo.Constraint(
        model.SERVED_MODELS, model.ROLES, model.PERIODS, rule=serving_capacity_rule
    )
