"""The Python API: load an instance, vary it, plan it, run the studies, write the results.

    from planner import api
    inputs = api.load("instances/deepseek-2025-02-28.yaml")
    result = api.plan(api.vary(inputs, {"demand.scale": 0.5}), time_limit_s=30)
    result.totals.cost_usd.total, result.plan.schedule          # typed figures, pandas tables
    api.write_results("results/half", result)

Every function raises InputError on bad input (naming the file or argument, the field and the
value) and PlanningError when a study needs a plan that does not exist.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .errors import Argument, InputError
from .io.inputs import Inputs, attributed_to_changes, load_inputs
from .io.inputs import vary as _vary
from .model.build import formulation_families
from .model.solve import solver_options
from .physics.compile import compile_planning_data
from .physics.data import PlanningData
from .report.files import check_output_folder, replaced_folder, write_diagnosis, write_json, write_plan
from .results.published import compare_with_reference  # noqa: F401 - part of the API
from .results.result import PlanResult
from .results.run import plan as _plan
from .studies.reproduce import Reproduction
from .studies.reproduce import reproduce as _reproduce

if TYPE_CHECKING:
    from .studies.simulate import Simulation

Overrides = Sequence[str] | Mapping[str, Any]


def load(instance: str | Path, overrides: Overrides = ()) -> Inputs:
    """Read and check an instance and the files it names. `overrides`: `dotted.path=value` texts
    (as `--set` takes them) or a mapping {dotted path: value}."""
    if isinstance(overrides, Mapping):
        return _vary(load_inputs(instance), overrides)
    return load_inputs(instance, overrides)


def vary(inputs: Inputs, updates: Mapping[str, Any]) -> Inputs:
    """`inputs` with fields changed, e.g. {"demand.scale": 0.5, "served_models.r1.slo.ttft_s": 2.0}."""
    return _vary(inputs, updates)


def planning_data(inputs: Inputs) -> PlanningData:
    """The compiled planning data of loaded inputs (checked: the formulation exists)."""
    data = compile_planning_data(inputs)
    try:
        formulation_families(data)
    except InputError as exc:
        raise attributed_to_changes(exc, inputs) from None
    return data


def plan(what: Inputs | PlanningData, *, started: float | None = None, **solver: Any) -> PlanResult:
    """Solve and score; `solver`: time_limit_s, mip_gap, threads, node_limit, formulation,
    warm_start (None keeps the instance's). `started`: a perf_counter time the result's wall
    time counts from (default: now)."""
    started = time.perf_counter() if started is None else started
    data = planning_data(what) if isinstance(what, Inputs) else what
    return _plan(data, solver_options(data, **solver), started)


def validate_instance(instance: str | Path, overrides: Overrides = ()) -> PlanningData:
    """Load and compile an instance (and the reference it names) as a solve would; raises InputError."""
    return planning_data(load(instance, overrides))


def write_results(out: str | Path, result: PlanResult) -> list[Path]:
    """Every file of a plan (or diagnosis.json when the hard limits conflict) into `out`, which is
    replaced whole: the complete earlier result or the complete new one, never a mix."""
    with replaced_folder(Path(out)) as folder:
        written = _write_into(folder, result)
    return [Path(out) / p.name for p in written]


def _write_into(folder: Path, result: PlanResult) -> list[Path]:
    written = write_diagnosis(folder, result)
    if result.has_plan:
        return write_plan(folder, result)
    return [written] if written else []


def solve_instance(instance: str | Path, overrides: Overrides = (), out: str | Path | None = None,
                   overwrite: bool = False, **solver: Any) -> PlanResult:
    """Load, plan and (with `out`) write an instance. Raises InputError on bad input."""
    started = time.perf_counter()
    if out is not None:
        check_output_folder(Path(out), overwrite)
    data = validate_instance(instance, overrides)
    result = _plan(data, solver_options(data, **solver), started)
    if out is not None:
        write_results(out, result)
    return result


def reproduce(instance: str | Path, overrides: Overrides = (), out: str | Path | None = None,
              overwrite: bool = False, **solver: Any) -> Reproduction:
    """The published arithmetic, the calibration, the published schedule scored and the optimized
    day (with `out`: the plan's files and reproduce.json)."""
    if out is not None:
        check_output_folder(Path(out), overwrite)
    inputs = load(instance, overrides)
    planning_data(inputs)
    reproduction = _reproduce(inputs, solver)
    if out is not None:
        with replaced_folder(Path(out)) as folder:
            _write_into(folder, reproduction.plan)
            write_json(folder / "reproduce.json", reproduction.record)
    return reproduction


def _inputs(what: str | Path | Inputs, overrides: Overrides = ()) -> Inputs:
    inputs = what if isinstance(what, Inputs) else load(what, overrides)
    planning_data(inputs)  # every check of a solve, before the study starts
    return inputs


def frontier(instance: str | Path | Inputs, served_model: str | None = None,
             speeds: Sequence[float] = (16, 18, 21, 25, 30, 35, 40), ttfts: Sequence[float | None] = (None, 2, 1.5, 1, 0.5),
             overrides: Overrides = (), *, workers: int = 1, executor: str = "process", scheduler: str | None = None,
             **solver: Any):
    """The SLO frontier (studies/frontier.py): a DataFrame, one row per (TTFT target, speed)."""
    from .studies.frontier import slo_frontier

    inputs = _inputs(instance, overrides)
    model = served_model or next(iter(inputs.spec.served_models))
    return slo_frontier(inputs, model, speeds, ttfts, solver, workers=workers, executor_kind=executor,
                        scheduler=scheduler)


def reseller(instance: str | Path | Inputs, overrides: Overrides = (), *, oos_seed: int | None = None,
             oos_scenarios: int = 50, workers: int = 1, executor: str = "process", scheduler: str | None = None,
             **solver: Any):
    """The reseller study (studies/reseller.py): the stochastic plan, the provisioning ratio, the
    value of the stochastic solution and the out-of-sample check."""
    from .studies.reseller import study

    return study(_inputs(instance, overrides), solver, oos_seed=oos_seed, oos_scenarios=oos_scenarios,
                 workers=workers, executor_kind=executor, scheduler=scheduler)


def margins(instance: str | Path | Inputs, volumes: Sequence[float] = (), overrides: Overrides = (), *,
            workers: int = 1, executor: str = "process", scheduler: str | None = None, **solver: Any):
    """The margins study (studies/margins.py): waterfalls, gross margins, marginal costs, break-even."""
    from .studies.margins import study

    return study(_inputs(instance, overrides), volumes, solver, workers=workers, executor_kind=executor,
                 scheduler=scheduler)


def simulate(result_dir: str | Path, *, instance: str | Path | None = None, overrides: Overrides = (),
             trace: str | Path | None = None, served_model: str | None = None, failures: bool = False,
             window_s: float | None = None, warmup_s: float = 30.0, seed: int = 0, scenario: int = 0,
             skip_bad_rows: bool = False, out: str | Path | None = None, overwrite: bool = False,
             progress: Any = lambda done, total: None) -> "Simulation":
    """Replay the plan in `result_dir` request by request (docs/formulation.md, section 20): the
    trace's requests, or requests drawn from each served model's workload. With `out`, write
    sim.csv, sim.png and sim.json there."""
    from .io.plans import read_plan_folder
    from .report.simulation import write_simulation
    from .studies.simulate import SimulationSettings, check_plan, simulate_plan

    folder = read_plan_folder(Path(result_dir))
    data = validate_instance(_plan_instance(folder, instance), overrides)
    _check_same_instance(folder, data)
    check_plan(data, folder.allocation, str(folder.folder / "allocation.csv"))
    traffic = _traffic(data, trace, served_model, skip_bad_rows)
    if out is not None:  # checked (and created) once the inputs are known to be good
        check_output_folder(Path(out), overwrite, marker="sim.json")
    settings = SimulationSettings(window_s=window_s, warmup_s=warmup_s, seed=seed, failures=failures,
                                  scenario=scenario)
    sim = simulate_plan(data, folder.allocation, traffic, settings, progress)
    sim.record = {"plan": str(folder.folder), "instance": data.source, **sim.record}
    if out is not None:
        write_simulation(Path(out), sim, f"{data.name}: the plan replayed ({sim.record['traffic']})")
    return sim


def _plan_instance(folder, instance: str | Path | None) -> Path:
    """The instance a plan was made from: `instance`, or summary.json's `source` (as given to
    planner solve, relative to where it ran, else to the result folder's parent)."""
    if instance is not None:
        return Path(instance)
    source = Path(folder.instance_source)
    for candidate in (source, folder.folder.parent / source):
        if candidate.is_file():
            return candidate
    raise InputError(folder.folder / "summary.json", "source", folder.instance_source,
                     "the plan's instance file is not there; pass --instance (and the --set the plan was made with)")


def _check_same_instance(folder, data: PlanningData) -> None:
    summary = folder.summary
    for key, mine in (("instance", data.name), ("periods", data.periods), ("period_hours", data.period_hours)):
        if summary.get(key) != mine:
            raise InputError(folder.folder / "summary.json", key, summary.get(key),
                             f"the plan was made from another instance than {data.source} (its {key} is {mine!r})")


def _traffic(data: PlanningData, trace: str | Path | None, served_model: str | None, skip_bad_rows: bool):
    """Requests drawn from the workload, or a trace's, aligned so that the period holding its first
    request is the horizon's first (the trace's start floored to the period length)."""
    from .studies.simulate import Traffic

    if trace is None:
        if served_model is not None:
            raise InputError(Path(data.source), Argument("served_model"), served_model,
                             "is for a trace without a served_model column; synthetic traffic feeds every model")
        return Traffic()
    import pandas as pd

    from .io.traces import iter_trace_chunks

    model = served_model or data.served_models[0]
    if model not in data.served_models:
        raise InputError(Path(data.source), Argument("served_model"), model,
                         f"not a served model of the plan ({', '.join(data.served_models)})")
    first = next(iter(iter_trace_chunks(Path(trace), chunk_rows=1, skip_bad_rows=skip_bad_rows)), None)
    if first is None:
        raise InputError(Path(trace), "(rows)", None, "the trace has no requests")
    period_ns = round(data.period_hours * 3600e9)
    offset = (pd.Timestamp(first.start).value % period_ns) / 1e9  # as planner demand from-trace floors it
    return Traffic(lambda: iter_trace_chunks(Path(trace), skip_bad_rows=skip_bad_rows), offset, model,
                   f"trace {Path(trace).name}")
