"""Day-ahead commitment: units committed from the forecast; real-time units on on-demand nodes only.

The commitment is one decision for every scenario; decisions that share a history are the same."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family
from ..tables import component_frame, rounded
from .serving_capacity import raise_unit_bound


def _commits_day_ahead(data: PlanningData) -> bool:
    """Instances with `scenarios.day_ahead: true`."""
    return data.day_ahead


def _exports(model: pyo.ConcreteModel, data: PlanningData) -> dict:
    frame = component_frame(model.committed_units, ["served_model", "node_type", "role", "period"], "committed_units")
    return {"committed": rounded(frame, "committed_units")}


def _start(model: pyo.ConcreteModel):
    """Nothing committed: every unit of the start is a real-time unit."""
    for var in model.committed_units.values():
        yield var, 0


@family(applies=_commits_day_ahead,
        needs=("serving_units", "rented_nodes", "UNIT_KINDS", "NODE_TYPES", "PERIODS"),
        provides=("BASE_PERIODS", "committed_units", "day_ahead_floor", "real_time_on_demand", "SHARED_HISTORIES",
                  "non_anticipative_units", "SHARED_RENTAL_HISTORIES", "non_anticipative_rentals"),
        tables=("committed",), exports=_exports, start=_start)
def add_day_ahead(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """With `scenarios.day_ahead`: the hours of the day are `BASE_PERIODS` = {0, ..., T-1}; period
    t of the extensive form is hour tau(t) = t mod T of scenario s(t) = floor(t / T).

    **Variables** y_{m,g,r,tau} in Z+ (`committed_units`, over `UNIT_KINDS` x `BASE_PERIODS`):
    units committed the day before for hour tau, from the forecast: one decision for every scenario
    (non-anticipative: it cannot depend on which scenario comes).

    **Bounds** A committed unit runs in every scenario, also one whose demand needs fewer units at
    that hour: the bound of x_{m,g,r,t} (`serving_capacity`'s ceil(D/c) and the floors) becomes
    the largest over the scenarios at hour tau(t), which also bounds y.

    **Constraints**

        day_ahead_floor:      x_{m,g,r,t} >= y_{m,g,r,tau(t)}                       for every t
        real_time_on_demand:  sum_{(m,r) : (m,g,r) in UNIT_KINDS} u_{m,g,r} (x_{m,g,r,t} - y_{m,g,r,tau(t)})
                                  <= R_{g,t}                                         for every (g, t)

    A committed unit serves in every scenario (it is formed and paid whatever comes); the units a
    scenario adds above its commitment are real-time units, on rented (on-demand) nodes R_{g,t}
    only: the leased fleet is committed ahead. With the family unit_commitment a unit started in
    real time serves (1 - phi_start) of its first hour (the on-demand lead time in which weights
    load and the unit forms); the commitment's min-up and start costs hold for it as for any unit.
    One scenario: y = x is feasible and costs nothing, so the plan is the deterministic one.

    **Non-anticipativity** (the scenarios as a tree): two scenarios whose demand is the same in
    hours 0..tau cannot be told apart at hour tau, so their hour-tau decisions are the same
    (`SHARED_HISTORIES`: the pairs (t, t') of such periods, `shared_histories`):

        non_anticipative_units:    x_{m,g,r,t} = x_{m,g,r,t'}
        non_anticipative_rentals:  R_{g,t} = R_{g,t'}      over the pairs alike in hours 0..tau - L_g

    An on-demand node is ordered L_g periods ahead (`rental.lead_hours` rounded up to periods,
    `SHARED_RENTAL_HISTORIES`): R_{g,t} can only depend on the demand of hours 0..tau - L_g, so
    two scenarios alike up to then rent the same; for tau < L_g every scenario rents the same
    (ordered the day before: `PlanningData.with_rentals_ordered_ahead` fixes them with an earlier
    plan's). L_g = 0 is the pairs above.

    Scenarios drawn independently hour by hour share no history, and then only the day-ahead
    commitment binds; a scenario file written as a tree (scenarios equal up to a branching hour)
    gets decisions that wait for the branch. A commitment given with the data
    (`PlanningData.with_commitment`: an earlier plan's, checked on fresh scenarios) is fixed.
    """
    periods = data.periods // data.scenarios
    model.BASE_PERIODS = pyo.Set(initialize=range(periods), ordered=True)
    # A committed unit runs in every scenario, also where that scenario's demand needs fewer: the
    # bound of x at hour tau becomes the largest over scenarios (still valid: no scenario needs more).
    largest = {}
    for (m, g, r) in model.UNIT_KINDS:
        for tau in range(periods):
            largest[m, g, r, tau] = max(model.serving_units[m, g, r, s * periods + tau].ub
                                        for s in range(data.scenarios))
            for s in range(data.scenarios):
                raise_unit_bound(model, (m, g, r, s * periods + tau), largest[m, g, r, tau])
    model.committed_units = pyo.Var(model.UNIT_KINDS, model.BASE_PERIODS, within=pyo.NonNegativeIntegers,
                                    bounds=lambda mdl, m, g, r, tau: (0, largest[m, g, r, tau]))
    for key, units in data.fixed_commitment.items():  # a commitment made before, tried on other scenarios
        if key in model.committed_units:
            model.committed_units[key].fix(units)
    for (g, tau), nodes in data.fixed_rentals.items():  # rentals ordered before the day, likewise
        if tau < min(data.lead_periods(g), periods):
            for s in range(data.scenarios):
                model.rented_nodes[g, s * periods + tau].fix(nodes)
    model.day_ahead_floor = pyo.Constraint(
        model.UNIT_KINDS, model.PERIODS,
        rule=lambda mdl, m, g, r, t: mdl.serving_units[m, g, r, t] >= mdl.committed_units[m, g, r, t % periods])

    def on_demand_rule(mdl, g, t):
        kinds = [(m, r) for (m, gg, r) in mdl.UNIT_KINDS if gg == g]
        if not kinds:
            return pyo.Constraint.Skip
        return sum(data.unit_nodes[(m, g, r)] * (mdl.serving_units[m, g, r, t] - mdl.committed_units[m, g, r, t % periods])
                   for m, r in kinds) <= mdl.rented_nodes[g, t]

    model.real_time_on_demand = pyo.Constraint(model.NODE_TYPES, model.PERIODS, rule=on_demand_rule)
    same = shared_histories(data)
    model.SHARED_HISTORIES = pyo.Set(initialize=range(len(same)), ordered=True)
    model.non_anticipative_units = pyo.Constraint(
        model.UNIT_KINDS, model.SHARED_HISTORIES,
        rule=lambda mdl, m, g, r, i: mdl.serving_units[m, g, r, same[i][0]] == mdl.serving_units[m, g, r, same[i][1]])
    ordered = [(g, t, u) for g in model.NODE_TYPES for t, u in shared_histories(data, data.lead_periods(g))]
    model.SHARED_RENTAL_HISTORIES = pyo.Set(initialize=range(len(ordered)), ordered=True)
    model.non_anticipative_rentals = pyo.Constraint(
        model.SHARED_RENTAL_HISTORIES,
        rule=lambda mdl, i: mdl.rented_nodes[ordered[i][0], ordered[i][1]] == mdl.rented_nodes[ordered[i][0], ordered[i][2]])


def shared_histories(data: PlanningData, lead: int = 0) -> list[tuple[int, int]]:
    """Pairs (t, t') of extensive-form periods of the same hour tau in two scenarios whose demand
    (every token column of every served model) is the same in hours 0..tau - lead (every pair of
    scenarios when tau - lead < 0: decided before the day): each period paired with the first
    scenario of its group."""
    periods = data.periods // data.scenarios
    columns = np.concatenate([np.asarray(v) for v in data.demand_tokens.values()])  # [columns x models, S*T]
    by_scenario = columns.reshape(columns.shape[0], data.scenarios, periods)
    pairs = []
    for tau in range(periods):
        first: dict[bytes, int] = {}
        for s in range(data.scenarios):
            key = np.ascontiguousarray(by_scenario[:, s, : max(tau + 1 - lead, 0)]).tobytes()
            if key in first:
                pairs.append((first[key] * periods + tau, s * periods + tau))
            else:
                first[key] = s
    return pairs
