"""A MIP start for HiGHS from the rounded LP relaxation.

HiGHS's own heuristics can spend minutes without a good first plan on a year of hours with
several node types and training. A plan is easy to build from the LP relaxation: round every
serving unit up (capacity only grows), train nothing, and solve what is left (rented nodes,
unserved shares, switching) with those fixed: a small problem whose answer is a complete,
feasible assignment of every variable. HiGHS starts from it (Highs.setSolution); when the
rounded plan breaks a limit (a rental maximum), there is no start and the solve goes on as usual.
"""

from __future__ import annotations

import math

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.solvers.highs import Highs

TRAINING_INTEGERS = ("job_done", "job_start", "job_running", "harvest_granules", "scenario_miss")


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


def _relax(model: pyo.ConcreteModel) -> list[tuple[pyo.Var, object, float | None, float | None]]:
    """Make every integer continuous; returns how to undo it."""
    undo = []
    for var in model.component_data_objects(pyo.Var):
        if not var.is_continuous():
            undo.append((var, var.domain, var.lb, var.ub))
            lower, upper = var.lb, var.ub
            var.domain = pyo.Reals
            var.setlb(lower)
            var.setub(upper)
    return undo


def _restore(undo) -> None:
    for var, domain, lower, upper in undo:
        var.domain = domain
        var.setlb(lower)
        var.setub(upper)


def rounded_lp_start(model: pyo.ConcreteModel, time_limit_s: float, threads: int = 1) -> dict[int, float] | None:
    """Every variable's value in the rounded-LP plan, or None when that plan breaks a limit."""
    highs = SolverFactory("highs")

    def run():
        highspy.Highs.resetThreadScheduler(False)
        return highs.solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                           time_limit=time_limit_s, threads=threads)

    fixed_before = {id(v) for v in model.component_data_objects(pyo.Var) if v.fixed}
    undo = _relax(model)
    try:
        lp = run()
        if lp.incumbent_objective is None:
            return None
        lp.solution_loader.load_vars()
        _restore(undo)
        undo = []
        to_fix = []
        for var in model.serving_units.values():
            to_fix.append((var, math.ceil(var.value - 1e-6)))
        for var in model.owned_nodes.values():
            to_fix.append((var, min(math.ceil(var.value - 1e-6), var.ub if var.ub is not None else math.inf)))
        for name in TRAINING_INTEGERS:
            if hasattr(model, name):
                to_fix += [(var, 0) for var in getattr(model, name).values()]
        for var, value in to_fix:
            if id(var) not in fixed_before:
                var.fix(value)
        rest = run()
        if rest.incumbent_objective is None:
            return None
        rest.solution_loader.load_vars()
        return {id(v): float(v.value) for v in model.component_data_objects(pyo.Var) if v.value is not None}
    finally:
        _restore(undo)
        for var in model.component_data_objects(pyo.Var):
            if var.fixed and id(var) not in fixed_before:
                var.unfix()
