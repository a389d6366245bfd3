"""Batch runs: a grid (or list) of field values of a base instance, run on an executor, each
case's result stored atomically so that a sweep killed at any moment resumes losing nothing.

Store layout (the `--out` folder):
  cases/<case id>.json   one record per finished case: overrides, status, summary or error
  cases.csv              the aggregate table: one row per case, overrides and summary figures
  cases.parquet          the same, where pyarrow is installed
  sweep.png              the spec's chart
The parent process is the only writer; workers only solve. A case id is a hash of its
overrides, so the same case has the same id in every run.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import itertools
import json
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from ..errors import Argument, InputError
from ..io.files import write_atomic, write_text_atomic
from ..io.inputs import Inputs, load_inputs
from ..io.schema.sweep import SweepSpec
from ..io.sweeps import load_sweep_spec
from .executors import executor, process_pool, solver_threads
from .points import plan_varied


@dataclass(frozen=True)
class Case:
    id: str
    overrides: dict[str, Any]  # {dotted path: value}, typed as the spec wrote them


@dataclass(frozen=True)
class Sweep:
    spec: SweepSpec
    base: Path
    cases: tuple[Case, ...]
    path: Path = Path("sweep.yaml")  # the spec file

    def base_inputs(self) -> Inputs:
        """The base instance with the spec's `set` applied: a bad entry stops the sweep before any
        case runs, named `SPEC: set KEY`."""
        return load_inputs(self.base, self.spec.set, argument=f"{self.path}: set")


def case_id(overrides: dict[str, Any]) -> str:
    text = json.dumps(overrides, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_sweep(path: str | Path) -> Sweep:
    """A sweep spec (planner/io/sweeps.py) and its cases, grid first."""
    path = Path(path)
    spec, base = load_sweep_spec(path)
    keys = list(spec.grid)
    combos = [dict(zip(keys, values)) for values in itertools.product(*spec.grid.values())] if keys else []
    every = combos + [dict(c) for c in spec.cases]
    cases, seen = [], set()
    for overrides in every:
        cid = case_id(overrides)
        if cid not in seen:
            seen.add(cid)
            cases.append(Case(cid, overrides))
    return Sweep(spec, base, tuple(cases), path)


def run_case(inputs: Inputs, updates: Mapping[str, Any], solver: dict[str, Any]) -> dict[str, Any]:
    """Worker: vary, compile and plan one case from plain data; returns its summary (JSON-ready)."""
    outcome = plan_varied(inputs, updates, solver)
    return json.loads(json.dumps(outcome.summary, default=float))


#: How a case's errors name the arguments they come from: its fields are the spec's grid or cases.
ARGUMENT_NAMES = {"updates": "case"}


class ResultStore:
    """One JSON per finished case under `folder/cases`, written then renamed."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.cases = self.folder / "cases"
        self.cases.mkdir(parents=True, exist_ok=True)

    def path(self, case: Case) -> Path:
        return self.cases / f"{case.id}.json"

    def done(self, case: Case) -> bool:
        return self.path(case).exists()

    def write(self, case: Case, status: str, summary: dict[str, Any] | None = None, error: str | None = None) -> None:
        record = {"case": case.id, "overrides": case.overrides, "status": status, "summary": summary, "error": error}
        write_text_atomic(self.path(case), json.dumps(record, indent=2, default=str) + "\n")

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(self.cases.glob("*.json"))]


def dig(record: dict[str, Any] | None, dotted: str) -> Any:
    node: Any = record
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def aggregate(store: ResultStore, sweep: Sweep) -> pd.DataFrame:
    """The aggregate table, in the spec's case order: overrides, run status, then the metrics."""
    by_id = {r["case"]: r for r in store.records()}
    rows = []
    for case in sweep.cases:
        record = by_id.get(case.id)
        if record is None:
            continue
        row = {"case": case.id, **case.overrides, "run": record["status"], "error": record["error"]}
        row.update({metric: dig(record["summary"], metric) for metric in sweep.spec.metrics})
        rows.append(row)
    return pd.DataFrame(rows)


