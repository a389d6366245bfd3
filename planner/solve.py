"""HiGHS through Pyomo's direct interface: options, status, and results as pandas tables."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Mapping

import highspy
import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition

from .errors import PlanningError
from .formulation import build_model
from .instance import PlanningData
from .warm_start import HighsWithStart, rounded_lp_start


#: Set by the command line's SIGINT handler: HiGHS catches Ctrl-C itself and returns an 'error'
#: status, so solve() re-raises the interrupt when it sees this.
INTERRUPTED = threading.Event()


def interrupt_handler(signum, frame) -> None:
    INTERRUPTED.set()
    raise KeyboardInterrupt


@dataclass(frozen=True)
class SolverOptions:
    """What the CLI, sweeps and tests pass to HiGHS (one record, one mapping: `highs_options`)."""

    time_limit_s: float = 60.0
    mip_gap: float = 1e-4
    threads: int = 1
    formulation: str = "default"
    warm_start: str = "none"


#: With warm_start "auto", models with at least this many serving-unit variables get a MIP start.
WARM_START_FROM_UNIT_VARIABLES = 20_000


def solver_options(data: PlanningData, **overrides) -> SolverOptions:
    """The instance's `solver` section, with any non-None keyword overriding it."""
    base = SolverOptions(
        time_limit_s=data.solver.time_limit_s,
        mip_gap=data.solver.mip_gap,
        threads=data.solver.threads,
        formulation=data.solver.formulation,
        warm_start=data.solver.warm_start,
    )
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def wants_start(options: SolverOptions, model: pyo.ConcreteModel) -> bool:
    """Whether to hand HiGHS the rounded-LP plan (warm_start.py) before it runs."""
    if options.warm_start == "auto":
        return len(model.serving_units) >= WARM_START_FROM_UNIT_VARIABLES
    return options.warm_start == "rounded_lp"


def highs_options(options: SolverOptions, data: PlanningData | None = None) -> dict:
    """Keyword arguments of the Pyomo HiGHS interface; `random_seed` fixed so plans repeat, and
    the objective scaled by a power of two when its largest cost would strain HiGHS's tolerances."""
    extra = {"random_seed": 0, "mip_rel_gap": options.mip_gap}
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
    demand = max(float(np.max(data.role_demand_mtok(m, r))) * p
                 for m in data.served_models
                 for r, p in (("prefill", data.penalties.unserved_input_usd_per_million_tokens),
                              ("decode", data.penalties.unserved_output_usd_per_million_tokens)))
    fleet = max(max(g.owned_usd_per_node_hour * data.horizon_hours, g.rental_usd_per_node_hour * data.period_hours * weight)
                for g in data.node_types)
    jobs = max((j.value_usd for j in data.training.jobs), default=0.0)
    return max(demand * weight, fleet, jobs)


def objective_scale_exponent(data: PlanningData, target: float = 1e6) -> int:
    """HiGHS's user_objective_scale: 2^e brings the largest cost near `target` (0: no scaling)."""
    largest = largest_cost_usd(data)
    return -math.ceil(math.log2(largest / target)) if largest > target else 0


@dataclass
class SolveResult:
    """What one solve returns: status, objective, bound, gap, timings, and the plan's tables."""

    status: str  # optimal | time_limit (or iteration limit) | interrupted | no_plan
    termination: str
    objective_usd: float | None
    bound_usd: float | None
    mip_gap: float | None
    build_s: float
    solve_s: float
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    formulation: str = "default"
    model: pyo.ConcreteModel | None = field(default=None, repr=False)  # kept on request (margins' duals)

    @property
    def has_plan(self) -> bool:
        return self.status != "no_plan"


