"""The published day reproduced: its own arithmetic recomputed, the calibration recomputed, the
published schedule scored by planner's economics, and the optimized day beside it."""

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


@dataclass(frozen=True)
class Reproduction:
    reference: Reference
    arithmetic: dict[str, float]
    capacity_factors: dict[str, dict[str, float]]  # role -> {recomputed, instance}
    plan: PlanResult

    @property
    def record(self) -> dict[str, Any]:
        """reproduce.json."""
        scored = self.plan.comparison.evaluation if self.plan.comparison else None
        return {"arithmetic": self.arithmetic, "capacity_factors": self.capacity_factors,
                "published_schedule_scored": as_record(scored.totals) if scored else None,
                "plan": self.plan.summary}


def reproduce(inputs: Inputs, solver: Mapping[str, Any] | None = None) -> Reproduction:
    """The published arithmetic from the published figures, the calibration, the published
    schedule scored by planner's economics, and the optimized day, side by side."""
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
    outcome = plan_data(data, {k: v for k, v in (solver or {}).items() if v is not None})
    return Reproduction(inputs.reference, published_arithmetic(inputs.reference), factors, outcome)
