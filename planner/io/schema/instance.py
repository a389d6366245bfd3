"""The instance schema: one YAML file (with the demand table, profiles and reference it names)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ..validation import Strict, iso_with_offset
from .common import ClockWindow, Count, Name, NonNegative, Positive, Prices, described
from .failures import Failures
from .margins import MarginAssumptions
from .scenarios import Scenarios
from .training import Training


class Horizon(Strict):
    """The periods of the plan."""

    start: str = described(
        "Start of period 0, an ISO 8601 date-time with a UTC offset, e.g. `\"2025-02-27T12:00:00+08:00\"` (`Z` is "
        "accepted). Its offset is the local clock of price windows and of `schedule.csv`; a fixed offset, no "
        "daylight-saving changes.")
    periods: Annotated[int, Field(ge=1, le=100_000)] = described("T, the number of periods.", unit="periods")
    period_hours: Annotated[float, Field(gt=0, le=24 * 31)] = described(
        "Delta, the length of every period (fractions allowed: `0.25`).", unit="hours")

    @field_validator("start")
    @classmethod
    def _iso_with_offset(cls, value: str) -> str:
        return iso_with_offset(value)


class Owned(Strict):
    """Nodes owned (or leased) for the whole horizon."""

    usd_per_gpu_hour: NonNegative = described(
        "a_g = `gpus_per_node` x this, in USD per node-hour. An owned node is paid for every hour of the "
        "horizon, used or not.", unit="USD per GPU-hour")
    min_nodes: Count = described("Lower bound on the owned fleet.", 0, unit="nodes")
    max_nodes: Count | None = described(
        "Upper bound on the owned fleet; `null`: no limit. Not below `min_nodes`.", None, unit="nodes")

    @model_validator(mode="after")
    def _min_below_max(self) -> "Owned":
        if self.max_nodes is not None and self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) exceeds max_nodes ({self.max_nodes})")
        return self


class Rental(Strict):
    """Nodes rented by the period."""

    usd_per_gpu_hour: NonNegative = described(
        "b_g = `gpus_per_node` x this, in USD per node-hour. A rented node is paid only in the periods it is "
        "rented.", unit="USD per GPU-hour")
    max_nodes: Count | None = described(
        "Upper bound on rented nodes in each period; `null`: no limit.", None, unit="nodes")


class NodeType(Strict):
    """Hardware that can be owned or rented."""

    gpus_per_node: Annotated[int, Field(ge=1)] = described(
        "Must equal `gpus_per_node` of every profile deployed on this node type; turns per-GPU prices into "
        "per-node prices.", unit="GPUs")
    owned: Owned | None = described("Owning this type (`Owned`). Absent: it cannot be owned.", None)
    rental: Rental | None = described(
        "Renting this type (`Rental`). Absent: it cannot be rented. A type with neither has no nodes.", None)
    description: str = described("Informational.", "")


class PriceWindow(ClockWindow):
    """Other prices in a daily clock window; a period partly inside gets a time-weighted price."""

    name: str = described("Label used in error messages.")
    prices: Prices = described("All three prices inside the window (`Prices`).")


class Deployment(Strict):
    """A served model on a node type: which profile, calibrated how."""

    profile: Name = described("Profile file `<profiles_dir>/<profile>.yaml`.")
    prefill_capacity_factor: Positive = described(
        "kappa_prefill: multiplies the profile's prefill tokens/s per node.", 1.0)
    decode_capacity_factor: Positive = described(
        "kappa_decode: multiplies the profile's decode tokens/s per node at the served model's promised speed.",
        1.0)
    calibration: str = described("How the factors were chosen; printed in `report.md`.", "")


class Slo(Strict):
    """Latency promised to users: per-user decode speed and a TTFT percentile."""

    decode_tokens_per_s_per_user: Positive | None = described(
        "The decode speed each user sees (1 / time per output token); picks each profile's operating point. "
        "`null`: the profile's measured point.", None, unit="output tokens/s per user")
    ttft_s: Positive | None = described(
        "Time-to-first-token target at `ttft_percentile` for a mean prompt; adds the family "
        "`ttft_minimum_units`. `null`: no TTFT target.", None, unit="seconds")
    ttft_percentile: Annotated[float, Field(gt=0, lt=1)] = described(
        "The quantile q the TTFT target applies to (0.95 = p95); read only with `ttft_s`.", 0.95,
        unit="probability")


class Workload(Strict):
    """What a request looks like: its mean prompt and the spread of prompt prefill times."""

    mean_prompt_tokens: Positive = described(
        "Mean prompt length, cache hits included: requests = input tokens / this.", unit="input tokens per request")
    prompt_tokens_scv: Annotated[float, Field(ge=0, le=100)] = described(
        "Squared coefficient of variation of a prompt's prefill time (0: all alike, 1: exponential).", 1.0)


class ServedModel(Strict):
    """What is served: its prices, where it can run, what it promises."""

    prices_usd_per_million_tokens: Prices = described("List prices (`Prices`).")
    price_windows: list[PriceWindow] = described(
        "Daily clock windows with other prices (`PriceWindow`); windows may not overlap.", [])
    deployments: Annotated[dict[Name, Deployment], Field(min_length=1)] = described(
        "The node types (keys of `node_types`) that can serve this model (`Deployment`).")
    slo: Slo = described("The latency promised to this model's users (`Slo`).", Slo())
    workload: Workload | None = described(
        "What a request looks like (`Workload`); required with `slo.ttft_s`.", None)

    @model_validator(mode="after")
    def _ttft_needs_a_workload(self) -> "ServedModel":
        if self.slo.ttft_s is not None and self.workload is None:
            raise ValueError("slo.ttft_s needs workload.mean_prompt_tokens (requests = input tokens / mean prompt)")
        return self


class DemandFile(Strict):
    """The demand table."""

    file: str = described("The demand CSV, one row per period and served model (path relative to the instance).")
    scale: Annotated[float, Field(gt=0, le=1e9)] = described(
        "Multiplies every token column of the demand CSV (volume sweeps); not a scenario file.", 1.0)


class Penalties(Strict):
    """What unserved demand costs in the objective."""

    unserved_input_usd_per_million_tokens: NonNegative = described(
        "Price of input tokens (cache hits included) that prefill does not serve; also prices a missed TTFT "
        "target.", 1000.0, unit="USD per million input tokens")
    unserved_output_usd_per_million_tokens: NonNegative = described(
        "Price of output tokens that decode does not serve.", 1000.0, unit="USD per million output tokens")
    allow_unserved: bool = described(
        "`false`: every token served and every TTFT target met, as hard limits; a fleet that cannot hold them "
        "leaves no plan, with a diagnosis.", True)


class SolverSettings(Strict):
    """HiGHS's limits and the formulation."""

    time_limit_s: Annotated[float, Field(gt=0)] = described(
        "HiGHS's time limit (it can overshoot; `timings.json` reports the time taken).", 60.0, unit="seconds")
    mip_gap: Annotated[float, Field(ge=0, le=1)] = described(
        "Relative MIP gap at which HiGHS stops.", 1e-4, unit="fraction")
    threads: Annotated[int, Field(ge=1, le=256)] = described("HiGHS threads.", 1)
    node_limit: Annotated[int, Field(ge=1)] | None = described(
        "Branch-and-bound nodes after which HiGHS stops with its best plan (a limit on work, the same on every "
        "machine). `null`: no limit.", None, unit="nodes")
    formulation: Name = described("A formulation of `planner/model/build.py`'s `FORMULATIONS`.", "default")
    warm_start: Literal["auto", "none", "rounded_lp"] = described(
        "A MIP start from the rounded LP relaxation; `auto`: on models with at least 20,000 serving-unit "
        "variables (measured worse than none, hence off).", "none")


