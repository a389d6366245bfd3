"""HiGHS through Pyomo's direct interface: options, status, and the plan as the families' tables."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import highspy
import numpy as np
import pandas as pd
from pyomo.contrib.solver.common.results import TerminationCondition

from ..errors import Argument, InputError, PlanningError
from ..physics.data import PlanningData
from .build import build_model
from .contract import export_tables, summary_entries
from .warm_start import HighsWithStart, repaired_start, rounded_lp_start


@dataclass(frozen=True)
class SolverOptions:
    """What front ends, sweeps and tests pass to HiGHS (one record, one mapping: `highs_options`)."""

    time_limit_s: float = 60.0
    mip_gap: float = 1e-4
    threads: int = 1
    formulation: str = "default"
    warm_start: str = "auto"
    node_limit: int | None = None


def solver_options(data: PlanningData, **overrides) -> SolverOptions:
    """The instance's `solver` section, with any non-None keyword overriding it."""
    s = data.solver
    base = SolverOptions(time_limit_s=s.time_limit_s, mip_gap=s.mip_gap, threads=s.threads,
                         formulation=s.formulation, warm_start=s.warm_start, node_limit=s.node_limit)
    known = SolverOptions.__dataclass_fields__
    for name in overrides:
        if name not in known:
            raise InputError(Argument(name), "", overrides[name], f"not a solver option; the options are {sorted(known)}")
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def start_kind(options: SolverOptions) -> str:
    """Which MIP start to hand HiGHS (warm_start.py). `auto` is none: neither start was better
    than HiGHS's own heuristics on every measured case (docs/performance.md)."""
    return "none" if options.warm_start == "auto" else options.warm_start


def highs_options(options: SolverOptions, data: PlanningData | None = None) -> dict:
    """Keyword arguments of the Pyomo HiGHS interface; `random_seed` fixed so plans repeat, and
    the objective scaled by a power of two when its largest cost would strain HiGHS's tolerances."""
    extra = {"random_seed": 0, "mip_rel_gap": options.mip_gap}
    if options.node_limit is not None:
        extra["mip_max_nodes"] = options.node_limit
    if data is not None:
        exponent = objective_scale_exponent(data)
        if exponent:
            extra["user_objective_scale"] = exponent
    return {
        "time_limit": options.time_limit_s,
        "rel_gap": options.mip_gap,
        "threads": options.threads,
        "solver_options": extra,
    }


def largest_cost_usd(data: PlanningData) -> float:
    """The largest objective coefficient the model can have, from the data alone: the penalty on
    a whole period's demand, an owned node for the horizon, a rented node-period, a job's value."""
    weight = 1.0 / data.scenarios
    demand = max(float(np.max(data.role_demand_mtok(m, r))) * data.penalties.usd_per_mtok(r)
                 for m in data.served_models for r in ("prefill", "decode"))
    fleet = max(max(g.owned_usd_per_node_hour * data.horizon_hours, g.rental_usd_per_node_hour * data.period_hours * weight)
                for g in data.node_types)
    jobs = max((j.value_usd for j in data.training.jobs), default=0.0)
    return max(demand * weight, fleet, jobs)


def objective_scale_exponent(data: PlanningData, target: float = 1e6) -> int:
    """HiGHS's user_objective_scale: 2^e brings the largest cost near `target` (0: no scaling)."""
    largest = largest_cost_usd(data)
    return -math.ceil(math.log2(largest / target)) if largest > target else 0


