"""Objective: owned fleet + rented node-hours + unserved tokens, in USD over the horizon."""

from __future__ import annotations

import pyomo.environ as pyo

from ..instance import PlanningData


#: Expressions in USD that families may add: costs are added, values subtracted.
COST_TERMS = ("owned_cost_usd", "rental_cost_usd", "unserved_penalty_usd", "ttft_shortfall_usd",
              "switching_cost_usd", "checkpoint_cost_usd")
VALUE_TERMS = ("job_value_usd", "harvest_value_usd")


def add_objective(model: pyo.ConcreteModel, data: PlanningData) -> None:
    """**Objective** total_cost_usd (minimize):

        sum_g a_g H F_g + (1/S) [ sum_{g,t} b_g Delta R_{g,t} + sum_{m,r,t} p_r D_{m,r,t} s_{m,r,t} ]

    a_g, b_g are the owned and rental prices in USD per node-hour (gpus_per_node x USD per
    GPU-hour), Delta the period length in hours, H = T Delta the horizon, p_r the penalty in USD
    per million unserved input (prefill) or output (decode) tokens, D_{m,r,t} the demand in
    million tokens and s_{m,r,t} its unserved share. An owned node costs every hour of the
    horizon whether used or not; a rented node only when rented. With S equally likely demand
    scenarios stacked as blocks of T periods, t runs over all S T periods and each per-period
    term is weighted 1/S: the owned fleet (first stage) plus the expected second stage (S = 1
    without scenarios). Families add COST_TERMS (TTFT shortfall, switching, checkpoints) and
    subtract VALUE_TERMS (training jobs done, harvested node-hours).
    """
    hours = data.horizon_hours
    weight = 1.0 / data.scenarios  # per-period terms are expectations over equally likely scenarios
    penalty = {
        "prefill": data.penalties.unserved_input_usd_per_million_tokens,
        "decode": data.penalties.unserved_output_usd_per_million_tokens,
    }
    model.owned_cost_usd = pyo.Expression(
        expr=sum(data.node_type(g).owned_usd_per_node_hour * hours * model.owned_nodes[g] for g in model.NODE_TYPES)
    )
    model.rental_cost_usd = pyo.Expression(
        expr=sum(
            weight * data.node_type(g).rental_usd_per_node_hour * data.period_hours * model.rented_nodes[g, t]
            for g in model.NODE_TYPES
            for t in model.PERIODS
        )
    )
    model.unserved_penalty_usd = pyo.Expression(
        expr=sum(
            weight * penalty[r] * data.role_demand_mtok(m, r)[t] * model.unserved_share[m, r, t]
            for (m, r, t) in model.unserved_share.index_set()
            if data.role_demand_mtok(m, r)[t] > 0
        )
    )
    costs = [getattr(model, name) for name in COST_TERMS if hasattr(model, name)]
    values = [getattr(model, name) for name in VALUE_TERMS if hasattr(model, name)]
    model.total_cost_usd = pyo.Objective(expr=sum(costs) - sum(values), sense=pyo.minimize)
