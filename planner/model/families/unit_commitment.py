"""Unit commitment: serving units take time and money to form, and stay up a minimum time."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from ...physics.data import PlanningData
from ...units import ROLES
from ..contract import Pools, family
from .serving_capacity import raise_unit_bound

OTHER_ROLE = {"prefill": "decode", "decode": "prefill"}


def _commits(data: PlanningData) -> bool:
    """Instances with a deployment whose profile has a `commitment` section."""
    return bool(data.commitment)


def _previous(data: PlanningData, t: int) -> int:
    """The period before t in its scenario's horizon, which repeats: period 0 follows the last."""
    first = t - t % data.horizon_periods
    return t - 1 if t > first else first + data.horizon_periods - 1


def _window(data: PlanningData, t: int, length: int) -> list[int]:
    """The `length` periods ending with t, backwards through the repeating horizon (at most all of it)."""
    out = [t]
    for _ in range(min(length, data.horizon_periods) - 1):
        out.append(_previous(data, out[-1]))
    return out


def _most_useful_units(model: pyo.ConcreteModel, data: PlanningData, k: tuple[str, str, str]) -> int:
    """N_k: the most units of kind k any period can use once units take time to form and stay up:
    the largest bound any period has (its demand's units and the floors), over 1 - phi_start when
    the forming units must make up for themselves (phi_start < 1; at phi_start = 1 units form ahead)."""
    phi = data.commitment[k[:2]].start_share
    most = max(model.serving_units[(*k, t)].ub for t in model.PERIODS)
    return math.ceil(most / (1.0 - phi) - 1e-9) if phi < 1 else most


def _raise_bounds_for_commitment(model: pyo.ConcreteModel, data: PlanningData, k: tuple[str, str, str]) -> None:
    """Units may be up where no demand needs them (held by the minimum up time, formed ahead of
    demand) and more of them than the demand's units (forming ones serve less): every period's
    bound is raised to N_k, which stays valid (no plan needs more)."""
    most = _most_useful_units(model, data, k)
    for t in model.PERIODS:
        raise_unit_bound(model, (*k, t), most)


def _exports(model: pyo.ConcreteModel, data: PlanningData) -> dict:
    """Tables: `commitment`. Starts and stops are read from the units' changes, not from y and z
    (where forming costs nothing they are not held down to the changes): y* = (x_t - x_{t-1})+,
    z* = (x_t - x_{t-1})-, and the nodes converted into a role the most its starts and the other
    role's stops allow, min(u_r y*_r, u_r' z*_r')."""
    x = model.serving_units
    rows = []
    for (m, g, r) in model.COMMITTED_KINDS:
        other = (m, g, OTHER_ROLE[r])
        for t in model.PERIODS:
            change = round(x[m, g, r, t].value) - round(x[m, g, r, _previous(data, t)].value)
            other_change = round(x[(*other, t)].value) - round(x[(*other, _previous(data, t))].value)
            converted = min(data.unit_nodes[(m, g, r)] * max(change, 0), data.unit_nodes[other] * max(-other_change, 0))
            rows.append({"served_model": m, "node_type": g, "role": r, "period": t, "units_started": max(change, 0),
                         "units_stopped": max(-change, 0), "nodes_converted_in": converted})
    return {"commitment": pd.DataFrame(rows, columns=["served_model", "node_type", "role", "period", "units_started",
                                                      "units_stopped", "nodes_converted_in"])}


