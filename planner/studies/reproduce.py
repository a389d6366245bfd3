"""The published day reproduced: its own arithmetic recomputed, the calibration recomputed, the
published schedule scored by planner's economics, and the optimized day beside it, as a band
between two calibrations.

The plan's peak is not a finding: the optimistic calibration takes each role's capacity at full
use from the published schedule's busiest hour, so the plan needs exactly the published peak
there by construction. One step of calibration either way moves the optimized day across the
published one, hence the band: from the **optimistic** end (capacity = the heaviest hourly load
per node the published schedule carried, the instance's factors) to the **conservative** end
(capacity = the published day averages, factors 1: the published throughputs include every
hour's headroom). At each end the greedy hour-by-hour autoscaler on the same instance shows
what the optimization itself adds there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import NO_VALUE, InputError
from ..io.inputs import Inputs
from ..io.reference import Reference
from ..physics.published import peak_capacity_factors, published_arithmetic
from ..results.result import PlanResult
from ..results.summary import as_record
from .points import compile_varied, plan_data
from .policies import greedy_allocation, policy_evaluation


@dataclass(frozen=True)
class BandEnd:
    """The optimized day at one calibration, and the greedy autoscaler's day at the same."""

    prefill_capacity_factor: float
    decode_capacity_factor: float
    nodes_mean: float
    nodes_peak: float
    cost_usd: float
    cost_profit_margin: float | None
    greedy_nodes_mean: float
    greedy_cost_usd: float


@dataclass(frozen=True)
class Reproduction:
    reference: Reference
    arithmetic: dict[str, float]
    capacity_factors: dict[str, dict[str, float]]  # role -> {recomputed, instance}
    plan: PlanResult
    band: dict[str, BandEnd]  # optimistic, conservative

    @property
    def record(self) -> dict[str, Any]:
        """reproduce.json."""
        scored = self.plan.comparison.evaluation if self.plan.comparison else None
        return {"arithmetic": self.arithmetic, "capacity_factors": self.capacity_factors,
                "published_schedule_scored": as_record(scored.totals) if scored else None,
                "band": as_record(self.band),
                "plan": self.plan.summary}


def _band_end(outcome: PlanResult, factors: tuple[float, float]) -> BandEnd:
    greedy = policy_evaluation(outcome.data, greedy_allocation(outcome.data)).totals
    t = outcome.totals
    return BandEnd(prefill_capacity_factor=factors[0], decode_capacity_factor=factors[1],
                   nodes_mean=t.nodes.mean, nodes_peak=t.nodes.peak, cost_usd=t.cost_usd.total,
                   cost_profit_margin=t.margin.cost_profit, greedy_nodes_mean=greedy.nodes.mean,
                   greedy_cost_usd=greedy.cost_usd.total)


def reproduce(inputs: Inputs, solver: Mapping[str, Any] | None = None) -> Reproduction:
    """The published arithmetic from the published figures, the calibration, the published
    schedule scored by planner's economics, and the optimized day at both ends of the band."""
    if inputs.reference is None:
        raise InputError(inputs.source, "reference", NO_VALUE, "this command needs an instance that names a reference")
    data = compile_varied(inputs)
    if len(data.deployments) != 1:
        raise InputError(data.source, "served_models", list(data.served_models),
                         "reproduce needs the reference day's single deployment")
    (m, g), = data.deployments
    deployment = inputs.spec.served_models[m].deployments[g]
    recomputed = peak_capacity_factors(inputs.reference, data.period_starts, data.period_hours)
    factors = {
        "prefill": {"recomputed": recomputed["prefill"], "instance": deployment.prefill_capacity_factor},
        "decode": {"recomputed": recomputed["decode"], "instance": deployment.decode_capacity_factor},
    }
    solver = {k: v for k, v in (solver or {}).items() if v is not None}
    outcome = plan_data(data, solver)
    section = f"served_models.{m}.deployments.{g}"
    averages = plan_data(compile_varied(inputs, {f"{section}.prefill_capacity_factor": 1.0,
                                                 f"{section}.decode_capacity_factor": 1.0}), solver)
    band = {"optimistic": _band_end(outcome, (deployment.prefill_capacity_factor, deployment.decode_capacity_factor)),
            "conservative": _band_end(averages, (1.0, 1.0))}
    return Reproduction(inputs.reference, published_arithmetic(inputs.reference), factors, outcome, band)
