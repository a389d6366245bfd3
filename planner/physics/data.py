"""PlanningData: everything the model, the economics and the reports read, compiled from the
inputs and immutable. What a family or a study needs is compiled into a field here (the one
schema record kept is the validated `solver` section, itself immutable), so that a hand-made
PlanningData (tests) needs no files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np
import pandas as pd

from ..io.reference import Reference
from ..io.schema.instance import SolverSettings
from .frozen import FrozenMap
from .training import TrainingData


@dataclass(frozen=True)
class ReservedContract:
    """A reserved-capacity contract of a node type (its `reserved` entry)."""

    name: str
    term_hours: float
    usd_per_node_hour: float
    max_nodes: int | None  # None: no limit


@dataclass(frozen=True)
class NodeTypeData:
    name: str
    gpus_per_node: int
    owned_usd_per_node_hour: float
    owned_min_nodes: int
    owned_max_nodes: int | None  # None: no limit; 0 when the type cannot be owned
    rental_usd_per_node_hour: float
    rental_max_nodes: int | None  # None: no limit; 0 when the type cannot be rented
    ownable: bool = True  # the instance has an `owned` section for this type
    description: str = ""
    reserved: tuple[ReservedContract, ...] = ()
    rental_lead_hours: float = 0.0


@dataclass(frozen=True)
class ServiceLevel:
    """What a served model promises its users (its `slo` section)."""

    decode_tokens_per_s_per_user: float | None = None
    ttft_s: float | None = None
    ttft_percentile: float = 0.95
    decode_speed_percentile: float | None = None


@dataclass(frozen=True)
class DecodePoint:
    """Where a decode node of one deployment runs (formulation.md, section 3)."""

    tokens_per_s_per_node: float  # at the operating point, calibrated (decode_capacity_factor)
    mean_tokens_per_s_per_user: float | None  # the mean speed it runs at (faster for a TPOT percentile)
    tail_factor: float  # f_q: mean speed over promised speed (1: the promise is a mean)
    sequences_per_gpu: float | None  # b = rate / (G v): sequences a GPU holds at the point
    kv_sequences_per_gpu_limit: np.ndarray | None  # [t] what KV memory holds; None: not modelled
    tokens_per_s_per_node_by_period: np.ndarray  # [t] the rate, capped by KV memory
    fixed_step_s: float | None = None  # tau_0 of the step-time model; None: the profile gives none

    def running(self, gpus_per_node: int) -> tuple[np.ndarray, np.ndarray]:
        """Per period, the sequences a GPU runs and the tokens/s each user then sees: the operating
        point's batch b, or b_mem where memory caps it, at the capped node rate / (G batch)."""
        rate = np.asarray(self.tokens_per_s_per_node_by_period, dtype=float)
        batch = np.full(len(rate), self.sequences_per_gpu, dtype=float)
        if self.kv_sequences_per_gpu_limit is not None:
            batch = np.minimum(batch, np.asarray(self.kv_sequences_per_gpu_limit, dtype=float))
        return batch, rate / (gpus_per_node * batch)


@dataclass(frozen=True)
class PrefillStreams:
    """A prefill unit of one deployment as a queue sees it (formulation.md, section 8): k streams
    (its data-parallel ranks), each prefilling one prompt at 1/k of the unit's input tokens/s at
    full use, at period t's cache-hit mix."""

    streams_per_unit: int
    seconds_per_token: np.ndarray  # [t] on one stream


@dataclass(frozen=True)
class Requests:
    """What one request of a served model looks like (its `workload`): lengths in tokens."""

    mean_prompt_tokens: float
    prompt_kind: str  # gamma, lognormal or empirical
    prompt_scv: float
    prompt_sample: np.ndarray | None  # empirical lengths, as read
    mean_output_tokens: np.ndarray  # [t]: the workload's, or output tokens / requests of the period


@dataclass(frozen=True)
class FailureRates:
    """Node failures as the instance states them (its `failures` section)."""

    node_failures_per_hour: float
    repair_hours: float
    swap_hours: float | None
    unit_failures_per_hour: float = 0.0
    unit_restart_hours: float = 0.25
    rack_nodes: int = 1
    rack_failures_per_hour: float = 0.0
    rack_repair_hours: float = 4.0


