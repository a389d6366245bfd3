"""A MIP start for HiGHS from the rounded LP relaxation.

HiGHS's own heuristics can spend minutes without a good first plan on a year of hours with
several node types and training. A plan is easy to build from the LP relaxation: each family
fixes its variables as its contract's `start` says (serving units and the owned fleet rounded
up, so capacity only grows; optional activities such as training jobs and harvests off), and
what is left (rented nodes, unserved shares, switching) is solved with those fixed: a small
problem whose answer is a complete, feasible assignment of every variable. HiGHS starts from it
(Highs.setSolution); when the rounded plan breaks a limit (a rental maximum), there is no start
and the solve goes on as usual.
"""

from __future__ import annotations

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.solvers.highs import Highs

from .build import BuiltModel
from .relax import relaxed_integers


class HighsWithStart(Highs):
    """Pyomo's direct HiGHS interface, handing HiGHS a MIP start before it runs."""

    start: dict[int, float] | None = None  # id(pyomo var) -> value

    def _solve(self):
        if self.start:
            values = np.zeros(len(self._pyomo_var_to_solver_var_map))
            for var_id, column in self._pyomo_var_to_solver_var_map.items():
                values[column] = self.start.get(var_id, 0.0)
            solution = highspy.HighsSolution()
            solution.col_value = list(values)
            solution.value_valid = True
            self._solver_model.setSolution(solution)
        return super()._solve()


def rounded_lp_start(built: BuiltModel, time_limit_s: float, threads: int = 1) -> dict[int, float] | None:
    """Every variable's value in the rounded-LP plan, or None when that plan breaks a limit."""
    model = built.model
    highs = SolverFactory("highs")

    def run():
        highspy.Highs.resetThreadScheduler(False)
        return highs.solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                           time_limit=time_limit_s, threads=threads)

    fixed_before = {id(v) for v in model.component_data_objects(pyo.Var) if v.fixed}
    with relaxed_integers(model):
        lp = run()
        if lp.incumbent_objective is None:
            return None
        lp.solution_loader.load_vars()
    to_fix = [pair for f in built.families if f.start is not None for pair in f.start(model)]
    try:
        for var, value in to_fix:
            if id(var) not in fixed_before:
                var.fix(value)
        rest = run()
        if rest.incumbent_objective is None:
            return None
        rest.solution_loader.load_vars()
        return {id(v): float(v.value) for v in model.component_data_objects(pyo.Var) if v.value is not None}
    finally:
        for var in model.component_data_objects(pyo.Var):
            if var.fixed and id(var) not in fixed_before:
                var.unfix()