class Instance(Strict):
    """An instance: the horizon, demand, fleet, served models and the optional sections."""

    name: Name = described("Appears in `summary.json`, the printed table and `report.md`.")
    description: str = described("Free text, printed at the top of `report.md`.", "")
    sources: list[str] = described("Where the figures come from. Informational.", [])
    horizon: Horizon = described("The periods (`Horizon`).")
    demand: DemandFile = described("The demand table (`DemandFile`).")
    node_types: Annotated[dict[Name, NodeType], Field(min_length=1)] = described(
        "Hardware that can be owned or rented (`NodeType`).")
    served_models: Annotated[dict[Name, ServedModel], Field(min_length=1)] = described(
        "What is served, its prices and where it can run (`ServedModel`).")
    penalties: Penalties = described("Price of unserved tokens (`Penalties`).", Penalties())
    solver: SolverSettings = described("HiGHS settings and the formulation (`SolverSettings`).", SolverSettings())
    profiles_dir: str = described("Folder of profile files, relative to the instance.", "../models")
    reference: str | None = described(
        "A published day to compare with: `reference/NAME.yaml`, with `NAME-nodes.csv` and `NAME-hourly.csv` "
        "beside it. Fills `summary.json`'s `reference`.", None)
    training: Training | None = described(
        "Training jobs and harvests that compete with serving for nodes (`Training`). `null`: no training.", None)
    failures: Failures | None = described(
        "Node failures: redundant units and a spare pool (`Failures`). `null`: nodes never fail.", None)
    scenarios: Scenarios = described("Demand scenarios and the SLO share (`Scenarios`).", Scenarios())
    margins: MarginAssumptions | None = described(
        "Assumptions of `planner margins`, each with its source (`MarginAssumptions`).", None)
