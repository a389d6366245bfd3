"""The library API the CLI is a thin layer over: load, solve, evaluate, compare, write."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import reference as ref
from .economics import Evaluation, evaluate, evaluate_plan, published_allocation
from .errors import NO_VALUE, InputError
from .instance import PlanningData, load_instance
from .diagnosis import diagnose
from .files import write_text_atomic
from .report import summary, to_json, write_plan
from .solve import SolveResult, SolverOptions, solve, solver_options


INFEASIBLE = ("provenInfeasible", "infeasibleOrUnbounded")


@dataclass(frozen=True)
class PlanOutcome:
    data: PlanningData
    result: SolveResult
    plan: Evaluation | None
    summary: dict[str, Any]
    published_nodes: np.ndarray | None
    paths: tuple[Path, ...] = ()


@dataclass(frozen=True)
class PublishedComparison:
    """The published schedule, on the instance's horizon, scored by the same economics."""

    nodes: np.ndarray  # per period, time-weighted
    evaluation: Evaluation | None
    figures: dict[str, Any]
    record: dict[str, Any]


def compare_with_reference(data: PlanningData) -> PublishedComparison | None:
    """Score the published node steps on `data` when the instance names a reference."""
    if data.reference_path is None:
        return None
    reference = ref.load_reference(data.reference_path)
    nodes = ref.nodes_per_period(reference, data.period_starts, data.period_hours)
    evaluation = None
    if len(data.deployments) == 1:
        evaluation = evaluate(data, **published_allocation(data, ref.role_split(nodes)))
    figures = ref.published_figures(reference)
    record = {"published": figures, "published_schedule_scored": evaluation.totals if evaluation else None}
    return PublishedComparison(nodes=nodes, evaluation=evaluation, figures=figures, record=record)


def check_output_folder(out: Path, overwrite: bool, marker: str = "summary.json") -> None:
    """Refuse to write into a file, or to replace a previous result (`marker` present) unless asked to."""
    if out.exists() and not out.is_dir():
        raise InputError(out, "--out", str(out), "exists and is not a folder")
    if (out / marker).exists() and not overwrite:
        raise InputError(out, "--out", str(out), "holds a previous result; pass --overwrite to replace it")


def solve_instance(instance: str | Path, overrides: Sequence[str] = (), out: str | Path | None = None,
                   overwrite: bool = False, **solver_overrides: Any) -> PlanOutcome:
    """Load, solve, evaluate and (with `out`) write a plan. Raises InputError on bad input."""
    started = time.perf_counter()
    if out is not None:
        check_output_folder(Path(out), overwrite)
    data = load_instance(instance, overrides)
    return solve_data(data, solver_options(data, **solver_overrides), out, started)


def solve_data(data: PlanningData, options: SolverOptions, out: str | Path | None = None,
               started: float | None = None) -> PlanOutcome:
    started = time.perf_counter() if started is None else started
    comparison = compare_with_reference(data)
    result = solve(data, options)
    plan = evaluate_plan(data, result.tables) if result.has_plan else None
    record = summary(data, result, plan, comparison.record if comparison else None, time.perf_counter() - started)
    if result.termination in INFEASIBLE:
        record["diagnosis"] = diagnose(data, options)
        if out is not None:
            write_text_atomic(Path(out) / "diagnosis.json", to_json(record["diagnosis"]))
    published_nodes = comparison.nodes if comparison else None
    paths: tuple[Path, ...] = ()
    if out is not None and plan is not None:
        paths = tuple(write_plan(Path(out), data, record, plan, result.tables, published_nodes))
    return PlanOutcome(data=data, result=result, plan=plan, summary=record,
                       published_nodes=published_nodes, paths=paths)


def validate_instance(instance: str | Path, overrides: Sequence[str] = ()) -> PlanningData:
    """Load the instance and the reference it names, as a solve would; raises InputError."""
    data = load_instance(instance, overrides)
    if data.reference_path is not None:
        ref.load_reference(data.reference_path)
    return data


def require_reference(data: PlanningData) -> ref.Reference:
    if data.reference_path is None:
        raise InputError(data.source, "reference", NO_VALUE, "this command needs an instance that names a reference")
    return ref.load_reference(data.reference_path)


@dataclass(frozen=True)
class Reproduction:
    arithmetic: dict[str, float]
    capacity_factors: dict[str, dict[str, float]]  # role -> {recomputed, instance}
    published: PublishedComparison
    plan: PlanOutcome


def reproduce(instance: str | Path, overrides: Sequence[str] = (), out: str | Path | None = None,
              overwrite: bool = False, **solver_overrides: Any) -> Reproduction:
    """The published arithmetic from the published figures, the calibration, the published
    schedule scored by planner's economics, and the optimized day, side by side."""
    if out is not None:
        check_output_folder(Path(out), overwrite)
    data = load_instance(instance, overrides)
    reference = require_reference(data)
    if len(data.deployments) != 1:
        raise InputError(data.source, "served_models", list(data.served_models),
                         "reproduce needs the reference day's single deployment")
    (m, g), = data.deployments
    deployment = data.spec.served_models[m].deployments[g]
    recomputed = ref.peak_capacity_factors(reference, data.period_starts, data.period_hours)
    factors = {
        "prefill": {"recomputed": recomputed["prefill"], "instance": deployment.prefill_capacity_factor},
        "decode": {"recomputed": recomputed["decode"], "instance": deployment.decode_capacity_factor},
    }
    plan = solve_data(data, solver_options(data, **solver_overrides), out)
    comparison = compare_with_reference(data)
    return Reproduction(ref.published_arithmetic(reference), factors, comparison, plan)
