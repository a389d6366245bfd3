"""Marginal cost of a token from LP duals: the plan's owned fleet fixed, everything else relaxed."""

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


def marginal_costs(data: PlanningData, owned: Mapping[str, int]) -> MarginalCosts:
    """$ per million tokens of one more token in each (served model, role, period).

    The owned fleet is fixed at `owned` (a solved plan's); serving units, rented nodes and every
    other integer are relaxed to continuous values, and the LP solved for the duals of the rows
    in the pool demand_rows: the serving_capacity rows, and the floors that grow with demand
    (availability, TTFT; to first order in proportion), so that when a floor binds it carries
    the cost. Those rows are divided by their demand D (RHS 1), so the marginal cost per million
    tokens is the sum of their duals / D (times S with S equally likely scenarios, whose rows
    carry 1/S of the objective). (With the units themselves fixed, a row's dual would be 0 or
    the unserved penalty: the LP would only say whether the plan has slack.)
    """
    built = build_model(data.with_owned_fleet(owned))
    with relaxed_integers(built.model):
        highspy.Highs.resetThreadScheduler(False)
        results = SolverFactory("highs").solve(built.model, load_solutions=False,
                                               raise_exception_on_nonoptimal_result=False)
        if results.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
            raise PlanningError(f"the LP of the marginal costs (fleet fixed, integers relaxed) ended with "
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