def write_aggregate(store: ResultStore, sweep: Sweep) -> pd.DataFrame:
    table = aggregate(store, sweep)
    write_atomic(store.folder / "cases.csv", lambda tmp: table.to_csv(tmp, index=False))
    try:
        import pyarrow  # noqa: F401

        write_atomic(store.folder / "cases.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    except ImportError:
        pass
    return table


@dataclass
class Progress:
    """Counts the driver reports; `update` is called after every finished case."""

    total: int
    done: int = 0
    failed: int = 0
    on_update: Callable[["Progress"], None] = field(default=lambda p: None)

    def finished(self, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        self.on_update(self)


def run_sweep(sweep: Sweep, out: Path, *, workers: int = 1, executor_kind: str = "process", scheduler: str | None = None,
              resume: bool = False, overwrite: bool = False, solver: dict[str, Any] | None = None,
              progress: Callable[[Progress], None] = lambda p: None, task: Callable[..., dict] = None) -> pd.DataFrame:
    """Run every case not yet in the store on the chosen executor; returns the aggregate table.

    `task` (default run_case) solves one case in a worker: a module-level function of
    (base inputs, the case's updates, solver options)."""
    if resume and overwrite:
        raise InputError(out, Argument("resume"), "overwrite",
                         "`resume` keeps the finished cases and `overwrite` deletes them: pass one of the two")
    inputs = sweep.base_inputs()
    store = ResultStore(out)
    if overwrite:
        for old in store.cases.glob("*.json"):
            old.unlink()
    existing = [c for c in sweep.cases if store.done(c)]
    if existing and not resume:
        raise InputError(out, Argument("out"), str(out),
                         f"holds {len(existing)} finished cases; pass `resume` to continue or `overwrite` to start over")
    todo = [c for c in sweep.cases if not store.done(c)]
    solver = {k: v for k, v in (solver or {}).items() if v is not None}
    solver["threads"] = solver_threads(workers, solver.get("threads"))
    state = Progress(total=len(sweep.cases), done=len(existing), on_update=progress)
    progress(state)
    task = task or run_case
    with executor(executor_kind, workers, scheduler, inline_single=False) as running:
        lost = _drain(running, inputs, store, todo, solver, state, task)
    _isolate(inputs, store, lost, solver, state, task)  # a worker died: rerun its cases one by one
    return write_aggregate(store, sweep)


def _drain(pool: cf.Executor, inputs: Inputs, store: ResultStore, cases: list[Case], solver: dict[str, Any],
           state: Progress, task: Callable[..., dict]) -> list[Case]:
    """Submit `cases`; record each as it finishes. Returns the cases lost to a dead worker."""
    futures = {pool.submit(task, inputs, c.overrides, solver): c for c in cases}
    lost = []
    for future in cf.as_completed(futures):
        case = futures[future]
        try:
            summary = future.result()
        except BrokenProcessPool:
            lost.append(case)
            continue
        except InputError as exc:
            store.write(case, "failed", error=exc.line(ARGUMENT_NAMES))
            state.finished(False)
            continue
        except Exception as exc:  # noqa: BLE001 - one failing case is recorded, the others go on
            store.write(case, "failed", error=f"{type(exc).__name__}: {exc}")
            state.finished(False)
            continue
        store.write(case, "ok", summary=summary)
        state.finished(True)
    return lost


def _isolate(inputs: Inputs, store: ResultStore, cases: list[Case], solver: dict[str, Any], state: Progress,
             task: Callable[..., dict]) -> None:
    """Each case that was in flight when a worker died, alone in a fresh one-process pool: the
    case that kills its pool again is recorded as failed, the others finish."""
    for case in cases:
        with process_pool(1) as pool:
            lost = _drain(pool, inputs, store, [case], solver, state, task)
        if lost:
            store.write(case, "failed", error="the worker process died while solving this case")
            state.finished(False)


def cases_per_minute(started: float, cases: int) -> float:
    elapsed = time.perf_counter() - started
    return 60.0 * cases / elapsed if elapsed > 0 else 0.0
