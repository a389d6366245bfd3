"""A reseller's questions: how many nodes for stable service, at what cost and margin, at any scale.

Built on the stochastic plan of an instance with `failures` and `scenarios`:
- provisioning ratio: the leased fleet / the mean nodes the demand needs at full use (compared
  with published figures given as files: a published day's peak / average, a claim);
- value of the stochastic solution: the fleet planned for the mean demand, scored on the same
  scenarios, against the stochastic plan;
- out of sample: the chosen fleet on fresh scenarios from another seed, the served share from
  the second-stage plans and the availability measured by simulating node failures;
- a volume sweep with the break-even volume.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.inputs import Inputs
from ..physics.data import PlanningData
from ..results.economics import Margin, Totals, per_period
from ..results.result import PlanResult
from ..results.summary import as_record
from ..units import ROLES
from .executors import call, executor, run_points, shared_solver
from .points import compile_varied, plan_data, plan_varied

#: Updates that replace the scenarios by the mean demand (one scenario, no noise, no chance constraint).
MEAN_DEMAND = {"scenarios.count": 1, "scenarios.level_sd": 0.0, "scenarios.hourly_sd": 0.0,
               "scenarios.burst_probability": 0.0, "scenarios.slo_share": None, "scenarios.file": None}


def full_use_nodes(data: PlanningData, units: pd.DataFrame | None = None) -> float:
    """Mean nodes the demand needs at full use: sum over roles of D/c x u, expected over scenarios,
    without whole units or redundancy. Each (model, role)'s demand goes to the node types the plan
    serves it on, in proportion to the capacity its units give in the period (`units`: the plan's
    units table); without a plan, or in a period the plan leaves without units, to the model's
    first deployment."""
    return float(sum(full_use_nodes_by_type(data, units).values()))


def full_use_nodes_by_type(data: PlanningData, units: pd.DataFrame | None = None) -> dict[str, float]:
    """`full_use_nodes` per node type (types the demand does not go to are left out)."""
    total: dict[str, np.ndarray] = {}
    for m in data.served_models:
        for r in ROLES:
            demand = data.role_demand_mtok(m, r)
            share = _capacity_shares(data, m, r, units)
            for g, fraction in share.items():
                nodes = demand * fraction / data.unit_capacity_mtok[(m, g, r)] * data.unit_nodes[(m, g, r)]
                total[g] = total.get(g, 0.0) + nodes
    return {g: float(np.mean(v)) for g, v in total.items() if np.any(v > 0)}


def _capacity_shares(data: PlanningData, m: str, r: str, units: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Per node type, the share of (m, r)'s capacity it gives in each period."""
    types = data.deployed_types(m)
    capacity = {g: np.zeros(data.periods) for g in types}
    if units is not None:
        rows = units[(units["served_model"] == m) & (units["role"] == r)]
        for g, by_type in rows.groupby("node_type"):
            capacity[g] = per_period(by_type, "units", data.periods) * data.unit_capacity_mtok[(m, g, r)]
    total = sum(capacity.values())
    first = np.where(total > 0, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {g: np.where(total > 0, capacity[g] / total, first if g == types[0] else 0.0) for g in types}


def fleet_nodes(totals: Totals) -> float:
    """The fleet held for the whole day: owned (leased) nodes and nodes on reserved contracts."""
    return float(sum(totals.fleet.owned.values()) + sum(totals.fleet.reserved_peak.values()))


@dataclass(frozen=True)
class FirstStage:
    """What a plan decides before the day: its owned fleet and the nodes on each reserved term."""

    owned: Mapping[str, int]
    reserved: Mapping[tuple[str, str, int], int]
    ordered_ahead: Mapping[tuple[str, int], int]  # rentals of the hours tau < L_g, ordered before the day

    @classmethod
    def of(cls, plan: PlanResult) -> "FirstStage":
        table = plan.result.tables.get("reserved")
        reserved = {} if table is None else {(r.node_type, r.contract, int(r.term)): int(r.reserved_nodes)
                                             for r in table.itertuples()}
        data = plan.data
        ahead = {(r.node_type, int(r.period)): int(r.rented_nodes) for r in plan.result.tables["rented"].itertuples()
                 if data.day_ahead and r.period < min(data.lead_periods(r.node_type), data.horizon_periods)}
        return cls(dict(plan.totals.fleet.owned), reserved, ahead)

    def fixed_in(self, data: PlanningData) -> PlanningData:
        """`data` with this fleet (and the rentals ordered before the day) fixed."""
        return data.with_owned_fleet(self.owned).with_reserved_fleet(self.reserved).with_rentals_ordered_ahead(
            self.ordered_ahead)


@dataclass(frozen=True)
class Provisioning:
    full_use_nodes: float
    leased_fleet: float
    mean_burst_nodes: float
    provisioning_ratio: float | None
    provisioning_ratio_with_burst: float | None
    output_tokens_per_day: float
    leased_by_node_type: dict[str, float] | None = None  # owned + reserved, per node type holding any
    full_use_nodes_by_node_type: dict[str, float] | None = None  # on the deployments the plan chose


def provisioning(data: PlanningData, totals: Totals, units: pd.DataFrame | None = None) -> Provisioning:
    needed = full_use_nodes(data, units)
    fleet = fleet_nodes(totals)
    burst = totals.nodes.mean_fleet - fleet
    served_output = (1 - totals.unserved_tokens.output_share) * float(
        data.demand_tokens["output_tokens"].sum()) / data.scenarios
    return Provisioning(
        full_use_nodes=needed,
        leased_fleet=fleet,
        mean_burst_nodes=burst,
        provisioning_ratio=fleet / needed if needed else None,
        provisioning_ratio_with_burst=(fleet + burst) / needed if needed else None,
        output_tokens_per_day=served_output / (data.horizon_hours / 24.0),
        leased_by_node_type={g: float(n) for g in data.node_type_names
                             if (n := totals.fleet.owned.get(g, 0) + totals.fleet.reserved_peak.get(g, 0))},
        full_use_nodes_by_node_type=full_use_nodes_by_type(data, units),
    )


@dataclass(frozen=True)
class SimulatedAvailability:
    """What the fleet simulation measured (`measured_availability`)."""

    availability: float  # share of (draw, scenario, instant) with every role's served demand covered
    swaps_refused_per_day: float  # failures that found the spare pool empty, per simulated day
    days: int  # simulated days (draws x scenarios)


def measured_availability(data: PlanningData, units: pd.DataFrame, unserved: pd.DataFrame, draws: int,
                          seed: int, samples_per_period: int = 12) -> SimulatedAvailability:
    """Simulate `draws` days of failures on every scenario's plan (studies/simulation/fleet_outages:
    node, unit and rack failures, swaps while the plan's spare pool lasts) and measure the share of
    instants (`samples_per_period` a period) at which every role of every served model keeps the
    capacity its served demand needs. Not the formula that sized the plan: the failures happen."""
    from .simulation.fleet_outages import lay_out, simulate_day, units_up

    rates = data.failure_rates
    periods = data.horizon_periods
    instants = (np.arange(periods * samples_per_period) + 0.5) * data.period_hours / samples_per_period
    period_of = np.minimum((instants // data.period_hours).astype(int), periods - 1)
    counts = {key: per_period(rows, "units", data.periods).astype(np.int64)
              for key, rows in units.groupby(["served_model", "node_type", "role"])}
    kinds = {g: [(m, r) for (m, gg, r) in counts if gg == g] for g in data.node_type_names}
    roles = sorted({(m, r) for (m, _, r) in counts})
    missed = {key: per_period(rows, "unserved_share", data.periods) for key, rows in unserved.groupby(["served_model", "role"])}
    served = {(m, r): data.role_demand_mtok(m, r) * (1 - missed.get((m, r), 0.0)) for (m, r) in roles}
    rng = np.random.default_rng(seed)
    ok = refused = 0.0
    for s in range(data.scenarios):
        block = slice(s * periods, (s + 1) * periods)
        setup = {}
        for g, on_g in kinds.items():
            serving = np.array([counts.get((m, g, r), np.zeros(data.periods, np.int64))[block] for m, r in on_g])
            if not serving.size or not serving.any():
                continue
            sizes = [data.unit_nodes[(m, g, r)] for m, r in on_g]
            nodes = (serving * np.array(sizes)[:, None]).sum(axis=0)
            spares = np.ceil(data.spare_ratio.get(g, 0.0) * nodes - 1e-9)
            if g in data.spare_floor:
                spares = np.maximum(spares, np.asarray(data.spare_floor[g])[block])
            rack = rates.rack_nodes if rates is not None else 1
            setup[g] = (lay_out(sizes, serving.max(axis=1).tolist(), rack), serving, spares, on_g)
        for _ in range(draws):
            capacity = {key: np.zeros(len(instants)) for key in roles}
            for g, (layout, serving, spares, on_g) in setup.items():
                day = simulate_day(rng, layout, rates, spares, data.period_hours, serving) if rates is not None else None
                up = (units_up(day, layout, serving, instants, data.period_hours) if day is not None
                      else serving[:, period_of].astype(float))
                refused += day.swaps_refused if day is not None else 0
                for k, (m, r) in enumerate(on_g):
                    capacity[(m, r)] += up[k] * data.unit_capacity_mtok[(m, g, r)][block][period_of]
            fine = np.ones(len(instants), dtype=bool)
            for key in roles:
                fine &= capacity[key] >= served[key][block][period_of] - 1e-9
            ok += fine.mean()
    days = draws * data.scenarios
    return SimulatedAvailability(availability=float(ok / days), swaps_refused_per_day=float(refused / days), days=days)


@dataclass(frozen=True)
class MeanDemandPlan:
    leased_fleet: float
    holds_the_slo_share: bool
    expected_cost_with_misses_priced_usd: float | None
    unserved_output_share: float | None


@dataclass(frozen=True)
class PricedPlan:
    leased_fleet: float
    expected_cost_usd: float | None


@dataclass(frozen=True)
class ScenarioShare:
    """The share of scenarios in which the SLO holds in every period, with its 95 % Wilson
    interval, against the share the plan promised in sample."""

    share: float
    low: float
    high: float
    scenarios: int
    promised: float | None
    held: bool | None  # the promise inside or below the interval's upper end: not refuted


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a binomial share (Wilson, JASA 1927; Agresti and Coull, The
    American Statistician 1998): centre (p + z^2/2n) / (1 + z^2/n), half-width
    z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)."""
    p = successes / n
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def scenarios_for_share(share: float, half_width: float, z: float = 1.959964) -> int:
    """Scenarios to tell a share beta within +-half_width at 95 %, and to see its misses at all:
    the larger of z^2 beta (1 - beta) / h^2 (the normal approximation of the binomial, which
    Wilson's interval then matches) and 3 / (1 - beta) (the rule of three: with no miss in n
    scenarios, 3/n is the 95 % upper bound of the miss rate; Hanley and Lippman-Hand, JAMA 1983).
    Near 1 the second rules: 0.99 needs 300 scenarios, not the normal approximation's 16."""
    return int(max(np.ceil(z**2 * share * (1 - share) / half_width**2), np.ceil(3.0 / (1.0 - share))))


def scenarios_meeting_the_slo(outcome: PlanResult) -> np.ndarray:
    """Per scenario: whether every period serves all its demand and meets every TTFT target."""
    data, tables = outcome.data, outcome.result.tables
    missed = np.zeros(data.scenarios, dtype=bool)
    for name, column in (("unserved", "unserved_share"), ("ttft_shortfall", "shortfall_share")):
        if name in tables:
            rows = tables[name]
            bad = rows.loc[rows[column] > 1e-6, "period"].to_numpy(dtype=int)
            missed[np.unique(bad // (data.periods // data.scenarios))] = True
    return ~missed


def scenario_share(outcome: PlanResult, promised: float | None) -> ScenarioShare:
    held = scenarios_meeting_the_slo(outcome)
    low, high = wilson_interval(int(held.sum()), len(held))
    return ScenarioShare(share=float(held.mean()), low=low, high=high, scenarios=len(held), promised=promised,
                         held=None if promised is None else bool(promised <= high))


@dataclass(frozen=True)
class OutOfSample:
    seed: int
    scenarios: int
    status: str
    slo_share: ScenarioShare | None = None
    served_output_share: float | None = None
    served_input_share: float | None = None
    availability_measured: float | None = None
    swaps_refused_per_day: float | None = None
    failure_draws: int | None = None
    cost_usd_per_day: float | None = None


@dataclass(frozen=True)
class ResellerStudy:
    """The stochastic plan and what the reseller reads of it (reseller.json is `record`)."""

    plan: PlanResult
    status: str
    scenarios: int
    provisioning: Provisioning | None = None
    cost_usd_per_day: float | None = None
    usd_per_million_output_tokens: float | None = None
    margin: Margin | None = None
    mean_demand_plan: MeanDemandPlan | None = None
    stochastic_plan_with_misses_priced: PricedPlan | None = None
    value_of_the_stochastic_solution_usd: float | None = None
    value_of_the_stochastic_solution_range_usd: tuple[float, float] | None = None  # what the two solves' gaps allow
    slo_share_in_sample: ScenarioShare | None = None
    out_of_sample: OutOfSample | None = None

    @property
    def record(self) -> dict[str, Any]:
        fields = [f.name for f in dataclasses.fields(self) if f.name != "plan"]
        return {name: as_record(getattr(self, name)) for name in fields
                if getattr(self, name) is not None or name == "status"}


def study(inputs: Inputs, solver: Mapping[str, Any] | None = None, *, oos_seed: int | None = None,
          oos_scenarios: int = 50, failure_draws: int = 200, workers: int = 1, executor_kind: str = "process",
          scheduler: str | None = None,
          progress: Callable[[int, int], None] = lambda done, total: None) -> ResellerStudy:
    """The stochastic plan, the mean-demand plan and its value, and the out-of-sample check."""
    data = compile_varied(inputs)
    if inputs.spec.failures is None and data.scenarios == 1:
        raise InputError(data.source, "failures", None, "a reseller study needs failures or demand scenarios")
    solver = shared_solver(solver, workers)
    priced = dataclasses.replace(data, scenario_slo_share=None)  # misses priced, not limited
    seed = inputs.spec.scenarios.seed + 1000 if oos_seed is None else oos_seed
    fresh = {"scenarios.seed": seed, "scenarios.count": oos_scenarios, "scenarios.slo_share": None}
    done = [0]

    def step(d: int, t: int) -> None:  # two rounds of three plans
        progress(done[0] + d, 6)

    with executor(executor_kind, workers, scheduler) as running:
        stochastic, mean, rp_priced = run_points(running, call, [
            (plan_data, data, solver), (plan_varied, inputs, MEAN_DEMAND, solver), (plan_data, priced, solver)], step)
        if stochastic.totals is None:
            return ResellerStudy(stochastic, status=stochastic.result.status, scenarios=data.scenarios)
        done[0] = 3
        mean_fleet = FirstStage.of(mean)
        mean_on_scenarios, eev_priced, outside = run_points(running, call, [
            (plan_data, mean_fleet.fixed_in(data), solver),
            (plan_data, mean_fleet.fixed_in(priced), solver),
            (_plan_out_of_sample, inputs, fresh, FirstStage.of(stochastic), _commitment(stochastic), solver)],
            step)
    rp, eev = rp_priced.result.objective_usd, eev_priced.result.objective_usd
    totals = stochastic.totals
    return ResellerStudy(
        plan=stochastic,
        status=stochastic.result.status,
        scenarios=data.scenarios,
        provisioning=provisioning(data, totals, stochastic.result.tables["units"]),
        cost_usd_per_day=totals.cost_usd.total,
        usd_per_million_output_tokens=totals.cost_usd.per_million_output_tokens,
        margin=totals.margin,
        mean_demand_plan=MeanDemandPlan(
            leased_fleet=fleet_nodes(mean.totals),
            holds_the_slo_share=mean_on_scenarios.totals is not None,
            expected_cost_with_misses_priced_usd=eev,
            unserved_output_share=eev_priced.totals.unserved_tokens.output_share if eev_priced.totals else None,
        ),
        stochastic_plan_with_misses_priced=PricedPlan(leased_fleet=fleet_nodes(rp_priced.totals), expected_cost_usd=rp),
        value_of_the_stochastic_solution_usd=eev - rp if eev is not None and rp is not None else None,
        value_of_the_stochastic_solution_range_usd=_vss_range(eev_priced, rp_priced),
        slo_share_in_sample=scenario_share(stochastic, data.scenario_slo_share),
        out_of_sample=_out_of_sample(outside, seed, oos_scenarios, failure_draws, data.scenario_slo_share),
    )


def _vss_range(eev: PlanResult, rp: PlanResult) -> tuple[float, float] | None:
    """[EEV's bound - RP, EEV - RP's bound]: the values of EEV - RP that the two solves' bounds
    allow (both are minimisations stopped within their gaps)."""
    e, r = eev.result, rp.result
    if None in (e.objective_usd, r.objective_usd, e.bound_usd, r.bound_usd):
        return None
    return (e.bound_usd - r.objective_usd, e.objective_usd - r.bound_usd)


def _commitment(plan: PlanResult) -> dict[tuple[str, str, str, int], int]:
    """The plan's day-ahead commitment (empty without one)."""
    table = plan.result.tables.get("committed")
    if table is None:
        return {}
    return {(r.served_model, r.node_type, r.role, int(r.period)): int(r.committed_units) for r in table.itertuples()}


def _plan_out_of_sample(inputs: Inputs, fresh: Mapping[str, Any], fleet: FirstStage,
                        committed: Mapping[tuple[str, str, str, int], int], solver: Mapping[str, Any]) -> PlanResult:
    """The stochastic plan's fleet (owned and reserved) and day-ahead commitment on fresh
    scenarios (a worker: compiles them itself); the fresh scenarios' real-time decisions are
    re-planned."""
    return plan_data(fleet.fixed_in(compile_varied(inputs, fresh)).with_commitment(committed), solver)


def _out_of_sample(outcome: PlanResult, seed: int, scenarios: int, draws: int, promised: float | None) -> OutOfSample:
    if outcome.totals is None:
        return OutOfSample(seed=seed, scenarios=scenarios, status=outcome.result.status)
    u = outcome.totals.unserved_tokens
    tables = outcome.result.tables
    simulated = measured_availability(outcome.data, tables["units"], tables["unserved"], draws, seed)
    return OutOfSample(
        seed=seed,
        scenarios=scenarios,
        status=outcome.result.status,
        slo_share=scenario_share(outcome, promised),
        served_output_share=1 - u.output_share,
        served_input_share=1 - u.input_share,
        availability_measured=simulated.availability,
        swaps_refused_per_day=simulated.swaps_refused_per_day,
        failure_draws=draws,
        cost_usd_per_day=outcome.totals.cost_usd.total,
    )


def daily_volume(inputs: Inputs, base: PlanningData, output_tokens_per_day: float) -> dict[str, Any]:
    """The update that makes the instance's expected daily output demand `output_tokens_per_day`
    (`base`: the instance compiled as loaded): demand.scale = V / B x (H / 24 h), B the expected
    output tokens per horizon at scale 1."""
    per_horizon = float(base.demand_tokens["output_tokens"].sum()) / base.scenarios / inputs.spec.demand.scale
    return {"demand.scale": output_tokens_per_day / per_horizon * (base.horizon_hours / 24.0)}


def scale_sweep(inputs: Inputs, output_tokens_per_day: Sequence[float], solver: Mapping[str, Any] | None = None, *,
                workers: int = 1, executor_kind: str = "process", scheduler: str | None = None,
                progress: Callable[[int, int], None] = lambda done, total: None) -> pd.DataFrame:
    """Provisioning ratio, cost per million output tokens and margin against daily volume."""
    base = compile_varied(inputs)
    solver = shared_solver(solver, workers)
    volumes = sorted(output_tokens_per_day)
    points = [(inputs, daily_volume(inputs, base, volume), solver) for volume in volumes]
    with executor(executor_kind, workers, scheduler) as running:
        outcomes = run_points(running, plan_varied, points, progress)
    rows = []
    for volume, outcome in zip(volumes, outcomes):
        if outcome.totals is None:
            rows.append({"output_tokens_per_day": volume, "status": outcome.result.status})
            continue
        p = provisioning(outcome.data, outcome.totals, outcome.result.tables["units"])
        t = outcome.totals
        rows.append({
            "output_tokens_per_day": volume, "status": outcome.result.status, "mip_gap": outcome.result.mip_gap,
            "leased_fleet": p.leased_fleet, "full_use_nodes": p.full_use_nodes,
            "leased_by_node_type": _by_type(p.leased_by_node_type),
            "full_use_nodes_by_node_type": _by_type(p.full_use_nodes_by_node_type),
            "provisioning_ratio": p.provisioning_ratio,
            "usd_per_million_output_tokens": t.cost_usd.per_million_output_tokens,
            "cost_usd_per_day": t.cost_usd.total,
            "revenue_usd_per_day": t.revenue_usd.total,
            "cost_profit_margin": t.margin.cost_profit,
        })
    return pd.DataFrame(rows)


def _by_type(nodes: Mapping[str, float] | None) -> str:
    """{"h800": 150, "h20": 4.5} as "h800 150; h20 4.5" (a CSV cell)."""
    return "; ".join(f"{g} {n:.4g}" for g, n in (nodes or {}).items())


def slo_share_frontier(inputs: Inputs, shares: Sequence[float | None], solver: Mapping[str, Any] | None = None, *,
                       half_width: float = 0.05, workers: int = 1, executor_kind: str = "process",
                       scheduler: str | None = None,
                       progress: Callable[[int, int], None] = lambda done, total: None) -> pd.DataFrame:
    """The stochastic plan at each share of scenarios that must meet the SLO (None: misses only
    priced): fleet, cost, provisioning ratio, the in-sample share reached, and the scenarios a
    share needs to be told within +-half_width."""
    solver = shared_solver(solver, workers)
    points = [(inputs, {"scenarios.slo_share": share}, solver) for share in shares]
    with executor(executor_kind, workers, scheduler) as running:
        outcomes = run_points(running, plan_varied, points, progress)
    rows = []
    for share, outcome in zip(shares, outcomes):
        row: dict[str, Any] = {"slo_share": share, "status": outcome.result.status,
                               "scenarios": outcome.data.scenarios,
                               "scenarios_needed": None if share in (None, 1.0) else scenarios_for_share(share, half_width)}
        if outcome.totals is not None:
            p = provisioning(outcome.data, outcome.totals, outcome.result.tables["units"])
            reached = scenario_share(outcome, share)
            row |= {"leased_fleet": p.leased_fleet, "provisioning_ratio": p.provisioning_ratio,
                    "cost_usd_per_day": outcome.totals.cost_usd.total,
                    "usd_per_million_output_tokens": outcome.totals.cost_usd.per_million_output_tokens,
                    "unserved_output_share": outcome.totals.unserved_tokens.output_share,
                    "scenarios_meeting_the_slo": reached.share}
        rows.append(row)
    return pd.DataFrame(rows)


def break_even_volume(sweep: pd.DataFrame) -> float | None:
    """The daily volume at which the cost-profit margin crosses zero (log-linear interpolation);
    None when no sign change is in the sweep."""
    if "cost_profit_margin" not in sweep:
        return None
    rows = sweep.dropna(subset=["cost_profit_margin"]).sort_values("output_tokens_per_day")
    volumes, margins = rows["output_tokens_per_day"].to_numpy(float), rows["cost_profit_margin"].to_numpy(float)
    for i in range(1, len(rows)):
        if margins[i - 1] < 0 <= margins[i]:
            x0, x1 = np.log10(volumes[i - 1]), np.log10(volumes[i])
            return float(10 ** (x0 + (0 - margins[i - 1]) * (x1 - x0) / (margins[i] - margins[i - 1])))
    return None
