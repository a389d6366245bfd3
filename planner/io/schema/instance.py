"""The instance schema: one YAML file (with the demand table, profiles and reference it names)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ..validation import Strict, iso_with_offset, known_time_zone
from .common import ClockWindow, Count, Name, NonNegative, Positive, Prices, Sourced, described
from .failures import Failures
from .margins import MarginAssumptions
from .scenarios import Scenarios
from .training import Training


class Horizon(Strict):
    """The periods of the plan."""

    start: str = described(
        "Start of period 0, an ISO 8601 date-time with a UTC offset, e.g. `\"2025-02-27T12:00:00+08:00\"` (`Z` is "
        "accepted); a missing offset is refused. The instant is what counts: the same instant written in another "
        "offset is the same horizon when `time_zone` is set.")
    periods: Annotated[int, Field(ge=1, le=100_000)] = described("T, the number of periods.", unit="periods")
    period_hours: Annotated[float, Field(gt=0, le=24 * 31)] = described(
        "Δ, the length of every period (fractions allowed: `0.25`).", unit="hours")
    time_zone: str | None = described(
        "The IANA time zone of the local clock (`\"Asia/Shanghai\"`, `\"Europe/Berlin\"`): price windows, the "
        "margins' night discount and `schedule.csv`'s `start` column are read on it, daylight-saving changes "
        "included. `null`: the fixed UTC offset of `start` is the local clock.", None)

    @field_validator("start")
    @classmethod
    def _iso_with_offset(cls, value: str) -> str:
        return iso_with_offset(value)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return value if value is None else known_time_zone(value)


class Owned(Strict):
    """Nodes owned (or leased) for the whole horizon."""

    usd_per_gpu_hour: NonNegative = described(
        "a_g = `gpus_per_node` × this, in USD per node-hour. An owned node is paid for every hour of the "
        "horizon, used or not.", unit="USD per GPU-hour")
    min_nodes: Count = described("Lower bound on the owned fleet.", 0, unit="nodes")
    max_nodes: Count | None = described(
        "Upper bound on the owned fleet; missing or `null`: no limit. `min_nodes` > `max_nodes` is refused.", None,
        unit="nodes")

    @model_validator(mode="after")
    def _min_below_max(self) -> Owned:
        if self.max_nodes is not None and self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) exceeds max_nodes ({self.max_nodes})")
        return self


class Rental(Strict):
    """Nodes rented by the period."""

    usd_per_gpu_hour: NonNegative = described(
        "b_g = `gpus_per_node` × this, in USD per node-hour. A rented node is paid only in the periods it is "
        "rented.", unit="USD per GPU-hour")
    max_nodes: Count | None = described(
        "Upper bound on rented nodes in each period; missing or `null`: no limit.", None, unit="nodes")
    lead_hours: Annotated[float, Field(ge=0, le=24 * 31)] = described(
        "L_g, the on-demand lead time: a node rented for a period is ordered this long before, knowing the demand "
        "up to the period it is ordered in, as a node without lead time knows its own period's (read with "
        "`scenarios.day_ahead`: scenarios alike up to then rent the same; formulation.md, section 4b). The start-up in which weights load "
        "and a unit forms is the profile's `commitment.start_minutes`, on top. 0: ordered at once.", 0.0,
        unit="hours")


class Reserved(Sourced):
    """A reserved-capacity contract: nodes committed for a term at a discounted hourly price."""

    name: Name = described("Label of the contract in results (`month`, `year-1`...).")
    term_hours: Annotated[float, Field(gt=0, le=10 * 8784)] = described(
        "τ_c, the term: nodes on the contract are held, and paid every hour, for this long (720 = a 30-day month, "
        "8,760 = a year). The horizon is cut into terms from its start, a period belonging to the term it starts "
        "in; each term's count is its own decision, paid for its periods' hours. At least one period long. A term "
        "longer than the horizon is one decision, charged for the horizon's hours only: the horizon stands for "
        "the whole term (formulation.md, section 4c).", unit="hours")
    usd_per_gpu_hour: NonNegative = described(
        "c_{g,c} = `gpus_per_node` × this, in USD per node-hour, paid every hour of the term, used or not.",
        unit="USD per GPU-hour")
    max_nodes: Count | None = described(
        "Upper bound on the nodes of this contract in each term; missing or `null`: no limit.", None, unit="nodes")


class NodeType(Strict):
    """Hardware that can be owned or rented."""

    gpus_per_node: Annotated[int, Field(ge=1)] = described(
        "Must equal `gpus_per_node` of every profile deployed on this node type. Turns per-GPU prices into "
        "per-node prices.", unit="GPUs")
    owned: Owned | None = described(
        "Owning this type. Absent or `null`: this type cannot be owned (owned fleet fixed at 0).", None)
    rental: Rental | None = described(
        "Renting this type. Absent or `null`: this type cannot be rented (rented nodes fixed at 0). A type with "
        "neither section has no nodes.", None)
    reserved: list[Reserved] = described(
        "Reserved-capacity contracts beside `owned` and `rental` (the family `reserved_contracts`): each a term, a "
        "price and a limit; the solver chooses how many nodes to put on each. Names must differ.", [])
    preemptions_per_node_hour: Annotated[float, Field(ge=0, le=100)] = described(
        "μ: spot capacity. Each node of this type is preempted at this rate and lost for the rest of the period, "
        "and a unit with a node preempted stops: a unit of u nodes serves the expected share "
        "(1 − e^(−u μ Δ)) / (u μ Δ) of a period (formulation.md, section 3). Give the spot price as `rental` "
        "(typically a second node type beside the on-demand one, with the same GPUs). 0: never preempted.", 0.0,
        unit="preemptions per node-hour")
    description: str = described("Informational.", "")

    @field_validator("reserved")
    @classmethod
    def _distinct_contracts(cls, value: list[Reserved]) -> list[Reserved]:
        names = [c.name for c in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"contract names must differ; given twice: {', '.join(twice)}")
        return value


class PriceWindow(ClockWindow):
    """Other prices in a daily clock window; a period partly inside gets a time-weighted price."""

    name: str = described("Label used in error messages.")
    prices: Prices = described("All three prices inside the window.")


class Deployment(Strict):
    """A served model on a node type: which profile, calibrated how."""

    profile: Name = described("Profile file `<profiles_dir>/<profile>.yaml` (section 5).")
    prefill_capacity_factor: Positive = described(
        "κ_prefill: multiplies the profile's prefill tokens/s per node.", 1.0)
    decode_capacity_factor: Positive = described(
        "κ_decode: multiplies the profile's decode tokens/s per node at the served model's "
        "`slo.decode_tokens_per_s_per_user` (its operating point).", 1.0)
    target_utilization: Annotated[float, Field(gt=0, le=1)] = described(
        "The share of a unit's capacity at full use (the profile's rates × κ) that the plan may count on, in "
        "both roles: below 1, headroom for what an hour's mean hides. Queueing (TTFT) sees the full rate.", 1.0,
        unit="share of capacity")
    calibration: str = described("How the factors were chosen; printed in `report.md` under \"Calibration\".", "")


class Slo(Strict):
    """Latency promised to users: per-user decode speed and a TTFT percentile."""

    decode_tokens_per_s_per_user: Positive | None = described(
        "The decode speed each user sees (1 / time per output token). It picks the operating point of every "
        "profile deployed for this model: decode capacity per node is the profile's throughput at this speed "
        "(section 5) × `decode_capacity_factor`. `null`: the profile's measured point "
        "(`output_tokens_per_s_per_node`).", None, unit="output tokens/s per user")
    ttft_s: Positive | None = described(
        "Time-to-first-token target: the `ttft_percentile` quantile of TTFT = wait + prefill time, over the "
        "prompt lengths of `workload` (formulation.md, section 8), must not exceed it. Adds the family "
        "`ttft_minimum_units`. A plan with fewer prefill units than the target needs pays a shortfall priced like "
        "unserved input tokens (`penalties`) and reports the periods (`summary.json`'s `ttft_shortfall`); with "
        "`penalties.allow_unserved: false` the target is a hard limit. A target below the quantile of the prefill "
        "time alone cannot be met by any number of units: such periods are counted in `summary.json` "
        "(`ttft_unattainable_periods`) and left without the row, or refused under hard limits. `null`: no TTFT "
        "target.", None, unit="seconds")
    ttft_percentile: Annotated[float, Field(gt=0, lt=1)] = described(
        "The quantile q the TTFT target applies to (0.95 = p95). Read only when `ttft_s` is set.", 0.95,
        unit="probability")
    decode_speed_percentile: Annotated[float, Field(gt=0, lt=1)] | None = described(
        "Read `decode_tokens_per_s_per_user` as a tail: the time between two output tokens (TPOT) at this quantile "
        "must not exceed 1 / that speed. A profile with `decode.step_time_cv` then serves at a faster mean speed "
        "(section 3); a profile without it gives no step-time spread, and the speed stays the mean (`summary.json` "
        "says which). `null`: the speed is a mean.", None, unit="probability")


    @model_validator(mode="after")
    def _a_tail_needs_a_speed(self) -> Slo:
        if self.decode_speed_percentile is not None and self.decode_tokens_per_s_per_user is None:
            raise ValueError("decode_speed_percentile needs decode_tokens_per_s_per_user (the speed at that quantile)")
        return self


class Workload(Strict):
    """What a request looks like: its prompt (mean and spread of lengths) and its output."""

    mean_prompt_tokens: Positive = described(
        "Mean prompt length, cache hits included. Turns input tokens into requests: λ_t = `input_tokens`_t / "
        "`mean_prompt_tokens` / (3600 Δ) requests per second; sets the mean prefill time S̄ and, with the output, "
        "the context a decode sequence holds in the KV cache.", unit="input tokens per request")
    prompt_tokens_distribution: Literal["gamma", "lognormal", "empirical"] = described(
        "The distribution of prompt lengths (a prompt's prefill time is taken proportional to its length): `gamma` "
        "(SCV 1 is the exponential, 0 every prompt alike), `lognormal`, both with `prompt_tokens_scv`; or "
        "`empirical`, the lengths in `prompt_tokens_file`, rescaled to `mean_prompt_tokens`.", "gamma")
    prompt_tokens_scv: Annotated[float, Field(ge=0, le=100)] = described(
        "Squared coefficient of variation (variance / mean²) of prompt lengths, for `gamma` and `lognormal` (with "
        "`lognormal`, above 0). Also enters the Allen-Cunneen factor (1 + SCV)/2 of the wait. With `empirical` "
        "it is the file's and this field is not read.", 1.0)
    prompt_tokens_file: str | None = described(
        "A CSV of prompt lengths, a path relative to the instance, for `empirical`: one request per row, in the "
        "column `prompt_tokens_column` (a request trace works as it is).", None)
    prompt_tokens_column: str = described("The column of `prompt_tokens_file` holding prompt lengths.",
                                          "prompt_tokens")
    mean_output_tokens: Positive | None = described(
        "Mean output length: with the prompt, the context a decode sequence holds, prompt + half the output "
        "(section 3, KV memory). `null`: each period's from the demand, `mean_prompt_tokens` × output / input "
        "tokens (every request one prompt and one answer).", None, unit="output tokens per request")

    @model_validator(mode="after")
    def _file_goes_with_empirical(self) -> Workload:
        if self.prompt_tokens_distribution == "empirical" and self.prompt_tokens_file is None:
            raise ValueError("prompt_tokens_distribution empirical needs prompt_tokens_file")
        if self.prompt_tokens_distribution != "empirical" and self.prompt_tokens_file is not None:
            raise ValueError("prompt_tokens_file is read only with prompt_tokens_distribution: empirical")
        if self.prompt_tokens_distribution == "lognormal" and self.prompt_tokens_scv == 0:
            raise ValueError("a lognormal needs prompt_tokens_scv above 0 (use gamma for prompts all alike)")
        return self


class ServedModel(Strict):
    """What is served: its prices, where it can run, what it promises."""

    prices_usd_per_million_tokens: Prices = described("List prices.")
    price_windows: list[PriceWindow] = described(
        "Daily clock windows with other prices; the windows of a served model may not overlap.", [])
    deployments: Annotated[dict[Name, Deployment], Field(min_length=1)] = described(
        "The node types that can serve this model. Each key must be a key of `node_types`.")
    slo: Slo = described(
        "The latency promised to this model's users: the per-user decode speed and a TTFT target. The defaults "
        "set no targets.", Slo())
    workload: Workload | None = described(
        "What a request looks like. Required when `slo.ttft_s` is set; ignored otherwise.", None)

    @model_validator(mode="after")
    def _ttft_needs_a_workload(self) -> ServedModel:
        if self.slo.ttft_s is not None and self.workload is None:
            raise ValueError("slo.ttft_s needs workload.mean_prompt_tokens (requests = input tokens / mean prompt)")
        return self


class DemandFile(Strict):
    """The demand table."""

    file: str = described(
        "The demand CSV (section 4), a path relative to the instance. It must exist and hold exactly one row per "
        "period and served model. It is read and checked even when `scenarios.file` replaces it.")
    scale: Annotated[float, Field(gt=0, le=1e9)] = described(
        "Multiplies every token column of the demand CSV (input, cache hits, output) when the instance is loaded: "
        "the same hourly shape and cache-hit mix at another volume. The scenario generator starts from the scaled "
        "demand; a scenario file is not scaled.", 1.0)
    peak_to_mean_ratio: Annotated[float, Field(ge=1, le=100)] = described(
        "The arrival rate's peak inside a period over the period's mean, for every served model and role: capacity "
        "rows and TTFT queues hold at the peak rate (section 3), the tokens served and paid stay the period's. "
        "1: the mean rate holds throughout the period.", 1.0, unit="ratio")
    peaks_file: str | None = described(
        "A CSV of per-period ratios instead (columns period, served_model, peak_to_mean_ratio; other columns "
        "ignored), a path relative to the instance: the `STEM.stats.csv` that `planner demand from-trace` writes "
        "beside its demand table. Every (period, served model) once; a blank ratio reads 1. Applies to every "
        "demand scenario alike. `peak_to_mean_ratio` must then stay 1.", None)

    @model_validator(mode="after")
    def _one_peak_source(self) -> "DemandFile":
        if self.peaks_file is not None and self.peak_to_mean_ratio != 1.0:
            raise ValueError("give peak_to_mean_ratio or peaks_file, not both")
        return self


class Penalties(Strict):
    """What unserved demand costs in the objective."""

    unserved_input_usd_per_million_tokens: NonNegative = described(
        "Objective price of input tokens (cache hits included) that prefill does not serve; also prices a missed "
        "TTFT target.", 1000.0, unit="USD per million input tokens")
    unserved_output_usd_per_million_tokens: NonNegative = described(
        "Objective price of output tokens that decode does not serve.", 1000.0, unit="USD per million output tokens")
    allow_unserved: bool = described(
        "`false`: every token must be served and every TTFT target met (the unserved shares s and TTFT shortfalls "
        "σ are fixed at 0): hard limits instead of prices. A fleet that cannot hold them leaves no plan, with a "
        "diagnosis (exit 1, section 8).", True)


class SolverSettings(Strict):
    """HiGHS's limits and the formulation."""

    time_limit_s: Annotated[float, Field(gt=0)] = described(
        "HiGHS's time limit (it can overshoot; `timings.json` reports the actual time). A solve it stops has "
        "status `time_limit`.", 60.0, unit="seconds")
    mip_gap: Annotated[float, Field(ge=0, le=1)] = described(
        "Relative MIP gap at which HiGHS stops.", 1e-4, unit="fraction")
    threads: Annotated[int, Field(ge=1, le=256)] = described("HiGHS threads.", 1)
    node_limit: Annotated[int, Field(ge=1)] | None = described(
        "Branch-and-bound nodes after which HiGHS stops with its best plan (its `mip_max_nodes`): a limit on "
        "work, the same on every machine, unlike the time limit. A solve it stops has status `work_limit`. "
        "`null`: no limit.", None, unit="branch-and-bound nodes")
    formulation: Name = described(
        "A name in `FORMULATIONS` (`planner/model/build.py`); an unknown name is refused before anything is "
        "solved (`planner validate` checks it).", "default")
    warm_start: Literal["auto", "none", "rounded_lp", "repaired"] = described(
        "A MIP start for HiGHS (`planner/model/warm_start.py`): `repaired`, the plan solved without unit "
        "commitment, its units formed ahead and held up as commitment requires, the rest solved again; "
        "`rounded_lp`, the LP relaxation with every serving unit rounded up and no training (measured worse "
        "than none on the year-long benchmark family); `auto`: none, since neither beat HiGHS's own first "
        "plans on every measured case (docs/performance.md).", "auto")


