"""Training compiled into periods: jobs (gang, length, window, value) and open-ended harvests.

The `training` section (planner/io/schema/training.py) is checked against the horizon and the
node types and expressed in periods as `TrainingData`, the read-only figures the training
families of the model read (planner/model/families/training_*.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pandas as pd

from ..errors import InputError
from ..io.schema.training import Training, TrainingJob
from .clock import period_at
from .frozen import FrozenMap


@dataclass(frozen=True)
class JobData:
    """A job in periods. It occupies `periods` consecutive periods (contiguous jobs) or any
    periods adding up to its length after each segment's losses (splittable jobs), between
    period `first` and period `end` (exclusive)."""

    name: str
    node_type: str
    gang_nodes: int
    length_hours: float
    periods: int
    first: int
    end: int
    splittable: bool
    segment_loss_hours: float
    checkpoint_usd: float
    value_usd: float
    required: bool

    def starts(self) -> range:
        """Periods a contiguous job may start in."""
        return range(self.first, self.end - self.periods + 1)

    def window(self) -> range:
        return range(self.first, self.end)


@dataclass(frozen=True)
class HarvestData:
    node_type: str
    usd_per_node_hour: float
    min_window_periods: int
    max_granules: int | None


@dataclass(frozen=True)
class TrainingData:
    granule_nodes: int = 1
    switch_share: float = 0.0  # phi: share of a period a moving node loses
    usd_per_node_switch: float = 0.0
    jobs: tuple[JobData, ...] = ()
    harvest: Mapping[str, HarvestData] = field(default_factory=FrozenMap)

    @property
    def active(self) -> bool:
        return bool(self.jobs or self.harvest)


def compile_training(spec: Training | None, node_types: Sequence[str], starts: pd.DatetimeIndex,
                     period_hours: float, file: str) -> TrainingData:
    """Check the training section against the horizon and node types; express it in periods."""
    if spec is None:
        return TrainingData()
    horizon = len(starts)
    phi = spec.switching.minutes / 60.0 / period_hours
    jobs = tuple(_job_data(i, job, spec, node_types, starts, period_hours, phi, file)
                 for i, job in enumerate(spec.jobs))
    harvest = {}
    for g, h in spec.harvest.items():
        if g not in node_types:
            raise InputError(file, f"training.harvest.{g}", g, f"unknown node type; the instance has {list(node_types)}")
        if h.max_nodes is not None and h.max_nodes % spec.granule_nodes:
            raise InputError(file, f"training.harvest.{g}.max_nodes", h.max_nodes,
                             f"must be a multiple of training.granule_nodes ({spec.granule_nodes})")
        window = math.ceil(h.min_window_hours / period_hours - 1e-9)
        if window > horizon:
            raise InputError(file, f"training.harvest.{g}.min_window_hours", h.min_window_hours,
                             f"longer than the horizon ({horizon * period_hours:g} h)")
        harvest[g] = HarvestData(g, h.usd_per_node_hour, window,
                                 None if h.max_nodes is None else h.max_nodes // spec.granule_nodes)
    return TrainingData(spec.granule_nodes, phi, spec.switching.usd_per_node_switch, jobs, FrozenMap(harvest))


def _job_data(i: int, job: TrainingJob, spec: Training, node_types: Sequence[str], starts: pd.DatetimeIndex,
              period_hours: float, phi: float, file: str) -> JobData:
    where = f"training.jobs.{i}"
    if job.node_type is None and len(node_types) > 1:
        raise InputError(file, f"{where}.node_type", None, f"required when the instance has several node types {list(node_types)}")
    g = job.node_type or node_types[0]
    if g not in node_types:
        raise InputError(file, f"{where}.node_type", g, f"unknown node type; the instance has {list(node_types)}")
    if job.gang_nodes % spec.granule_nodes:
        raise InputError(file, f"{where}.gang_nodes", job.gang_nodes,
                         f"must be a multiple of training.granule_nodes ({spec.granule_nodes})")
    horizon = len(starts)
    first = 0 if job.earliest_start is None else math.ceil(period_at(job.earliest_start, starts, period_hours) - 1e-9)
    end = horizon if job.deadline is None else math.floor(period_at(job.deadline, starts, period_hours) + 1e-9)
    if not 0 <= first < horizon:
        raise InputError(file, f"{where}.earliest_start", job.earliest_start, "outside the horizon")
    if not 0 < end <= horizon:
        raise InputError(file, f"{where}.deadline", job.deadline, "outside the horizon")
    # The first period of a segment loses phi of itself to the move; a resumed segment also
    # loses the checkpoint reload.
    loss_hours = phi * period_hours + (job.checkpoint_minutes / 60.0 if job.splittable else 0.0)
    periods = math.ceil((job.length_hours + phi * period_hours) / period_hours - 1e-9)
    if periods > end - first:
        raise InputError(file, where, job.name,
                         f"needs {periods} periods of {period_hours:g} h (length {job.length_hours:g} h plus "
                         f"{phi * period_hours * 60:g} min to switch) but its window holds {max(end - first, 0)}")
    return JobData(job.name, g, job.gang_nodes, job.length_hours, periods, first, end, job.splittable,
                   loss_hours, job.checkpoint_usd, job.value_usd, job.required)