_STATUS = {
    TerminationCondition.convergenceCriteriaSatisfied: "optimal",
    TerminationCondition.maxTimeLimit: "time_limit",
    TerminationCondition.iterationLimit: "time_limit",
    TerminationCondition.interrupted: "interrupted",
}


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """|objective - bound| / max(|objective|, 1e-9); 0 when both are 0; None without a plan."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    if objective == bound:
        return 0.0
    return abs(objective - bound) / max(abs(objective), 1e-9)


def solve(data: PlanningData, options: SolverOptions | None = None, keep_model: bool = False) -> SolveResult:
    """Build the model of `data`, solve it with HiGHS, and read the plan into tables."""
    options = options or solver_options(data)
    started = time.perf_counter()
    model = build_model(data, options.formulation)
    build_s = time.perf_counter() - started
    solver = HighsWithStart()
    if not solver.available():
        raise PlanningError("HiGHS is not available: install highspy (pip install highspy)")
    # HiGHS keeps one thread scheduler per process and refuses a solve that asks for another
    # thread count ("unknown" status): each solve starts with a fresh scheduler.
    started = time.perf_counter()
    if wants_start(options, model):
        solver.start = rounded_lp_start(model, options.time_limit_s / 4, options.threads)
    highspy.Highs.resetThreadScheduler(False)
    results = solver.solve(
        model, raise_exception_on_nonoptimal_result=False, load_solutions=False, **highs_options(options, data)
    )
    solve_s = time.perf_counter() - started
    if INTERRUPTED.is_set():  # HiGHS stops on Ctrl-C and returns; the interrupt is the caller's
        raise KeyboardInterrupt
    objective = results.incumbent_objective
    has_incumbent = objective is not None and results.solution_status.name in ("optimal", "feasible")
    status = _STATUS.get(results.termination_condition, "no_plan") if has_incumbent else "no_plan"
    tables: dict[str, pd.DataFrame] = {}
    if has_incumbent:
        results.solution_loader.load_vars()
        tables = plan_tables(model, data)
    bound = results.objective_bound
    return SolveResult(
        status=status,
        termination=results.termination_condition.name,
        objective_usd=objective if has_incumbent else None,
        bound_usd=bound if bound is not None and math.isfinite(bound) else None,
        mip_gap=relative_gap(objective, bound) if has_incumbent else None,
        build_s=build_s,
        solve_s=solve_s,
        tables=tables,
        formulation=options.formulation,
        model=model if keep_model else None,
    )


def var_frame(var: pyo.Var, names: list[str], column: str) -> pd.DataFrame:
    """A tidy table of a variable's values: one row per index, columns `names` + `column`."""
    keys = list(var.keys())
    values = np.fromiter((var[k].value if var[k].value is not None else 0.0 for k in keys), float, len(keys))
    index = pd.MultiIndex.from_tuples([k if isinstance(k, tuple) else (k,) for k in keys], names=names)
    return pd.DataFrame({column: values}, index=index).reset_index()


def plan_tables(model: pyo.ConcreteModel, data: PlanningData) -> dict[str, pd.DataFrame]:
    """The decisions of a solved model, integers rounded (HiGHS returns them within 1e-6)."""
    units = var_frame(model.serving_units, ["served_model", "node_type", "role", "period"], "units")
    units["units"] = units["units"].round().astype(np.int64)
    units["nodes"] = [
        data.unit_nodes[k] * n for k, n in zip(zip(units.served_model, units.node_type, units.role), units.units)
    ]
    owned = var_frame(model.owned_nodes, ["node_type"], "owned_nodes")
    owned["owned_nodes"] = owned["owned_nodes"].round().astype(np.int64)
    rented = var_frame(model.rented_nodes, ["node_type", "period"], "rented_nodes")
    rented["rented_nodes"] = rented["rented_nodes"].round().astype(np.int64)
    unserved = var_frame(model.unserved_share, ["served_model", "role", "period"], "unserved_share")
    unserved["unserved_mtok"] = [
        share * data.role_demand_mtok(m, r)[t]
        for m, r, t, share in unserved[["served_model", "role", "period", "unserved_share"]].itertuples(index=False)
    ]
    tables = {"units": units, "owned": owned, "rented": rented, "unserved": unserved}
    if hasattr(model, "training_nodes"):
        tables.update(training_tables(model, data))
    if hasattr(model, "ttft_shortfall_share"):
        tables["ttft_shortfall"] = var_frame(model.ttft_shortfall_share, ["served_model", "period"], "shortfall_share")
    return tables