def _summary(tables: Mapping[str, pd.DataFrame], data: PlanningData) -> dict[str, Any]:
    """summary.json's `commitment`: starts, stops, conversions and what forming costs, per
    horizon (expected over scenarios)."""
    t = tables["commitment"]
    per = 1.0 / data.scenarios
    nodes = t.apply(lambda row: row.units_started * data.unit_nodes[(row.served_model, row.node_type, row.role)], axis=1)
    lost = sum(
        data.period_hours * (c.start_share * data.unit_nodes[(m, g, r)] * row_starts - (c.start_share - c.convert_share) * row_in)
        for (m, g, r), rows in t.groupby(["served_model", "node_type", "role"])
        for c, row_starts, row_in in [(data.commitment[(m, g)], rows["units_started"].sum(), rows["nodes_converted_in"].sum())])
    cost = sum(
        c.start_usd_per_node * data.unit_nodes[(m, g, r)] * rows["units_started"].sum()
        - (c.start_usd_per_node - c.convert_usd_per_node) * rows["nodes_converted_in"].sum()
        for (m, g, r), rows in t.groupby(["served_model", "node_type", "role"])
        for c in [data.commitment[(m, g)]])
    return {"commitment": {
        "units_started": float(t["units_started"].sum()) * per,
        "units_stopped": float(t["units_stopped"].sum()) * per,
        "nodes_started": float(nodes.sum()) * per,
        "nodes_converted": float(t["nodes_converted_in"].sum()) * per,
        "node_hours_forming": float(lost) * per,
        "start_cost_usd": float(cost) * per,
    }}


def _repair(units: pd.DataFrame, data: PlanningData) -> pd.DataFrame:
    """A plan's units (solved without this family) made to satisfy its rows, per committed kind:
    where a forming unit would leave a period short, it is formed a period ahead (x_{t-1} raised
    to x_t); where the minimum up time is broken, the units stay up; where a start follows a stop
    within the minimum down time, the stop is cancelled; repeated until nothing changes (units
    only grow, so it ends). The result needs no more units of a kind than the plan's peak."""
    units = units.copy()
    for (m, g, r), rows in units.groupby(["served_model", "node_type", "role"]):
        if (m, g) not in data.commitment:
            continue
        c = data.commitment[(m, g)]
        need = np.zeros(data.periods)
        need[rows["period"].to_numpy()] = rows["units"].to_numpy(dtype=float)
        x = need.copy()
        before = np.array([_previous(data, t) for t in range(data.periods)])
        windows_up = [_window(data, t, c.min_up_periods) for t in range(data.periods)]
        windows_down = [_window(data, t, c.min_down_periods) for t in range(data.periods)]
        for _ in range(4 * data.periods + 4):
            old = x.copy()
            starts = np.maximum(x - x[before], 0)
            short = x - c.start_share * starts < need - 1e-9
            for t in np.flatnonzero(short):
                x[before[t]] = max(x[before[t]], x[t])
            starts = np.maximum(x - x[before], 0)
            x = np.maximum(x, [starts[w].sum() for w in windows_up])
            if c.min_down_periods > 1:
                starts, stops = np.maximum(x - x[before], 0), np.maximum(x[before] - x, 0)
                for t in np.flatnonzero(starts > 0):
                    for tau in windows_down[t]:
                        if stops[tau] > 0:
                            x[tau] = x[before[tau]]
            if np.array_equal(x, old):
                break
        index = rows.index
        units.loc[index, "units"] = x[rows["period"].to_numpy()].astype(np.int64)
    return units


@family(applies=_commits,
        needs=("serving_units", "unserved_share", "UNIT_KINDS", "PERIODS"),
        provides=("COMMITTED_KINDS", "unit_starts", "unit_stops", "unit_flow", "unit_min_up", "UNITS_HELD_DOWN",
                  "unit_may_start", "unit_start_allowed", "unit_min_down",
                  "nodes_converted", "conversion_from_stops", "conversion_into_starts",
                  "serving_capacity_while_forming", "commitment_cost_usd"),
        contributes=("cost_usd", "demand_rows"), tables=("commitment",), exports=_exports, summary=_summary,
        repair=_repair)
