"""Where study points run: in this process, in a local process pool, or on a Dask cluster, behind
one concurrent.futures interface (Dask's `Client.get_executor()` is one).

Points are module-level functions of plain, picklable data (loaded inputs, updates, solver
options): a worker builds its model itself (Pyomo models with lambda rules do not pickle).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

from ..errors import Argument, InputError

EXECUTORS = ("process", "dask")


class InlineExecutor(cf.Executor):
    """Runs each submitted call at once, in this process: one worker needs no pool."""

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - the future carries it, as a pool's would
            future.set_exception(exc)
        return future


def _ignore_interrupts() -> None:
    """Worker start-up: Ctrl-C is the parent's to handle (it stops the workers), not theirs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def process_pool(workers: int) -> Iterator[cf.Executor]:
    """Worker processes started fresh ('spawn'): a forked child would inherit the parent's HiGHS
    thread pool without its threads, and solves in it fail. On Ctrl-C (or any error) in the
    parent, the workers are stopped at once rather than waited for."""
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_ignore_interrupts)
    try:
        yield pool
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):  # no public way to stop them
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@contextmanager
def dask_executor(workers: int, scheduler: str | None) -> Iterator[cf.Executor]:
    """A concurrent.futures executor on a Dask cluster: `scheduler`'s, or a LocalCluster that
    listens on loopback only."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError(Argument("executor"), "", "dask",
                         "needs the dask extra: pip install 'planner[dask]'") from None
    if scheduler:
        with Client(scheduler) as client:
            yield client.get_executor()
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client.get_executor()


@contextmanager
def executor(kind: str = "process", workers: int = 1, scheduler: str | None = None,
             inline_single: bool = True) -> Iterator[cf.Executor]:
    """The executor of `kind` ('process' or 'dask') with `workers`; one local worker runs inline
    unless `inline_single` is false (a sweep isolates its cases in a process even then)."""
    if kind not in EXECUTORS:
        raise InputError(Argument("executor"), "", kind, f"choose from {', '.join(EXECUTORS)}")
    if kind == "dask":
        with dask_executor(workers, scheduler) as running:
            yield running
    elif workers == 1 and inline_single:
        yield InlineExecutor()
    else:
        with process_pool(workers) as running:
            yield running


def solver_threads(workers: int, requested: int | None) -> int:
    """Solver threads per point so that threads x workers <= cores."""
    cores = os.cpu_count() or 1
    fair = max(1, cores // max(1, workers))
    return min(requested, fair) if requested else fair


def shared_solver(solver: Mapping[str, Any] | None, workers: int) -> dict[str, Any]:
    """Solver options without unset (None) entries; with several workers, threads capped so that
    threads x workers <= cores."""
    out = {k: v for k, v in (solver or {}).items() if v is not None}
    if workers > 1:
        out["threads"] = solver_threads(workers, out.get("threads"))
    return out


def call(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args): lets one run_points mix different tasks (each point names its own)."""
    return fn(*args)


def run_points(running: cf.Executor, task: Callable[..., Any], points: Sequence[tuple],
               progress: Callable[[int, int], None] = lambda done, total: None) -> list[Any]:
    """task(*point) for every point on the executor; results in the points' order. `progress`
    (done, total) is called in this thread as points finish (it may raise to stop the study)."""
    total = len(points)
    progress(0, total)
    if isinstance(running, InlineExecutor):
        results = []
        for point in points:
            results.append(task(*point))
            progress(len(results), total)
        return results
    futures = [running.submit(task, *point) for point in points]
    index = {future: i for i, future in enumerate(futures)}
    results = [None] * total
    for done, future in enumerate(cf.as_completed(futures), start=1):
        results[index[future]] = future.result()
        progress(done, total)
    return results