@dataclass(frozen=True)
class SolveResult:
    """What one solve returns: status, objective, bound, gap, timings, and the plan's tables."""

    status: str  # optimal | time_limit | work_limit (solver.node_limit) | interrupted | no_plan
    termination: str
    objective_usd: float | None
    bound_usd: float | None
    mip_gap: float | None
    build_s: float
    solve_s: float
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    formulation: str = "default"
    families: tuple[str, ...] = ()
    summaries: Mapping[str, Any] = field(default_factory=dict)  # families' summary.json entries

    @property
    def has_plan(self) -> bool:
        return self.status != "no_plan"

    @property
    def infeasible(self) -> bool:
        """The hard limits cannot all hold (HiGHS proved it)."""
        return self.termination in INFEASIBLE

    def no_plan_reason(self) -> str:
        """Why a solve gave no plan, in words a planner can act on."""
        if self.infeasible:
            return ("the hard limits cannot all hold: tokens that must be served (penalties.allow_unserved false), "
                    "TTFT targets, the scenarios' SLO share, required training jobs and the fleet's max_nodes "
                    f"conflict (HiGHS: {self.termination}, after {self.solve_s:.1f} s)")
        return (f"HiGHS stopped with '{self.termination}' before finding a plan (after {self.solve_s:.1f} s); "
                "raise the time limit (solver.time_limit_s)")


INFEASIBLE = ("provenInfeasible", "infeasibleOrUnbounded")

_STATUS = {
    TerminationCondition.convergenceCriteriaSatisfied: "optimal",
    TerminationCondition.maxTimeLimit: "time_limit",
    TerminationCondition.iterationLimit: "work_limit",
    TerminationCondition.interrupted: "interrupted",
}


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """|objective - bound| / max(|objective|, 1e-9); 0 when both are 0; None without a plan."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    if objective == bound:
        return 0.0
    return abs(objective - bound) / max(abs(objective), 1e-9)


def _gap_not_reached(objective: float | None, bound: float | None, gap: float | None, asked: float) -> bool:
    """The plan is farther from its bound than the asked relative gap and than HiGHS's absolute
    gap (1e-6): a converged status that the numbers do not bear out (badly scaled models)."""
    if gap is None or objective is None or bound is None or not math.isfinite(bound):
        return False
    return gap > asked * 1.001 + 1e-9 and abs(objective - bound) > 1e-6


def solve(data: PlanningData, options: SolverOptions | None = None) -> SolveResult:
    """Build the model of `data`, solve it with HiGHS, and read the plan into the families' tables."""
    options = options or solver_options(data)
    started = time.perf_counter()
    built = build_model(data, options.formulation)
    build_s = time.perf_counter() - started
    solver = HighsWithStart()
    if not solver.available():
        raise PlanningError("HiGHS is not available: install highspy (pip install highspy)")
    started = time.perf_counter()
    kind = start_kind(options)
    if kind == "rounded_lp":
        solver.start = rounded_lp_start(built, options.time_limit_s / 4, options.threads)
    elif kind == "repaired":
        solver.start = repaired_start(built, data, options.time_limit_s / 4, options.threads)
    # HiGHS keeps one thread scheduler per process and refuses a solve that asks for another
    # thread count ("unknown" status): each solve starts with a fresh scheduler.
    highspy.Highs.resetThreadScheduler(False)
    results = solver.solve(
        built.model, raise_exception_on_nonoptimal_result=False, load_solutions=False, **highs_options(options, data)
    )
    solve_s = time.perf_counter() - started
    objective = results.incumbent_objective
    has_incumbent = objective is not None and results.solution_status.name in ("optimal", "feasible")
    status = _STATUS.get(results.termination_condition, "no_plan") if has_incumbent else "no_plan"
    tables: dict[str, pd.DataFrame] = {}
    summaries: dict[str, Any] = {}
    if has_incumbent:
        results.solution_loader.load_vars()
        tables = export_tables(built.families, built.model, data)
        summaries = summary_entries(built.families, tables, data)
    bound = results.objective_bound
    gap = relative_gap(objective, bound) if has_incumbent else None
    if status == "optimal" and _gap_not_reached(objective, bound, gap, options.mip_gap):
        status = "gap_not_reached"  # HiGHS says converged, its own bound says otherwise: never "optimal"
    return SolveResult(
        status=status,
        termination=results.termination_condition.name,
        objective_usd=objective if has_incumbent else None,
        bound_usd=bound if bound is not None and math.isfinite(bound) else None,
        mip_gap=gap,
        build_s=build_s,
        solve_s=solve_s,
        tables=tables,
        formulation=options.formulation,
        families=tuple(f.name for f in built.families),
        summaries=summaries,
    )