@dataclass(frozen=True)
class CommitmentData:
    """Forming a unit of one deployment, in periods (planner/io/schema/profile.py's Commitment)."""

    start_share: float  # φ_start: share of the start period a forming unit does not serve (<= 1)
    start_usd_per_node: float
    convert_share: float  # φ_convert: the same for nodes converted from the other role
    convert_usd_per_node: float
    min_up_periods: int  # 1: no minimum
    min_down_periods: int


@dataclass(frozen=True)
class Penalties:
    """What unserved demand costs in the objective, in USD per million tokens of the role."""

    unserved_input_usd_per_million_tokens: float = 1000.0
    unserved_output_usd_per_million_tokens: float = 1000.0
    allow_unserved: bool = True

    def usd_per_mtok(self, role: str) -> float:
        return self.unserved_input_usd_per_million_tokens if role == "prefill" else \
            self.unserved_output_usd_per_million_tokens


@dataclass(frozen=True)
class PlanningData:
    """A validated planning problem. Arrays are read-only; index order is [model, period] etc."""

    name: str
    source: str
    periods: int
    period_hours: float
    period_starts: pd.DatetimeIndex
    node_types: tuple[NodeTypeData, ...]
    served_models: tuple[str, ...]
    deployments: tuple[tuple[str, str], ...]  # (served model, node type) pairs that can serve
    unit_nodes: Mapping[tuple[str, str, str], int]  # (model, node type, role) -> nodes per unit
    unit_capacity_mtok: Mapping[tuple[str, str, str], np.ndarray]  # per unit per period [t]
    decode_tokens_per_s_per_node: Mapping[tuple[str, str], float]  # at the SLO's speed, factor included
    min_prefill_units: Mapping[tuple[str, str], np.ndarray]  # TTFT bound per period; -1: cannot meet it
    demand_tokens: Mapping[str, np.ndarray]  # column -> [model, period]
    demand_mtok: Mapping[tuple[str, str], np.ndarray]  # (model, role) -> [period]: input for prefill, output for decode
    prices_usd_per_mtok: Mapping[str, np.ndarray]  # hit / miss / output -> [model, period]
    penalties: Penalties
    solver: SolverSettings
    description: str = ""
    service_levels: Mapping[str, ServiceLevel] = field(default_factory=FrozenMap)
    calibrations: Mapping[tuple[str, str], str] = field(default_factory=FrozenMap)  # (model, node type) -> text
    reference: Reference | None = None
    training: TrainingData = field(default_factory=TrainingData)
    scenarios: int = 1  # equally likely demand scenarios, stacked as blocks of periods
    scenario_slo_share: float | None = None  # the chance constraint's share; None: misses only priced
    day_ahead: bool = False  # units committed the day before, the same in every scenario
    fixed_commitment: Mapping[tuple[str, str, str, int], int] = field(default_factory=FrozenMap)  # (m, g, r, hour)
    fixed_reserved: Mapping[tuple[str, str, int], int] = field(default_factory=FrozenMap)  # (g, contract, term)
    fixed_rentals: Mapping[tuple[str, int], int] = field(default_factory=FrozenMap)  # (g, hour) ordered before the day
    availability_units: Mapping[tuple[str, str, str], np.ndarray] = field(default_factory=FrozenMap)
    unit_availability: Mapping[tuple[str, str, str], float] = field(default_factory=FrozenMap)  # P(unit up)
    spare_ratio: Mapping[str, float] = field(default_factory=FrozenMap)  # node type -> spares per serving node
    spare_floor: Mapping[str, np.ndarray] = field(default_factory=FrozenMap)  # node type -> [t] the period's own pool
    commitment: Mapping[tuple[str, str], CommitmentData] = field(default_factory=FrozenMap)  # (model, node type)
    decode_points: Mapping[tuple[str, str], DecodePoint] = field(default_factory=FrozenMap)  # (model, node type)
    peak_to_mean_ratio: float = 1.0  # the largest of peak_to_mean_by_period
    peak_to_mean_by_period: Mapping[str, np.ndarray] = field(default_factory=FrozenMap)  # model -> [t]: rows at peak
    ttft_smallest_attainable_s: Mapping[str, float] = field(default_factory=FrozenMap)  # served model -> s
    prefill_streams: Mapping[tuple[str, str], PrefillStreams] = field(default_factory=FrozenMap)  # (model, type)
    requests: Mapping[str, Requests] = field(default_factory=FrozenMap)  # served models with a workload
    failure_rates: FailureRates | None = None

    def ttft_unattainable(self, model: str) -> np.ndarray:
        """Periods with demand in which no deployed type can meet the model's TTFT target."""
        types = self.deployed_types(model)
        if not types:
            return np.zeros(self.periods, dtype=bool)
        return np.all([self.min_prefill_units[(model, g)] < 0 for g in types], axis=0)

    @property
    def horizon_periods(self) -> int:
        """Periods of one scenario (the planning horizon)."""
        return self.periods // self.scenarios

    @property
    def horizon_hours(self) -> float:
        return self.horizon_periods * self.period_hours

    def scenario_of(self, t: int) -> int:
        return t // self.horizon_periods

    @property
    def node_type_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.node_types)

    def node_type(self, name: str) -> NodeTypeData:
        return next(g for g in self.node_types if g.name == name)

    def model_index(self, name: str) -> int:
        return self.served_models.index(name)

    def role_demand_mtok(self, model: str, role: str) -> np.ndarray:
        """Demand each period in million tokens of the role's unit: input for prefill, output for decode."""
        return self.demand_mtok[(model, role)]

    def deployed_types(self, model: str) -> tuple[str, ...]:
        """The node types that can serve `model`, in deployment order."""
        return tuple(g for (m, g) in self.deployments if m == model)

    def with_owned_fleet(self, owned: Mapping[str, int]) -> "PlanningData":
        """The same problem with the owned fleet of every ownable type fixed (min = max = owned[g])."""
        types = tuple(replace(g, owned_min_nodes=int(owned[g.name]), owned_max_nodes=int(owned[g.name]))
                      if g.ownable and g.name in owned else g for g in self.node_types)
        return replace(self, node_types=types)

    def with_reserved_fleet(self, reserved: Mapping[tuple[str, str, int], int]) -> "PlanningData":
        """The same problem with the nodes on every reserved contract's terms fixed (a plan's)."""
        return replace(self, fixed_reserved=FrozenMap({key: int(v) for key, v in reserved.items()}))

    def lead_periods(self, g: str) -> int:
        """L_g in periods: node type g's on-demand lead time, rounded up to whole periods."""
        return int(math.ceil(self.node_type(g).rental_lead_hours / self.period_hours - 1e-9))

    def with_rentals_ordered_ahead(self, rented: Mapping[tuple[str, int], int]) -> "PlanningData":
        """The same problem with the rentals of the hours tau < L_g (ordered before the day, the
        same in every scenario) fixed: a plan's, tried on other scenarios."""
        return replace(self, fixed_rentals=FrozenMap({key: int(v) for key, v in rented.items()}))

    def term_hours_in_horizon(self, term_hours: float) -> list[float]:
        """The hours of each term of a contract inside the horizon (of one scenario): the horizon
        cut into terms from its start, a period belonging to the term it starts in; a term holds
        (and is charged for) the hours of its periods, the last one cut short by the horizon's end."""
        hours = [0.0] * (self.term_of_period(self.horizon_periods - 1, term_hours) + 1)
        for t in range(self.horizon_periods):
            hours[self.term_of_period(t, term_hours)] += self.period_hours
        return hours

    def term_of_period(self, t: int, term_hours: float) -> int:
        """The term (from the horizon's start) that period t (of any scenario) falls in."""
        return int(math.floor((t % self.horizon_periods) * self.period_hours / term_hours + 1e-9))

    def with_commitment(self, committed: Mapping[tuple[str, str, str, int], int]) -> "PlanningData":
        """The same problem with the day-ahead commitment fixed (a plan's, to be tried on other
        scenarios)."""
        return replace(self, fixed_commitment=FrozenMap({key: int(v) for key, v in committed.items()}))
