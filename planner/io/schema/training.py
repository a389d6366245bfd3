"""The `training` section: jobs and open-ended harvests that compete with serving for nodes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from ..validation import Strict, iso_with_offset
from .common import Name, NonNegative, Positive, described


class Switching(Strict):
    """Moving a node between serving and training: time lost in that period, and money."""

    minutes: Annotated[float, Field(ge=0, le=24 * 60)] = described(
        "Time a node loses in the period in which it moves, either way: the share φ = `minutes` / 60 / Δ of that "
        "period. A job's first period and a harvest window's first period lose φ of themselves to training; a node "
        "moved back to serving is away from serving for φ of its first period back (formulation.md, section 12). "
        "φ is not capped at 1: `minutes` longer than a period still charges the whole loss to one period.", 0.0,
        unit="minutes")
    usd_per_node_switch: NonNegative = described(
        "c_switch: the cost of every node moved into or out of training, added to the objective.", 0.0,
        unit="USD per node moved")


class TrainingJob(Strict):
    """A gang of nodes for a length of time inside a window, worth a value if it completes."""

    name: Name = described("Unique among the jobs; labels the job in `training.csv` and `plan.png`.")
    node_type: Name | None = described(
        "The node type of the gang; a key of `node_types`. `null`: the instance's only node type; an instance "
        "with several node types must name one.", None)
    gang_nodes: Annotated[int, Field(ge=1)] = described(
        "G_j: nodes the job holds, all together, in every period it runs. A multiple of `granule_nodes`.",
        unit="nodes")
    length_hours: Positive = described(
        "Training time the job needs, not counting switching or checkpoint reloads.", unit="hours")
    splittable: bool = described(
        "`false`: the job runs once, in consecutive periods. `true`: it may stop and resume in any periods of its "
        "window; every segment (a run of consecutive periods) loses the switching time and `checkpoint_minutes`.",
        False)
    checkpoint_minutes: Annotated[float, Field(ge=0, le=24 * 60)] = described(
        "Splittable jobs only (ignored otherwise): time each segment loses reloading a checkpoint, on top of the "
        "switching time. Charged to every segment, the first included.", 0.0, unit="minutes")
    checkpoint_usd: NonNegative = described(
        "Splittable jobs only: the cost of each segment, the first included, added to the objective. It is in "
        "`objective_usd` but in no other output.", 0.0, unit="USD per segment")
    earliest_start: str | None = described(
        "An ISO 8601 date-time with a UTC offset: the job may start in the first period that begins at or after "
        "this moment. `null`: the start of the horizon.", None)
    deadline: str | None = described(
        "A date-time as `earliest_start`: the job must be done by the end of the last period that ends at or "
        "before this moment. `null`: the end of the horizon.", None)
    value_usd: NonNegative = described(
        "V_j: what the job is worth if it completes, subtracted from the objective. A job that does not complete "
        "earns nothing (no partial credit).", 0.0, unit="USD")
    required: bool = described(
        "`true`: the job must run. A required job that the fleet limits cannot hold leaves no plan (exit 1, "
        "section 8).", False)

    @field_validator("earliest_start", "deadline")
    @classmethod
    def _iso_with_offset(cls, value: str | None) -> str | None:
        return value if value is None else iso_with_offset(value)


class Harvest(Strict):
    """Open-ended training on one node type: any node-hours, at a value, in windows of a minimum length."""

    usd_per_node_hour: NonNegative = described(
        "v_g: the value of one node-hour of harvested training, less the switching time lost in the first "
        "period of each window.", unit="USD per node-hour")
    min_window_hours: Positive = described(
        "Every granule moved into the harvest stays there at least M_g = ⌈`min_window_hours` / Δ⌉ periods. No "
        "longer than the horizon.", 1.0, unit="hours")
    max_nodes: Annotated[int, Field(ge=0)] | None = described(
        "The most nodes harvested in a period; a multiple of `granule_nodes`. `null`: no limit other than the "
        "fleet; required when the node type's fleet has no limit.", None, unit="nodes")


class Training(Strict):
    """What training wants from the fleet: jobs, harvests, and the cost of moving nodes."""

    granule_nodes: Annotated[int, Field(ge=1)] = described(
        "k: training takes nodes in blocks of k. Every job's `gang_nodes` and every harvest's `max_nodes` must be "
        "a multiple of it; harvests move whole granules.", 1, unit="nodes")
    switching: Switching = described(
        "Moving nodes between serving and training; the defaults cost neither time nor money.", Switching())
    jobs: list[TrainingJob] = described("Training jobs. Job names must be unique.", [])
    harvest: dict[Name, Harvest] = described(
        "Per node type, an open-ended harvest. Each key must be a key of `node_types`.", {})

    @model_validator(mode="after")
    def _unique_job_names(self) -> "Training":
        names = [j.name for j in self.jobs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"job names must be unique: {duplicates}")
        return self