def expression_frame(expression, names: list[str], column: str) -> pd.DataFrame:
    """Like var_frame, for an indexed Expression."""
    keys = list(expression.keys())
    values = np.fromiter((pyo.value(expression[k]) for k in keys), float, len(keys))
    index = pd.MultiIndex.from_tuples([k if isinstance(k, tuple) else (k,) for k in keys], names=names)
    return pd.DataFrame({column: values}, index=index).reset_index()


def training_tables(model: pyo.ConcreteModel, data: PlanningData) -> dict[str, pd.DataFrame]:
    """Training nodes and moves per (node type, period), and one row per job and harvest window."""
    training = expression_frame(model.training_nodes, ["node_type", "period"], "training_nodes")
    training["training_nodes"] = training["training_nodes"].round().astype(np.int64)
    # Moves from the training series itself: with free moves the switch variables are not held
    # down to the changes, so they are not read back.
    change = training.groupby("node_type")["training_nodes"].diff().fillna(training["training_nodes"])
    moves = training[["node_type", "period"]].copy()
    moves["switched_in"] = change.clip(lower=0).astype(np.int64)
    moves["switched_out"] = (-change).clip(lower=0).astype(np.int64)
    return {"training": training, "moves": moves, "jobs": job_table(model, data), "harvest": harvest_table(model, data)}


def job_table(model: pyo.ConcreteModel, data: PlanningData) -> pd.DataFrame:
    """One row per job segment (a contiguous job has one): job, node type, first and last period."""
    rows = []
    for job in data.training.jobs:
        done = round(pyo.value(model.job_done[job.name])) == 1
        if job.splittable:
            running = [t for t in job.window() if round(pyo.value(model.job_running[job.name, t])) == 1]
        else:
            starts = [t for t in job.starts() if round(pyo.value(model.job_start[job.name, t])) == 1]
            running = list(range(starts[0], starts[0] + job.periods)) if starts else []
        for i, segment in enumerate(consecutive_runs(running) if done else [()]):
            rows.append({"job": job.name, "node_type": job.node_type, "gang_nodes": job.gang_nodes,
                         "done": done, "first_period": segment[0] if segment else None,
                         "last_period": segment[-1] if segment else None,
                         "value_usd": job.value_usd if done and i == 0 else 0.0,  # counted once, on the first
                         "required": job.required})
    return pd.DataFrame(rows, columns=["job", "node_type", "gang_nodes", "done", "first_period", "last_period",
                                       "value_usd", "required"])


def harvest_table(model: pyo.ConcreteModel, data: PlanningData) -> pd.DataFrame:
    """Harvested nodes per (node type, period) and the nodes moved in to open or widen a window."""
    if not hasattr(model, "harvest_granules"):
        return pd.DataFrame(columns=["node_type", "period", "harvest_nodes", "opened_nodes"])
    k = data.training.granule_nodes
    table = var_frame(model.harvest_granules, ["node_type", "period"], "harvest_nodes")
    table["opened_nodes"] = var_frame(model.harvest_opened, ["node_type", "period"], "o")["o"]
    table["harvest_nodes"] = (table["harvest_nodes"].round() * k).astype(np.int64)
    table["opened_nodes"] = (table["opened_nodes"].round() * k).astype(np.int64)
    return table


def consecutive_runs(periods: list[int]) -> list[tuple[int, ...]]:
    """[3, 4, 5, 8, 9] -> [(3, 4, 5), (8, 9)]."""
    out: list[list[int]] = []
    for t in periods:
        if out and t == out[-1][-1] + 1:
            out[-1].append(t)
        else:
            out.append([t])
    return [tuple(s) for s in out]


def no_plan_reason(result: SolveResult) -> str:
    """Why a solve gave no plan, in words a planner can act on."""
    if result.termination in ("provenInfeasible", "infeasibleOrUnbounded"):
        return ("the hard limits cannot all hold: tokens that must be served (penalties.allow_unserved false), "
                "TTFT targets, the scenarios' SLO share, required training jobs and the fleet's max_nodes "
                "conflict (HiGHS: "
                f"{result.termination}, after {result.solve_s:.1f} s)")
    return (f"HiGHS stopped with '{result.termination}' before finding a plan (after {result.solve_s:.1f} s); "
            "raise --time-limit")
