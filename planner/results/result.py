"""The typed result of a plan: the solve, the plan's economics, service levels, training, the
comparison with a published day, and the diagnosis when there is no plan. summary.json, the
printed table, report.md, the charts and the studies all read it; `summary` is its serialization
(docs/formats.md lists the keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.diagnosis import Diagnosis
from ..model.solve import SolveResult
from ..physics.data import PlanningData
from .economics import Evaluation, Totals
from .published import PublishedComparison
from .summary import as_record

TIMING_KEYS = ("build_s", "solve_s", "wall_s")


@dataclass(frozen=True)
class NodeTypeService:
    """What a served model's promise implies on one node type."""

    decode_tokens_per_s_per_node: float
    ttft_min_prefill_units_peak: int
    ttft_unattainable_periods: int


@dataclass(frozen=True)
class ServicePromise:
    """A served model's promised latency and what it implies per node type."""

    decode_tokens_per_s_per_user: float | None
    ttft_s: float | None
    ttft_percentile: float | None
    by_node_type: dict[str, NodeTypeService]


@dataclass(frozen=True)
class TtftShortfall:
    """Periods in which a plan provides less than the TTFT target's prefill pool."""

    periods: int
    by_served_model: dict[str, list[int]]


def service_promises(data: PlanningData) -> dict[str, ServicePromise]:
    """Per served model: the promised latency and what it implies for each node type."""
    out = {}
    for m in data.served_models:
        level = data.service_levels[m]
        out[m] = ServicePromise(
            decode_tokens_per_s_per_user=level.decode_tokens_per_s_per_user,
            ttft_s=level.ttft_s,
            ttft_percentile=level.ttft_percentile if level.ttft_s is not None else None,
            by_node_type={g: NodeTypeService(
                decode_tokens_per_s_per_node=round(data.decode_tokens_per_s_per_node[(m, g)], 3),
                ttft_min_prefill_units_peak=int(max(data.min_prefill_units[(m, g)].max(), 0)),
                ttft_unattainable_periods=int((data.min_prefill_units[(m, g)] < 0).sum()),
            ) for g in data.deployed_types(m)},
        )
    return out


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
