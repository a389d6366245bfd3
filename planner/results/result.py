"""The typed result of a plan: the solve, the plan's economics, service levels, training, the
comparison with a published day, and the diagnosis when there is no plan. summary.json, the
printed table, report.md, the charts and the studies all read it; `summary` is its serialization
(docs/formats.md lists the keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..model.diagnosis import Diagnosis
from ..model.solve import SolveResult
from ..physics.data import PlanningData
from .economics import Evaluation, Totals, per_period
from .published import PublishedComparison
from .summary import as_record

TIMING_KEYS = ("build_s", "solve_s", "wall_s")


@dataclass(frozen=True)
class NodeTypeService:
    """What a served model's promise implies on one node type (formulation.md, sections 3 and 8)."""

    decode_tokens_per_s_per_node: float  # at the operating point, calibrated, before KV memory
    decode_mean_tokens_per_s_per_user: float | None  # the mean speed it runs at
    ttft_min_prefill_units_peak: int
    ttft_unattainable_periods: int  # periods this type alone cannot meet the target in
    kv_sequences_per_gpu_at_speed: float | None  # what the operating point implies
    kv_sequences_per_gpu_limit: float | None  # what KV memory holds, the tightest period (None: not modelled)
    kv_binding_periods: int  # periods in which memory caps the operating point
    kv_sequences_per_gpu_peak: float | None  # the plan's busiest period on this type


@dataclass(frozen=True)
class ServicePromise:
    """A served model's promised latency and what it implies per node type."""

    decode_tokens_per_s_per_user: float | None
    decode_speed_basis: str  # "mean", or the TPOT quantile the speed holds at
    ttft_s: float | None
    ttft_percentile: float | None
    ttft_unattainable_periods: int  # periods no deployed type can meet the target in
    ttft_smallest_attainable_s: float | None  # the prefill time's quantile alone, the worst period
    peak_to_mean_ratio: float
    by_node_type: dict[str, NodeTypeService]


def _speed_basis(data: PlanningData, m: str) -> str:
    q = data.service_levels[m].decode_speed_percentile
    if q is None:
        return "mean"
    tails = [data.decode_points[(m, g)].tail_factor != 1.0 for g in data.deployed_types(m)]
    if all(tails):
        return f"p{q * 100:g} of the time between tokens"
    if not any(tails):
        return "mean (no profile gives the step time's spread)"
    return f"p{q * 100:g} where the profile gives the step time's spread, else mean"


def _peak(data: PlanningData, m: str):
    """m's peak-to-mean ratio per period (data made by hand may give only the one ratio)."""
    return data.peak_to_mean_by_period.get(m, data.peak_to_mean_ratio)


def _kv_peak(data: PlanningData, m: str, g: str, units: pd.DataFrame | None,
             served_share: Mapping[tuple[str, str], np.ndarray] | None) -> float | None:
    """Sequences per GPU the plan runs on g in its busiest period: the period's served output at
    its peak rate over the speed each user sees there (the mean speed, or the faster one where
    memory caps the batch: rho^mem / (G min(b, b_mem))), split over types in proportion to their
    decode capacity."""
    point = data.decode_points[(m, g)]
    if units is None or served_share is None or point.kv_sequences_per_gpu_limit is None:
        return None
    decode = units[(units["served_model"] == m) & (units["role"] == "decode")]
    tokens_per_s = {h: np.zeros(data.periods) for h in data.deployed_types(m)}
    for h, rows in decode.groupby("node_type"):
        tokens_per_s[h] = (per_period(rows, "units", data.periods) * data.unit_nodes[(m, h, "decode")]
                           * data.decode_points[(m, h)].tokens_per_s_per_node_by_period)
    capacity = sum(tokens_per_s.values())
    served = (data.role_demand_mtok(m, "decode") * served_share[(m, "decode")] * 1e6 * _peak(data, m)
              / (3600.0 * data.period_hours))
    gpus = data.node_type(g).gpus_per_node
    _, speed = point.running(gpus)
    nodes = np.maximum(tokens_per_s[g] / np.asarray(point.tokens_per_s_per_node_by_period), 1e-12)  # decoding
    with np.errstate(divide="ignore", invalid="ignore"):
        on_g = np.where(capacity > 0, served * tokens_per_s[g] / capacity, 0.0)
        per_gpu = np.where(tokens_per_s[g] > 0, on_g / speed / (nodes * gpus), 0.0)
    return round(float(per_gpu.max()), 3)


