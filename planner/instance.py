"""Load and validate an instance (YAML + demand CSV + profiles) into immutable planning data.

Nothing downstream reads files: `load_instance` returns a `PlanningData` whose arrays are
read-only, with every per-period figure the model and the economics need already computed.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, field_validator, model_validator

from .demand import read_demand_csv
from .errors import NO_VALUE, InputError
from .files import parse_yaml, read_yaml_mapping
from .profiles import Profile, load_profile
from .slo import min_units_for_ttft
from .margin_assumptions import MarginAssumptions
from .failures import Failures, min_units_for_availability, spare_nodes, unit_availability
from .scenarios import Scenarios, multipliers, read_scenario_csv, scenario_demand
from .training import Training, TrainingData, compile_training
from .validation import ClockWindow, Prices, Strict, iso_with_offset, validate

ROLES = ("prefill", "decode")
SECONDS_PER_HOUR = 3600.0
TOKENS_PER_MTOK = 1e6

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]
Name = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_@+-]*$")]  # no dots: --set paths


# ---------------------------------------------------------------------------------------------
# Schema (docs/formats.md documents every field)
# ---------------------------------------------------------------------------------------------
class Horizon(Strict):
    start: str
    periods: Annotated[int, Field(ge=1, le=100_000)]
    period_hours: Annotated[float, Field(gt=0, le=24 * 31)]

    @field_validator("start")
    @classmethod
    def _iso_with_offset(cls, value: str) -> str:
        return iso_with_offset(value)


class Owned(Strict):
    usd_per_gpu_hour: NonNegative
    min_nodes: Count = 0
    max_nodes: Count | None = None

    @model_validator(mode="after")
    def _min_below_max(self) -> "Owned":
        if self.max_nodes is not None and self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) exceeds max_nodes ({self.max_nodes})")
        return self


class Rental(Strict):
    usd_per_gpu_hour: NonNegative
    max_nodes: Count | None = None


class NodeType(Strict):
    gpus_per_node: Annotated[int, Field(ge=1)]
    owned: Owned | None = None
    rental: Rental | None = None
    description: str = ""


class PriceWindow(ClockWindow):
    name: str
    prices: Prices


class Deployment(Strict):
    profile: Name
    prefill_capacity_factor: Positive = 1.0
    decode_capacity_factor: Positive = 1.0
    calibration: str = ""


class Slo(Strict):
    """Latency promised to users: per-user decode speed and a TTFT percentile."""

    decode_tokens_per_s_per_user: Positive | None = None
    ttft_s: Positive | None = None
    ttft_percentile: Annotated[float, Field(gt=0, lt=1)] = 0.95


class Workload(Strict):
    """What a request looks like: its mean prompt and the spread of prompt prefill times."""

    mean_prompt_tokens: Positive
    prompt_tokens_scv: Annotated[float, Field(ge=0, le=100)] = 1.0


class ServedModel(Strict):
    prices_usd_per_million_tokens: Prices
    price_windows: list[PriceWindow] = []
    deployments: Annotated[dict[Name, Deployment], Field(min_length=1)]
    slo: Slo = Slo()
    workload: Workload | None = None

    @model_validator(mode="after")
    def _ttft_needs_a_workload(self) -> "ServedModel":
        if self.slo.ttft_s is not None and self.workload is None:
            raise ValueError("slo.ttft_s needs workload.mean_prompt_tokens (requests = input tokens / mean prompt)")
        return self


class DemandFile(Strict):
    file: str
    scale: Annotated[float, Field(gt=0, le=1e9)] = 1.0  # multiplies every token column (volume sweeps)


class Penalties(Strict):
    unserved_input_usd_per_million_tokens: NonNegative = 1000.0
    unserved_output_usd_per_million_tokens: NonNegative = 1000.0
    allow_unserved: bool = True  # false: every token served at its SLO, a hard limit (diagnosed if it cannot hold)


class SolverSettings(Strict):
    time_limit_s: Annotated[float, Field(gt=0)] = 60.0
    mip_gap: Annotated[float, Field(ge=0, le=1)] = 1e-4
    threads: Annotated[int, Field(ge=1, le=256)] = 1
    formulation: str = "default"
    warm_start: Literal["auto", "none", "rounded_lp"] = "none"  # auto: rounded_lp on large models (measured: worse)

    @field_validator("formulation")
    @classmethod
    def _known_formulation(cls, value: str) -> str:
        from .formulation import FORMULATIONS  # imported here: planner.formulation imports this module

        if value not in FORMULATIONS:
            raise ValueError(f"unknown formulation; choose from {sorted(FORMULATIONS)}")
        return value


class Instance(Strict):
    name: Name
    description: str = ""
    sources: list[str] = []
    horizon: Horizon
    demand: DemandFile
    node_types: Annotated[dict[Name, NodeType], Field(min_length=1)]
    served_models: Annotated[dict[Name, ServedModel], Field(min_length=1)]
    penalties: Penalties = Penalties()
    solver: SolverSettings = SolverSettings()
    profiles_dir: str = "../models"
    reference: str | None = None
    training: Training | None = None
    failures: Failures | None = None
    scenarios: Scenarios = Scenarios()
    margins: MarginAssumptions | None = None


# ---------------------------------------------------------------------------------------------
# Planning data: what the model and the economics read
# ---------------------------------------------------------------------------------------------
def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=float)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class NodeTypeData:
    name: str
    gpus_per_node: int
    owned_usd_per_node_hour: float
    owned_min_nodes: int
    owned_max_nodes: int | None  # None: no limit; 0 when the type cannot be owned
    rental_usd_per_node_hour: float
    rental_max_nodes: int | None  # None: no limit; 0 when the type cannot be rented


@dataclass(frozen=True)
class PlanningData:
    """A validated planning problem. Arrays are read-only; index order is [model, period] etc."""

    name: str
    source: str
    spec: Instance
    periods: int
    period_hours: float
    period_starts: pd.DatetimeIndex
    node_types: tuple[NodeTypeData, ...]
    served_models: tuple[str, ...]
    deployments: tuple[tuple[str, str], ...]  # (served model, node type) pairs that can serve
    profiles: Mapping[tuple[str, str], Profile]
    unit_nodes: Mapping[tuple[str, str, str], int]  # (model, node type, role) -> nodes per unit
    unit_capacity_mtok: Mapping[tuple[str, str, str], np.ndarray]  # per unit per period [t]
    decode_tokens_per_s_per_node: Mapping[tuple[str, str], float]  # at the SLO's speed, factor included
    min_prefill_units: Mapping[tuple[str, str], np.ndarray]  # TTFT bound per period; -1: cannot meet it
    demand_tokens: Mapping[str, np.ndarray]  # column -> [model, period]
    prices_usd_per_mtok: Mapping[str, np.ndarray]  # hit / miss / output -> [model, period]
    penalties: Penalties
    solver: SolverSettings
    reference_path: Path | None
    models_dir: Path = field(repr=False, default=Path("models"))
    training: TrainingData = field(default_factory=TrainingData)
    scenarios: int = 1  # equally likely demand scenarios, stacked as blocks of periods
    availability_units: Mapping[tuple[str, str, str], np.ndarray] = field(default_factory=dict)
    spare_ratio: Mapping[str, float] = field(default_factory=dict)

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
        column = "input_tokens" if role == "prefill" else "output_tokens"
        return self.demand_tokens[column][self.model_index(model)] / TOKENS_PER_MTOK


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------
def parse_override(text: str) -> tuple[str, Any]:
    """'a.b.c=value' -> ('a.b.c', typed value). The value is read as YAML: 1.5, true, null, [1, 2]."""
    if "=" not in text:
        raise InputError(f"--set {text}", "", NO_VALUE, "expected dotted.path=value, such as solver.mip_gap=0.01")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise InputError(f"--set {key}", key, raw, "the path must be dotted field names, such as solver.mip_gap")
    try:
        value = parse_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError:
        raise InputError(f"--set {key}", key, raw, "the value is not valid YAML") from None
    return key, value


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> tuple[dict[str, Any], list[Override]]:
    """A deep copy of `raw` with each `dotted.path=value` set; intermediate mappings are created.

    Returns the copy and, per override, its key and the outermost mapping it created (an error
    anywhere inside a created mapping is the override's).
    """
    out = copy.deepcopy(raw)
    keys = []
    for text in overrides:
        key, value = parse_override(text)
        node: Any = out
        parts = key.split(".")
        created = None
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, dict) and node.get(part) is None and created is None:
                created = ".".join(parts[: depth + 1])
            node = _step_into(node, part, key, depth)
        _assign(node, parts[-1], value, key)
        keys.append(Override(key, created))
    return out, keys


@dataclass(frozen=True)
class Override:
    """One applied --set: its dotted key and the outermost mapping it created (or None)."""

    key: str
    created: str | None = None

    def explains(self, field: str) -> bool:
        """Whether an error at `field` comes from this override: the same path, one inside the
        other (--set solver.mip_gap=2 fails at solver.mip_gap, --set solvr.mip_gap=0.1 at solvr),
        or a field inside a mapping the override created."""
        inside = lambda outer, inner: inner == outer or inner.startswith(outer + ".")  # noqa: E731
        return inside(self.key, field) or inside(field, self.key) or (
            self.created is not None and inside(self.created, field))


def _step_into(node: Any, part: str, key: str, depth: int) -> Any:
    if isinstance(node, list):
        return node[_list_index(node, part, key)]
    if not isinstance(node, dict):
        parent = ".".join(key.split(".")[:depth])
        raise InputError(f"--set {key}", parent, node, "is not a mapping, so it has no fields to set")
    if node.get(part) is None:
        node[part] = {}
    return node[part]


def _assign(node: Any, part: str, value: Any, key: str) -> None:
    if isinstance(node, list):
        node[_list_index(node, part, key)] = value
    elif isinstance(node, dict):
        node[part] = value
    else:
        parent = key.rsplit(".", 1)[0] if "." in key else "(top level)"
        raise InputError(f"--set {key}", parent, node, "is not a mapping, so it has no fields to set")


def _list_index(node: list, part: str, key: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        problem = f"not an index of the list; expected 0 to {len(node) - 1}" if node else "the list is empty"
        raise InputError(f"--set {key}", key, part, problem)
    return int(part)


def load_instance(path: str | Path, overrides: Sequence[str] = ()) -> PlanningData:
    """Read, override, validate and compile an instance file. Raises InputError on bad input."""
    path = Path(path)
    raw = read_yaml_mapping(path)
    raw, keys = apply_overrides(raw, overrides)
    return instance_from_mapping(raw, path, overridden=keys)


def instance_from_mapping(raw: dict[str, Any], path: Path, overridden: Sequence[Override] = ()) -> PlanningData:
    """Validate a raw mapping as if read from `path` (files it names resolve beside `path`)."""
    path = Path(path)
    try:
        spec = validate(Instance, raw, str(path))
        return compile_planning_data(spec, path)
    except InputError as exc:
        override = next((o for o in overridden if o.explains(exc.field)), None)
        if override is not None and exc.file == str(path):
            raise InputError(f"--set {override.key}", exc.field, exc.value, exc.problem) from None
        raise


def compile_planning_data(spec: Instance, path: Path) -> PlanningData:
    """Check cross-references and compute every per-period figure from a validated spec."""
    base = path.parent
    file = str(path)
    models_dir = (base / spec.profiles_dir).resolve()
    node_types = tuple(_node_type_data(name, g) for name, g in spec.node_types.items())
    served = tuple(spec.served_models)
    profiles, unit_nodes = {}, {}
    for m, model in spec.served_models.items():
        for g, deployment in model.deployments.items():
            field_name = f"served_models.{m}.deployments.{g}"
            if g not in spec.node_types:
                raise InputError(file, field_name, g, f"unknown node type; the instance has {sorted(spec.node_types)}")
            profile = load_profile(models_dir, deployment.profile, file, field_name + ".profile")
            if profile.gpus_per_node != spec.node_types[g].gpus_per_node:
                raise InputError(file, f"node_types.{g}.gpus_per_node", spec.node_types[g].gpus_per_node,
                                 f"profile {profile.name} has {profile.gpus_per_node} GPUs per node")
            profiles[(m, g)] = profile
            unit_nodes[(m, g, "prefill")] = profile.prefill.unit_nodes
            unit_nodes[(m, g, "decode")] = profile.decode.unit_nodes
    demand_path = base / spec.demand.file
    if not demand_path.is_file():
        raise InputError(file, "demand.file", spec.demand.file, f"file not found: {demand_path}")
    demand = read_demand_csv(demand_path, served, spec.horizon.periods)
    if spec.demand.scale != 1.0:
        demand = {c: _frozen(v * spec.demand.scale) for c, v in demand.items()}
    base_starts = period_starts(spec.horizon)
    demand, count = _scenario_demand(spec, demand, base, served, file)
    starts = pd.DatetimeIndex(list(base_starts) * count)
    for g, harvest in (spec.training.harvest.items() if spec.training else ()):
        node = next((n for n in node_types if n.name == g), None)
        if node is not None and harvest.max_nodes is None and (node.owned_max_nodes is None or node.rental_max_nodes is None):
            raise InputError(file, f"training.harvest.{g}.max_nodes", None,
                             f"required when node type {g}'s fleet has no limit (owned or rental max_nodes "
                             "missing): a harvest worth more than a node costs would grow without bound")
    if count > 1 and spec.training is not None:
        raise InputError(file, "training", NO_VALUE, "training is not planned under demand scenarios (scenarios.count > 1)")
    decode_rates = {(m, g): _decode_rate(m, g, p, spec, file) for (m, g), p in profiles.items()}
    capacity = {
        key: _frozen(arr)
        for (m, g), profile in profiles.items()
        for key, arr in _unit_capacity_mtok(m, g, profile, spec, demand, served.index(m), decode_rates[(m, g)]).items()
    }
    minimum = _min_prefill_units(spec, profiles, demand, capacity, file)
    prices = _period_prices(spec, starts, file)
    reference = (base / spec.reference).resolve() if spec.reference else None
    if reference is not None and not reference.is_file():
        raise InputError(file, "reference", spec.reference, f"file not found: {reference}")
    return PlanningData(
        name=spec.name,
        source=file,
        spec=spec,
        periods=len(starts),
        scenarios=count,
        period_hours=spec.horizon.period_hours,
        period_starts=starts,
        node_types=node_types,
        served_models=served,
        deployments=tuple(profiles),
        profiles=MappingProxyType(profiles),
        unit_nodes=MappingProxyType(unit_nodes),
        unit_capacity_mtok=MappingProxyType(capacity),
        decode_tokens_per_s_per_node=MappingProxyType(decode_rates),
        min_prefill_units=MappingProxyType(minimum),
        demand_tokens=MappingProxyType(dict(demand)),
        prices_usd_per_mtok=MappingProxyType(prices),
        penalties=spec.penalties,
        solver=spec.solver,
        reference_path=reference,
        models_dir=models_dir,
        training=compile_training(spec.training, tuple(spec.node_types), base_starts, spec.horizon.period_hours, file),
        availability_units=MappingProxyType(_availability_units(spec, profiles, demand, capacity)),
        spare_ratio=MappingProxyType(_spare_ratio(spec, profiles, demand, capacity)),
    )


def _node_type_data(name: str, g: NodeType) -> NodeTypeData:
    owned, rental = g.owned, g.rental
    return NodeTypeData(
        name=name,
        gpus_per_node=g.gpus_per_node,
        owned_usd_per_node_hour=(owned.usd_per_gpu_hour * g.gpus_per_node) if owned else 0.0,
        owned_min_nodes=owned.min_nodes if owned else 0,
        owned_max_nodes=owned.max_nodes if owned else 0,
        rental_usd_per_node_hour=(rental.usd_per_gpu_hour * g.gpus_per_node) if rental else 0.0,
        rental_max_nodes=rental.max_nodes if rental else 0,
    )


def period_starts(horizon: Horizon) -> pd.DatetimeIndex:
    start = pd.Timestamp(dt.datetime.fromisoformat(horizon.start))
    return pd.date_range(start, periods=horizon.periods, freq=pd.Timedelta(hours=horizon.period_hours))


def _scenario_demand(spec: Instance, demand: dict[str, np.ndarray], base: Path, served: tuple[str, ...],
                     file: str) -> tuple[dict[str, np.ndarray], int]:
    """The demand of every scenario, stacked as blocks of periods, and the number of scenarios."""
    scenarios = spec.scenarios
    if scenarios.file is not None:
        path = base / scenarios.file
        if not path.is_file():
            raise InputError(file, "scenarios.file", scenarios.file, f"file not found: {path}")
        stacked = read_scenario_csv(path, served, spec.horizon.periods)
        return stacked, stacked["input_tokens"].shape[1] // spec.horizon.periods
    if scenarios.count == 1 and not (scenarios.level_sd or scenarios.hourly_sd or scenarios.burst_probability):
        return demand, 1
    factors = multipliers(scenarios, spec.horizon.periods)
    return scenario_demand(demand, factors), scenarios.count


def _needed_units(demand_mtok: np.ndarray, capacity_mtok: np.ndarray) -> np.ndarray:
    """Whole units serving a period's demand with every unit up: ceil(D / c)."""
    return np.ceil(demand_mtok / capacity_mtok - 1e-9)


def _availability_units(spec: Instance, profiles: Mapping[tuple[str, str], Profile],
                        demand: Mapping[str, np.ndarray], capacity: Mapping[tuple[str, str, str], np.ndarray]
                        ) -> dict[tuple[str, str, str], np.ndarray]:
    """Units to provision per period so that ceil(D/c) of them are up with the target probability
    (failures.min_units_for_availability); empty without a `failures` section."""
    if spec.failures is None:
        return {}
    out = {}
    for (m, g), profile in profiles.items():
        k = list(spec.served_models).index(m)
        for role, column, unit in (("prefill", "input_tokens", profile.prefill.unit_nodes),
                                   ("decode", "output_tokens", profile.decode.unit_nodes)):
            needed = _needed_units(demand[column][k] / TOKENS_PER_MTOK, capacity[(m, g, role)])
            a = unit_availability(spec.failures, unit)
            out[(m, g, role)] = _frozen(min_units_for_availability(needed, a, spec.failures.availability_target))
    return out


def _spare_ratio(spec: Instance, profiles: Mapping[tuple[str, str], Profile], demand: Mapping[str, np.ndarray],
                 capacity: Mapping[tuple[str, str, str], np.ndarray]) -> dict[str, float]:
    """Spare nodes per node in service, per node type: the spare pool (failures.spare_nodes) of the
    busiest period's nodes, as a ratio; {} without swaps."""
    if spec.failures is None or spec.failures.swap_hours is None:
        return {}
    peak: dict[str, float] = {}
    for (m, g), profile in profiles.items():
        k = list(spec.served_models).index(m)
        nodes = sum(unit * _needed_units(demand[column][k] / TOKENS_PER_MTOK, capacity[(m, g, role)])
                    for role, column, unit in (("prefill", "input_tokens", profile.prefill.unit_nodes),
                                               ("decode", "output_tokens", profile.decode.unit_nodes)))
        peak[g] = max(peak.get(g, 0.0), float(np.max(nodes)))
    return {g: spare_nodes(spec.failures, n) / n for g, n in peak.items() if n > 0}


def _decode_rate(m: str, g: str, profile: Profile, spec: Instance, file: str) -> float:
    """Output tokens/s per decode node at the served model's promised per-user speed, calibrated:
    the profile's operating point at slo.decode_tokens_per_s_per_user x decode_capacity_factor."""
    speed = spec.served_models[m].slo.decode_tokens_per_s_per_user
    rate = profile.decode.throughput_at(speed)
    if rate is None:
        fastest = profile.decode.fastest_speed()
        if fastest is None:
            problem = f"profile {profile.name} does not say at which per-user speed it was measured"
        elif profile.decode.operating_points:
            problem = (f"faster than profile {profile.name} can serve (its fastest operating point is "
                       f"{fastest:g} tokens/s per user)")
        else:
            problem = (f"faster than profile {profile.name} was measured at ({fastest:g} tokens/s per user) "
                       "and it has no operating_points for faster speeds")
        raise InputError(file, f"served_models.{m}.slo.decode_tokens_per_s_per_user", speed, problem)
    return rate * spec.served_models[m].deployments[g].decode_capacity_factor


def _min_prefill_units(spec: Instance, profiles: Mapping[tuple[str, str], Profile],
                       demand: Mapping[str, np.ndarray], capacity: Mapping[tuple[str, str, str], np.ndarray],
                       file: str) -> dict[tuple[str, str], np.ndarray]:
    """Fewest prefill units per period meeting each served model's TTFT percentile (slo.py).

    Requests per second lambda_t = input_tokens_t / mean_prompt_tokens / (3600 period_hours).
    A unit prefills k = servers_per_unit prompts side by side (its DP ranks), each at 1/k of the
    unit's input tokens/s at period t's cache-hit mix, so a mean prompt takes
    S_t = k mean_prompt_tokens / unit_tokens_per_s_t. The queue's servers are these streams; the
    units needed are ceil(servers / k). Zero without a TTFT target; -1 where a type cannot meet it.
    """
    seconds = SECONDS_PER_HOUR * spec.horizon.period_hours
    out = {}
    for k, (m, model) in enumerate(spec.served_models.items()):
        deployed = [g for (mm, g) in profiles if mm == m]
        if model.slo.ttft_s is None:
            out.update({(m, g): _frozen(np.zeros(demand["input_tokens"].shape[1])) for g in deployed})
            continue
        prompt = model.workload.mean_prompt_tokens
        arrivals = demand["input_tokens"][k] / prompt / seconds
        service = {}
        for g in deployed:
            streams = profiles[(m, g)].prefill.servers_per_unit
            service[g] = streams * prompt / (capacity[(m, g, "prefill")] * TOKENS_PER_MTOK / seconds)
            servers = min_units_for_ttft(arrivals, service[g], model.workload.prompt_tokens_scv,
                                         model.slo.ttft_s, model.slo.ttft_percentile)
            out[(m, g)] = _frozen(np.where(servers < 0, -1, np.ceil(servers / streams)))
        if all((out[(m, g)] < 0).any() for g in deployed):
            g = min(deployed, key=lambda g: float(service[g].min()))
            raise InputError(file, f"served_models.{m}.slo.ttft_s", model.slo.ttft_s,
                             f"a mean prompt ({prompt:g} tokens) alone takes {float(service[g].max()):.3g} s "
                             f"to prefill on {g}; no number of units meets the target")
    return out


def _unit_capacity_mtok(m: str, g: str, profile: Profile, spec: Instance, demand: Mapping[str, np.ndarray],
                        k: int, decode_tokens_per_s_per_node: float) -> dict[tuple[str, str, str], np.ndarray]:
    """Tokens one unit serves in one period, in millions.

    Decode: u_d * (output tokens/s per node at the SLO, calibrated) * 3600 * period_hours / 1e6.
    Prefill: the profile's rate was measured at a cache-hit share s_ref, where a token costs
    w_ref = (1 - s_ref) + h * s_ref cache-miss equivalents; in period t the share is s_t and a
    token costs w_t, so the unit serves u_p * rate * factor * 3600 * period_hours / 1e6 * w_ref / w_t.
    """
    deployment = spec.served_models[m].deployments[g]
    seconds = SECONDS_PER_HOUR * spec.horizon.period_hours
    h = profile.prefill.cache_hit_relative_cost
    inputs = demand["input_tokens"][k]
    hits = demand["input_cache_hit_tokens"][k]
    s_ref = profile.prefill.cache_hit_share_at_measurement
    share = np.divide(hits, inputs, out=np.full_like(inputs, s_ref), where=inputs > 0)
    w_t = (1.0 - share) + h * share
    w_ref = profile.prefill_miss_equivalents_per_token_at_measurement()
    prefill = (profile.prefill.unit_nodes * profile.prefill.input_tokens_per_s_per_node
               * deployment.prefill_capacity_factor * seconds / TOKENS_PER_MTOK) * w_ref / w_t
    decode = np.full(len(inputs),
                     profile.decode.unit_nodes * decode_tokens_per_s_per_node * seconds / TOKENS_PER_MTOK)
    return {(m, g, "prefill"): prefill, (m, g, "decode"): decode}


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def window_share(starts: pd.DatetimeIndex, period_hours: float, start: str, end: str) -> np.ndarray:
    """Share of each period that falls in a daily clock window [start, end) (local clock of `starts`).

    A window whose end is not after its start runs past midnight (00:30-08:30 does not; 22:00-06:00
    does); one whose end equals its start covers the whole day.
    """
    lo = _minutes(start)
    hi = _minutes(end) if _minutes(end) > lo else _minutes(end) + 24 * 60
    length = period_hours * 60.0
    day_start = starts.normalize()
    a = np.asarray((starts - day_start).total_seconds() / 60.0)  # minutes after local midnight
    b = a + length
    overlap = np.zeros(len(starts))
    for day in range(-1, int(np.ceil(b.max() / 1440.0)) + 1):
        overlap += np.clip(np.minimum(b, day * 1440 + hi) - np.maximum(a, day * 1440 + lo), 0, None)
    return overlap / length


def _daily_minutes(start: str, end: str) -> np.ndarray:
    """Minutes of the day (0..1439) that a daily window [start, end) covers, as window_share reads it."""
    lo = _minutes(start)
    hi = _minutes(end) if _minutes(end) > lo else _minutes(end) + 24 * 60
    return np.arange(lo, hi) % (24 * 60)


def _check_windows_apart(windows: Sequence[PriceWindow], file: str, field: str) -> None:
    """Price windows of a served model must not share a minute of the clock (on any day)."""
    owner = np.full(24 * 60, -1)
    for i, window in enumerate(windows):
        minutes = _daily_minutes(window.start, window.end)
        taken = minutes[owner[minutes] >= 0]
        if len(taken):
            earlier = windows[owner[taken[0]]]
            raise InputError(file, f"{field}.{i}", window.name,
                             f"overlaps price window {earlier.name!r} ({earlier.start}-{earlier.end}) "
                             f"from {taken[0] // 60:02d}:{taken[0] % 60:02d}")
        owner[minutes] = i


def _period_prices(spec: Instance, starts: pd.DatetimeIndex, file: str) -> dict[str, np.ndarray]:
    """Per-period prices in USD per million tokens: list prices, time-weighted with windows."""
    kinds = ("input_cache_hit", "input_cache_miss", "output")
    out = {kind: np.zeros((len(spec.served_models), len(starts))) for kind in kinds}
    for k, (m, model) in enumerate(spec.served_models.items()):
        listed = model.prices_usd_per_million_tokens
        _check_windows_apart(model.price_windows, file, f"served_models.{m}.price_windows")
        for kind in kinds:
            out[kind][k] = getattr(listed, kind)
        for window in model.price_windows:
            share = window_share(starts, spec.horizon.period_hours, window.start, window.end)
            for kind in kinds:
                out[kind][k] += share * (getattr(window.prices, kind) - getattr(listed, kind))
    return {kind: _frozen(v) for kind, v in out.items()}
