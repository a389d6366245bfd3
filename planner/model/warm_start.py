"""MIP starts for HiGHS: the rounded LP relaxation, or a plan repaired into the families' rules.

**Repaired** (for formulations with a family that offers a `repair`, such as unit commitment): the
instance is solved without those families (fast: units start and stop free), each repairs the
plan's serving units into units that keep its rules (formed ahead, held up), and what is left is
solved with the units fixed. HiGHS's own heuristics can find poor first plans once units take
time to form and must stay up; this one is feasible whenever the rental limits allow it. Not the
default: it helped one measured case and hurt another (docs/performance.md).

**Rounded LP**:
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

from ..physics.data import PlanningData
from .build import BuiltModel, build_model
from .relax import relaxed_integers
from .tables import component_frame


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


def _complete(built: BuiltModel, fixed: list[tuple[object, float]], run) -> dict[int, float] | None:
    """Every variable's value once `fixed` (variable, value) pairs are fixed and the rest solved;
    None when that breaks a limit. The model is left as it was."""
    model = built.model
    fixed_before = {id(v) for v in model.component_data_objects(pyo.Var) if v.fixed}
    try:
        for var, value in fixed:
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


def _runner(model: pyo.ConcreteModel, time_limit_s: float, threads: int):
    highs = SolverFactory("highs")

    def run():
        highspy.Highs.resetThreadScheduler(False)
        return highs.solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                           time_limit=time_limit_s, threads=threads)
    return run


def repaired_start(built: BuiltModel, data: PlanningData, time_limit_s: float, threads: int = 1
                   ) -> dict[int, float] | None:
    """Every variable's value in the repaired plan (see the module docstring), or None."""
    repairing = [f for f in built.families if f.repair is not None]
    free = build_model(data, built.formulation, without=tuple(f.name for f in repairing))
    run_free = _runner(free.model, time_limit_s, threads)
    solved = run_free()
    if solved.incumbent_objective is None:
        return None
    solved.solution_loader.load_vars()
    units = component_frame(free.model.serving_units, ["served_model", "node_type", "role", "period"], "units")
    units["units"] = units["units"].round().astype(int)
    for f in repairing:
        units = f.repair(units, data)
    x = built.model.serving_units
    fixed = [(x[row.served_model, row.node_type, row.role, row.period], float(row.units))
             for row in units.itertuples(index=False)]
    if any(value > var.ub for var, value in fixed):
        return None
    return _complete(built, fixed, _runner(built.model, time_limit_s, threads))


def rounded_lp_start(built: BuiltModel, time_limit_s: float, threads: int = 1) -> dict[int, float] | None:
    """Every variable's value in the rounded-LP plan, or None when that plan breaks a limit."""
    model = built.model
    run = _runner(model, time_limit_s, threads)
    with relaxed_integers(model):
        lp = run()
        if lp.incumbent_objective is None:
            return None
        lp.solution_loader.load_vars()
    return _complete(built, [pair for f in built.families if f.start is not None for pair in f.start(model)], run)