def service_promises(data: PlanningData, units: pd.DataFrame | None = None,
                     served_share: Mapping[tuple[str, str], np.ndarray] | None = None) -> dict[str, ServicePromise]:
    """Per served model: the promised latency and what it implies for each node type (with a
    plan's units and served shares: the KV concurrency it runs)."""
    out = {}
    for m in data.served_models:
        level = data.service_levels[m]
        by_type = {}
        for g in data.deployed_types(m):
            point = data.decode_points[(m, g)]
            limit = point.kv_sequences_per_gpu_limit
            binding = 0 if limit is None or point.sequences_per_gpu is None else \
                int((point.sequences_per_gpu > np.asarray(limit) + 1e-9).sum())
            by_type[g] = NodeTypeService(
                decode_tokens_per_s_per_node=round(data.decode_tokens_per_s_per_node[(m, g)], 3),
                decode_mean_tokens_per_s_per_user=None if point.mean_tokens_per_s_per_user is None
                else round(point.mean_tokens_per_s_per_user, 3),
                ttft_min_prefill_units_peak=int(max(data.min_prefill_units[(m, g)].max(), 0)),
                ttft_unattainable_periods=int((data.min_prefill_units[(m, g)] < 0).sum()),
                kv_sequences_per_gpu_at_speed=None if point.sequences_per_gpu is None
                else round(point.sequences_per_gpu, 3),
                kv_sequences_per_gpu_limit=None if limit is None else round(float(np.min(limit)), 3),
                kv_binding_periods=binding,
                kv_sequences_per_gpu_peak=_kv_peak(data, m, g, units, served_share),
            )
        has_target = level.ttft_s is not None
        out[m] = ServicePromise(
            decode_tokens_per_s_per_user=level.decode_tokens_per_s_per_user,
            decode_speed_basis=_speed_basis(data, m),
            ttft_s=level.ttft_s,
            ttft_percentile=level.ttft_percentile if has_target else None,
            ttft_unattainable_periods=int(data.ttft_unattainable(m).sum()) if has_target else 0,
            ttft_smallest_attainable_s=round(data.ttft_smallest_attainable_s[m], 4) if has_target else None,
            peak_to_mean_ratio=float(np.max(_peak(data, m))),
            by_node_type=by_type,
        )
    return out


@dataclass(frozen=True)
class TtftShortfall:
    """Periods in which a plan provides less than the TTFT target's prefill pool."""

    periods: int
    by_served_model: dict[str, list[int]]


def ttft_shortfall(result: SolveResult) -> TtftShortfall | None:
    """The periods whose TTFT pool the plan leaves short (None without a TTFT target)."""
    if "ttft_shortfall" not in result.tables:
        return None
    short = result.tables["ttft_shortfall"]
    short = short[short["shortfall_share"] > 1e-6]
    return TtftShortfall(periods=int(short["period"].nunique()),
                         by_served_model={m: [int(t) for t in rows["period"]] for m, rows in short.groupby("served_model")})


@dataclass(frozen=True)
class PlanResult:
    """One planned instance: everything a report or a study reads."""

    data: PlanningData
    result: SolveResult  # the solve: status, objective, bound, gap, the families' tables
    plan: Evaluation | None  # the plan scored; None without a plan
    service: dict[str, ServicePromise]
    ttft_shortfall: TtftShortfall | None
    comparison: PublishedComparison | None
    diagnosis: Diagnosis | None
    wall_s: float

    @property
    def has_plan(self) -> bool:
        return self.plan is not None

    @property
    def totals(self) -> Totals | None:
        return self.plan.totals if self.plan is not None else None

    @property
    def published_nodes(self) -> np.ndarray | None:
        return self.comparison.nodes if self.comparison is not None else None

    @property
    def summary(self) -> dict[str, Any]:
        """The summary record (summary.json with the solver's timings; see `summary_and_timings`)."""
        totals = as_record(self.totals) if self.totals is not None else {}
        record = {
            "instance": self.data.name,
            "source": self.data.source,
            "status": self.result.status,
            "termination": self.result.termination,
            "reproducible": self.result.status != "time_limit",
            "mip_gap": self.result.mip_gap,
            "objective_usd": self.result.objective_usd,
            "bound_usd": self.result.bound_usd,
            "formulation": self.result.formulation,
            "periods": self.data.periods,
            "period_hours": self.data.period_hours,
            **{k: totals.get(k) for k in ("nodes", "fleet", "cost_usd", "revenue_usd", "margin", "unserved_tokens")},
            "ttft_shortfall": as_record(self.ttft_shortfall) if self.plan is not None else None,
            "training": totals.get("training"),
            **as_record(dict(self.result.summaries)),
            "slo": as_record(self.service),
            "reference": self.comparison.record if self.comparison is not None else None,
            "solver": {
                "name": "highs",
                "build_s": round(self.result.build_s, 4),
                "solve_s": round(self.result.solve_s, 4),
                "wall_s": round(self.wall_s, 4),
            },
        }
        if self.diagnosis is not None:
            record["diagnosis"] = self.diagnosis.as_record()
        return record

    def summary_and_timings(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """summary.json (byte-identical for the same input and options: no timings) and
        timings.json."""
        record = self.summary
        solver = dict(record["solver"])
        timings = {k: solver.pop(k) for k in TIMING_KEYS if k in solver}
        return {**record, "solver": solver}, {"instance": record["instance"], **timings}
