"""SLO frontier: the plan's cost against promised per-user decode speed and TTFT targets.

Each point is one plan of the instance with its served model's `slo` varied; points a profile
cannot serve (a speed faster than its fastest operating point, a TTFT target below the
percentile of the prefill time alone in some period) are recorded as unattainable, not solved,
rather than failing the frontier.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from ..errors import Argument, InputError
from ..io.inputs import Inputs
from .executors import executor, run_points, shared_solver
from .points import compile_varied, plan_data

FRONTIER_COLUMNS = (
    "decode_tokens_per_s_per_user", "ttft_s", "status", "cost_usd", "nodes_mean", "nodes_peak",
    "usd_per_million_output_tokens", "unserved_output_share", "usd_per_day_per_extra_token_per_s",
    "usd_per_million_output_tokens_per_extra_token_per_s", "ttft_missed_periods", "ttft_unattainable_periods",
    "kv_binding_periods", "note",
)


def slo_updates(served_model: str, speed: float | None, ttft: float | None) -> dict[str, Any]:
    """The typed updates of one frontier point."""
    base = f"served_models.{served_model}.slo"
    out: dict[str, Any] = {}
    if speed is not None:
        out[f"{base}.decode_tokens_per_s_per_user"] = float(speed)
    out[f"{base}.ttft_s"] = None if ttft is None else float(ttft)
    return out


def frontier_point(inputs: Inputs, served_model: str, speed: float | None, ttft: float | None,
                   solver: Mapping[str, Any]) -> dict[str, Any]:
    """Plan one SLO point; an unattainable SLO is a row with its reason, not an error."""
    row: dict[str, Any] = {"decode_tokens_per_s_per_user": speed, "ttft_s": ttft}
    try:
        data = compile_varied(inputs, slo_updates(served_model, speed, ttft))
    except InputError as exc:
        section = f"served_models.{served_model}"
        if not (exc.field_name == section or exc.field_name.startswith(section + ".")):
            raise
        return {**row, "status": "unattainable", "note": exc.problem}
    missed = int(data.ttft_unattainable(served_model).sum()) if ttft is not None else 0
    if missed:
        q = data.service_levels[served_model].ttft_percentile
        return {**row, "status": "unattainable", "ttft_unattainable_periods": missed,
                "note": f"the p{q * 100:g} of the prefill time alone exceeds {ttft:g} s in {missed} periods; "
                        f"the smallest target every period can meet is "
                        f"{data.ttft_smallest_attainable_s[served_model]:.3g} s"}
    outcome = plan_data(data, solver)
    totals = outcome.totals
    if totals is None:
        return {**row, "status": outcome.result.status, "note": outcome.result.termination}
    return {
        **row,
        "status": outcome.result.status,
        "cost_usd": totals.cost_usd.total,
        "nodes_mean": totals.nodes.mean,
        "nodes_peak": totals.nodes.peak,
        "usd_per_million_output_tokens": totals.cost_usd.per_million_output_tokens,
        "unserved_output_share": totals.unserved_tokens.output_share,
        "ttft_missed_periods": outcome.ttft_shortfall.periods if outcome.ttft_shortfall else 0,
        "ttft_unattainable_periods": 0,
        "kv_binding_periods": max(t.kv_binding_periods for t in outcome.service[served_model].by_node_type.values()),
        "note": "",
    }


def slo_frontier(inputs: Inputs, served_model: str, speeds: Sequence[float], ttfts: Sequence[float | None],
                 solver: Mapping[str, Any] | None = None, *, workers: int = 1, executor_kind: str = "process",
                 scheduler: str | None = None,
                 progress: Callable[[int, int], None] = lambda done, total: None) -> pd.DataFrame:
    """One row per (TTFT target, speed), with the marginal daily cost of each extra token/s."""
    if served_model not in inputs.spec.served_models:
        raise InputError(Argument("served_model"), "", served_model,
                         f"not a served model; the instance has {list(inputs.spec.served_models)}")
    solver = shared_solver(solver, workers)
    points = [(inputs, served_model, v, ttft, solver) for ttft, v in itertools.product(ttfts, sorted(speeds))]
    with executor(executor_kind, workers, scheduler) as running:
        rows = run_points(running, frontier_point, points, progress)
    frame = pd.DataFrame(rows).reindex(columns=FRONTIER_COLUMNS)
    for ttft, group in frame.groupby(frame["ttft_s"].fillna(-1.0), sort=False):
        costs = group["cost_usd"].astype(float)
        speeds_ = group["decode_tokens_per_s_per_user"].astype(float)
        frame.loc[group.index, "usd_per_day_per_extra_token_per_s"] = costs.diff() / speeds_.diff()
        per_mtok = group["usd_per_million_output_tokens"].astype(float)
        frame.loc[group.index, "usd_per_million_output_tokens_per_extra_token_per_s"] = per_mtok.diff() / speeds_.diff()
    return frame
