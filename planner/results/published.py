"""The published schedule on an instance's horizon, scored by the same economics as a plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..physics.data import PlanningData
from ..physics.published import PublishedFigures, nodes_per_period, published_figures, role_split
from .economics import Evaluation, evaluate, published_allocation
from .summary import as_record


@dataclass(frozen=True)
class PublishedComparison:
    """The published schedule, on the instance's horizon, scored by the same economics."""

    nodes: np.ndarray  # per period, time-weighted
    evaluation: Evaluation | None  # None when the instance has several deployments
    figures: PublishedFigures

    @property
    def record(self) -> dict[str, Any]:
        """summary.json's `reference`."""
        return {"published": as_record(self.figures),
                "published_schedule_scored": as_record(self.evaluation.totals) if self.evaluation else None}


def compare_with_reference(data: PlanningData) -> PublishedComparison | None:
    """Score the published node steps on `data` when the instance names a reference."""
    if data.reference is None:
        return None
    nodes = nodes_per_period(data.reference, data.period_starts, data.period_hours)
    evaluation = None
    if len(data.deployments) == 1:
        evaluation = evaluate(data, **published_allocation(data, role_split(data.reference).split(nodes)))
    return PublishedComparison(nodes=nodes, evaluation=evaluation, figures=published_figures(data.reference))
