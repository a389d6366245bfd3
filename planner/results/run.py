"""Plan an instance: solve it, score the plan, compare it with the published day, diagnose a
missing plan. The one path every command and study takes from compiled data to a typed result."""

from __future__ import annotations

import time

from ..model.diagnosis import diagnose
from ..model.solve import SolverOptions, solve, solver_options
from ..physics.data import PlanningData
from .economics import evaluate_plan
from .published import compare_with_reference
from .result import PlanResult, service_promises, ttft_shortfall


def plan(data: PlanningData, options: SolverOptions | None = None, started: float | None = None) -> PlanResult:
    """Solve `data` (options default to its `solver` section) and read everything a report needs."""
    started = time.perf_counter() if started is None else started
    options = options or solver_options(data)
    comparison = compare_with_reference(data)
    result = solve(data, options)
    evaluation = evaluate_plan(data, result.tables) if result.has_plan else None
    diagnosis = diagnose(data, options) if result.infeasible else None
    return PlanResult(data=data, result=result, plan=evaluation, service=service_promises(data, result.tables.get("units"),
                                                                       evaluation.served_share if evaluation else None),
                      ttft_shortfall=ttft_shortfall(result), comparison=comparison, diagnosis=diagnosis,
                      wall_s=time.perf_counter() - started)
