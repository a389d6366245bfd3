"""Marginal cost of a token from LP duals: short run, within the plan's fleet, and long run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import highspy
import pandas as pd
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import TerminationCondition

from ..errors import PlanningError
from ..physics.data import PlanningData
from .build import build_model
from .relax import relaxed_integers


@dataclass(frozen=True)
class MarginalCosts:
    """$ per million tokens of one more token, per (served model, role, period), and the LP's cost."""

    table: pd.DataFrame  # served_model, role, period, usd_per_million_tokens
    lp_objective_usd: float


#: How much of a plan is held fixed when one more token comes: everything it decided
#: (short run), its owned fleet (the plan's own horizon), or nothing (long run).
RUNS = ("short_run", "fleet_fixed", "long_run")


def marginal_costs(data: PlanningData, tables: Mapping[str, pd.DataFrame], run: str = "fleet_fixed") -> MarginalCosts:
    """$ per million tokens of one more token in each (served model, role, period).

    The model is built again with part of a solved plan (`tables`, the families' tables) held
    fixed, every integer relaxed to a continuous value, and the LP solved for the duals of the
    rows in the pool demand_rows: the serving_capacity rows and the floors that grow with demand
    (availability, TTFT; to first order in proportion), so that when a floor binds it carries the
    cost. Those rows are divided by their demand D (RHS 1), so the marginal cost per million
    tokens is the sum of their duals / D (times S with S equally likely scenarios, whose rows
    carry 1/S of the objective). `run`:

    - `short_run`: the plan's owned fleet, rented nodes and serving units fixed: one more token
      is served by idle capacity (0) or not at all (the unserved penalty);
    - `fleet_fixed`: the owned fleet (and reserved contracts) fixed, units and rentals free: what serving one more token
      costs within the plan's fleet (the hour's rent of the capacity, or 0 on idle owned nodes);
    - `long_run`: nothing fixed: the fleet grows too (a share of an owned node's whole-horizon cost).
    """
    if run not in RUNS:
        raise ValueError(f"run must be one of {RUNS}")
    owned = dict(zip(tables["owned"]["node_type"], tables["owned"]["owned_nodes"]))
    reserved = {(r.node_type, r.contract, int(r.term)): int(r.reserved_nodes)
                for r in tables["reserved"].itertuples(index=False)} if "reserved" in tables else {}
    built = build_model(data.with_owned_fleet(owned).with_reserved_fleet(reserved) if run != "long_run" else data)
    model = built.model
    if run == "short_run":
        for row in tables["units"].itertuples(index=False):
            model.serving_units[row.served_model, row.node_type, row.role, row.period].fix(int(row.units))
        for row in tables["rented"].itertuples(index=False):
            model.rented_nodes[row.node_type, row.period].fix(int(row.rented_nodes))
    with relaxed_integers(model):
        highspy.Highs.resetThreadScheduler(False)
        results = SolverFactory("highs").solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False)
        if results.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
            raise PlanningError(f"the LP of the marginal costs ({run}, integers relaxed) ended with "
                                f"{results.termination_condition.name}, not an optimum")
        results.solution_loader.load_vars()
        duals = results.solution_loader.get_duals()
    rows_by_pool = built.pools["demand_rows"]
    keys = dict.fromkeys(key for rows in rows_by_pool for key in rows)
    table = []
    for (m, r, t) in keys:
        dual = sum(duals.get(rows[(m, r, t)], 0.0) for rows in rows_by_pool if (m, r, t) in rows)
        table.append({"served_model": m, "role": r, "period": t,
                      "usd_per_million_tokens": dual * data.scenarios / data.role_demand_mtok(m, r)[t]})
    return MarginalCosts(pd.DataFrame(table), float(results.incumbent_objective))