def add_unit_commitment(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """Serving units of a deployment with a `commitment` section (its profile) take time and money
    to form and stay up a minimum time: the aggregated three-variable unit commitment of
    identical units (Knueven, Ostrowski and Watson, "On Mixed-Integer Programming Formulations
    for the Unit Commitment Problem", INFORMS J. Computing 32(4), 2020; the minimum up and down
    rows of Rajan and Takriti, IBM RC23628, 2005, summed over identical units).

    For every committed unit kind k = (m, g, r) and period t, with x_{k,t} the serving units
    (`serving_capacity`), y_{k,t} >= 0 the units started and z_{k,t} >= 0 the units stopped
    (continuous: x is integer and every row below presses y and z down to x's changes), and
    t-1 the period before t in the horizon, which repeats (period 0 follows the last, per
    scenario: a day's plan is the day after it too):

        unit_flow:          x_{k,t} - x_{k,t-1} - y_{k,t} + z_{k,t} = 0
        unit_min_up:        sum_{tau = t-U_k+1}^{t} y_{k,tau} <= x_{k,t}                      (U_k > 1)
        unit_start_allowed: y_{k,t} <= N_k b_{k,t}                                           (D_k > 1)
        unit_min_down:      sum_{tau = t-D_k+1}^{t} z_{k,tau} <= D_k N_k (1 - b_{k,t})          (D_k > 1)

    U_k, D_k = ceil(min up / min down hours / Delta) periods; N_k = the most units of kind k any
    period can use: the largest bound of x_{k,.} (demand's units and floors) over
    1 - phi^start (forming units make up for themselves), which becomes every period's bound:
    units may be up where no demand needs them, held by U_k or formed ahead of demand. The units
    of a kind are interchangeable, so the minimum up time says that as many units as started in
    the last U_k periods are up, and the minimum down time that no unit of the kind starts
    within D_k periods of a stop (b_{k,t} in {0, 1}: units may start in period t): a
    stop-and-restart is what it forbids, which a count of stopped slots could not.

    **Conversions**: w_{m,g,r,t} >= 0 nodes that leave units of the other role r' of the same
    served model on the same node type and join role r in period t (prefill <-> decode: the
    weights are the same model's):

        conversion_from_stops:  w_{m,g,r,t} <= u_{m,g,r'} z_{(m,g,r'),t}
        conversion_into_starts: w_{m,g,r,t} <= u_{m,g,r} y_{(m,g,r),t}

    A node moving to another served model loads that model's weights: a start of its deployment.

    **Forming**: a unit started in period t serves (1 - phi_start) of it, its converted nodes
    (1 - phi_convert): over (m, r, t) with demand D_{m,r,t} > 0,

        serving_capacity_while_forming:
            sum_g (c_{m,g,r,t} / D_{m,r,t}) (x_{k,t} - phi^start_{m,g} y_{k,t}
                                             + (phi^start_{m,g} - phi^convert_{m,g}) w_{m,g,r,t} / u_k) + s_{m,r,t} >= 1

    (the `serving_capacity` row less what forming units do not serve; pool demand_rows). The
    floors of TTFT and availability count forming units as whole.

    **Cost** (pool cost_usd): commitment_cost_usd = (1/S) sum_{k,t} [ a^start_{m,g} u_k y_{k,t}
    - (a^start_{m,g} - a^convert_{m,g}) w_{m,g,r,t} ], a in USD per node (the profile's
    `start_usd_per_node`, `convert_usd_per_node`).
    """
    kinds = [(m, g, r) for (m, g, r) in model.UNIT_KINDS if (m, g) in data.commitment]
    for k in kinds:
        _raise_bounds_for_commitment(model, data, k)
    model.COMMITTED_KINDS = pyo.Set(dimen=3, initialize=kinds, ordered=True)
    model.unit_starts = pyo.Var(model.COMMITTED_KINDS, model.PERIODS, within=pyo.NonNegativeReals)
    model.unit_stops = pyo.Var(model.COMMITTED_KINDS, model.PERIODS, within=pyo.NonNegativeReals)
    x, y, z = model.serving_units, model.unit_starts, model.unit_stops

    def flow(mdl, m, g, r, t):
        k = (m, g, r)
        return x[(*k, t)] - x[(*k, _previous(data, t))] - y[(*k, t)] + z[(*k, t)] == 0

    def min_up(mdl, m, g, r, t):
        periods = data.commitment[(m, g)].min_up_periods
        if periods <= 1:
            return pyo.Constraint.Skip
        return sum(y[m, g, r, tau] for tau in _window(data, t, periods)) <= x[m, g, r, t]

    most = {k: max(x[(*k, t)].ub for t in model.PERIODS) for k in kinds}
    held_down = [k for k in kinds if data.commitment[k[:2]].min_down_periods > 1]
    model.UNITS_HELD_DOWN = pyo.Set(dimen=3, initialize=held_down, ordered=True)
    model.unit_may_start = pyo.Var(model.UNITS_HELD_DOWN, model.PERIODS, within=pyo.Binary)
    b = model.unit_may_start

    def min_down(mdl, m, g, r, t):
        periods = data.commitment[(m, g)].min_down_periods
        window = _window(data, t, periods)
        return sum(z[m, g, r, tau] for tau in window) <= len(window) * most[(m, g, r)] * (1 - b[m, g, r, t])

    model.unit_flow = pyo.Constraint(model.COMMITTED_KINDS, model.PERIODS, rule=flow)
    model.unit_min_up = pyo.Constraint(model.COMMITTED_KINDS, model.PERIODS, rule=min_up)
    model.unit_start_allowed = pyo.Constraint(
        model.UNITS_HELD_DOWN, model.PERIODS, rule=lambda mdl, m, g, r, t: y[m, g, r, t] <= most[(m, g, r)] * b[m, g, r, t])
    model.unit_min_down = pyo.Constraint(model.UNITS_HELD_DOWN, model.PERIODS, rule=min_down)

    model.nodes_converted = pyo.Var(model.COMMITTED_KINDS, model.PERIODS, within=pyo.NonNegativeReals)
    w = model.nodes_converted
    model.conversion_from_stops = pyo.Constraint(
        model.COMMITTED_KINDS, model.PERIODS,
        rule=lambda mdl, m, g, r, t: w[m, g, r, t] <= data.unit_nodes[(m, g, OTHER_ROLE[r])] * z[m, g, OTHER_ROLE[r], t])
    model.conversion_into_starts = pyo.Constraint(
        model.COMMITTED_KINDS, model.PERIODS,
        rule=lambda mdl, m, g, r, t: w[m, g, r, t] <= data.unit_nodes[(m, g, r)] * y[m, g, r, t])

    def forming(mdl, m, r, t):
        demand = data.role_demand_mtok(m, r)[t]
        if demand <= 0 or not any((m, g) in data.commitment for g in data.deployed_types(m)):
            return pyo.Constraint.Skip
        served = 0
        for g in data.deployed_types(m):
            share = data.unit_capacity_mtok[(m, g, r)][t] / demand
            units = x[m, g, r, t]
            if (m, g) in data.commitment:
                c = data.commitment[(m, g)]
                units = units - c.start_share * y[m, g, r, t] \
                    + (c.start_share - c.convert_share) / data.unit_nodes[(m, g, r)] * w[m, g, r, t]
            served = served + share * units
        return served + mdl.unserved_share[m, r, t] >= 1.0

    model.serving_capacity_while_forming = pyo.Constraint(data.served_models, ROLES, model.PERIODS, rule=forming)
    weight = 1.0 / data.scenarios
    model.commitment_cost_usd = pyo.Expression(expr=sum(
        weight * (c.start_usd_per_node * data.unit_nodes[k] * y[(*k, t)]
                  - (c.start_usd_per_node - c.convert_usd_per_node) * w[(*k, t)])
        for k in kinds for c in [data.commitment[k[:2]]] for t in model.PERIODS))
    pools.add("cost_usd", model.commitment_cost_usd)
    pools.add("demand_rows", dict(model.serving_capacity_while_forming.items()))