class Instance(Strict):
    """An instance: the horizon, demand, fleet, served models and the optional sections."""

    name: Name = described("Instance name; appears in `summary.json`, the printed table and `report.md`.")
    description: str = described("Free text, printed at the top of `report.md`.", "")
    sources: list[str] = described("Where the figures come from. Informational.", [])
    horizon: Horizon = described("The periods.")
    demand: DemandFile = described("The demand table.")
    node_types: Annotated[dict[Name, NodeType], Field(min_length=1)] = described(
        "Hardware that can be owned or rented, by node type name g.")
    served_models: Annotated[dict[Name, ServedModel], Field(min_length=1)] = described(
        "What is served, its prices and where it can run, by served model name m.")
    penalties: Penalties = described("Price of unserved tokens.", Penalties())
    solver: SolverSettings = described("HiGHS settings and the formulation.", SolverSettings())
    profiles_dir: str = described("Folder of profile files, a path relative to the instance.", "../models")
    reference: str | None = described(
        "A published day to compare with: `reference/NAME.yaml` (a path relative to the instance), with "
        "`NAME-nodes.csv` and `NAME-hourly.csv` beside it. The files are checked by `validate` and `solve`. Fills "
        "`summary.json`'s `reference`. `null`: no comparison.", None)
    training: Training | None = described(
        "Training jobs and open-ended harvests that compete with serving for the nodes. Absent or `null`: no "
        "training; a section with neither `jobs` nor `harvest` adds nothing either (but is still refused under "
        "demand scenarios).", None)
    failures: Failures | None = described(
        "Node failures: redundant units for an availability target, and a spare-node pool. Absent or `null`: "
        "nodes never fail.", None)
    scenarios: Scenarios = described(
        "Demand scenarios: seeded noise around the demand table, or a scenario file, and the share of scenarios "
        "that must meet the SLO. The defaults give one scenario, the demand table itself.", Scenarios())
    margins: MarginAssumptions | None = described(
        "Assumptions of `planner margins`, each with its source. Validated by every command, read only by "
        "`planner margins`. Absent or `null`: `planner margins` takes the first step of its waterfall only.",
        None)
