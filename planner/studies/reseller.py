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
from ..results.economics import Margin, Totals
from ..results.result import PlanResult
from ..results.summary import as_record
from ..units import ROLES
from .executors import call, executor, run_points, shared_solver
from .points import compile_varied, plan_data, plan_varied

#: Updates that replace the scenarios by the mean demand (one scenario, no noise, no chance constraint).
MEAN_DEMAND = {"scenarios.count": 1, "scenarios.level_sd": 0.0, "scenarios.hourly_sd": 0.0,
               "scenarios.burst_probability": 0.0, "scenarios.slo_share": None, "scenarios.file": None}


def full_use_nodes(data: PlanningData) -> float:
    """Mean nodes the demand needs at full use: sum over roles of D/c x u, expected over scenarios,
    on each served model's first deployment, without whole units or redundancy."""
    total = np.zeros(data.periods)
    for m in data.served_models:
        g = data.deployed_types(m)[0]
        for r in ROLES:
            total += data.role_demand_mtok(m, r) / data.unit_capacity_mtok[(m, g, r)] * data.unit_nodes[(m, g, r)]
    return float(total.mean())


def fleet_nodes(totals: Totals) -> float:
    return float(sum(totals.fleet.owned.values()))


@dataclass(frozen=True)
class Provisioning:
    full_use_nodes: float
    leased_fleet: float
    mean_burst_nodes: float
    provisioning_ratio: float | None
    provisioning_ratio_with_burst: float | None
    output_tokens_per_day: float


def provisioning(data: PlanningData, totals: Totals) -> Provisioning:
    needed = full_use_nodes(data)
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
    )


def measured_availability(data: PlanningData, units: pd.DataFrame, unserved: pd.DataFrame, draws: int,
                          seed: int) -> float:
    """Share of (scenario, hour) in which every role of every model keeps the units its served
    demand needs, with each planned unit up with probability a = (1 - p)^u (simulated)."""
    rng = np.random.default_rng(seed)
    ok = np.ones((draws, data.periods), dtype=bool)
    share = unserved.set_index(["served_model", "role", "period"])["unserved_share"].sort_index()
    for (m, r), rows in units.groupby(["served_model", "role"]):
        capacity = np.zeros((draws, data.periods))
        for g, by_type in rows.groupby("node_type"):
            planned = np.zeros(data.periods, dtype=np.int64)
            planned[by_type["period"].to_numpy()] = by_type["units"].to_numpy()
            a = data.unit_availability.get((m, g, r), 1.0)
            working = rng.binomial(planned, a, size=(draws, data.periods))
            capacity += working * data.unit_capacity_mtok[(m, g, r)]
        served = data.role_demand_mtok(m, r) * (1 - share.loc[m, r].reindex(range(data.periods)).fillna(0).to_numpy())
        ok &= capacity >= served - 1e-9
    return float(ok.mean())


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
class OutOfSample:
    seed: int
    scenarios: int
    status: str
    served_output_share: float | None = None
    served_input_share: float | None = None
    availability_measured: float | None = None
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
        mean_fleet = mean.totals.fleet.owned
        mean_on_scenarios, eev_priced, outside = run_points(running, call, [
            (plan_data, data.with_owned_fleet(mean_fleet), solver),
            (plan_data, priced.with_owned_fleet(mean_fleet), solver),
            (_plan_out_of_sample, inputs, fresh, stochastic.totals.fleet.owned, solver)], step)
    rp, eev = rp_priced.result.objective_usd, eev_priced.result.objective_usd
    totals = stochastic.totals
    return ResellerStudy(
        plan=stochastic,
        status=stochastic.result.status,
        scenarios=data.scenarios,
        provisioning=provisioning(data, totals),
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
        out_of_sample=_out_of_sample(outside, seed, oos_scenarios, failure_draws),
    )


def _plan_out_of_sample(inputs: Inputs, fresh: Mapping[str, Any], owned: Mapping[str, int],
                        solver: Mapping[str, Any]) -> PlanResult:
    """The stochastic plan's fleet on fresh scenarios (a worker: compiles them itself)."""
    return plan_data(compile_varied(inputs, fresh).with_owned_fleet(owned), solver)


def _out_of_sample(outcome: PlanResult, seed: int, scenarios: int, draws: int) -> OutOfSample:
    if outcome.totals is None:
        return OutOfSample(seed=seed, scenarios=scenarios, status=outcome.result.status)
    u = outcome.totals.unserved_tokens
    tables = outcome.result.tables
    return OutOfSample(
        seed=seed,
        scenarios=scenarios,
        status=outcome.result.status,
        served_output_share=1 - u.output_share,
        served_input_share=1 - u.input_share,
        availability_measured=measured_availability(outcome.data, tables["units"], tables["unserved"], draws, seed),
        failure_draws=draws,
        cost_usd_per_day=outcome.totals.cost_usd.total,
    )


def scale_sweep(inputs: Inputs, output_tokens_per_day: Sequence[float], solver: Mapping[str, Any] | None = None, *,
                workers: int = 1, executor_kind: str = "process", scheduler: str | None = None,
                progress: Callable[[int, int], None] = lambda done, total: None) -> pd.DataFrame:
    """Provisioning ratio, cost per million output tokens and margin against daily volume."""
    base = compile_varied(inputs)
    base_output = float(base.demand_tokens["output_tokens"].sum()) / base.scenarios / inputs.spec.demand.scale
    solver = shared_solver(solver, workers)
    volumes = sorted(output_tokens_per_day)
    points = [(inputs, {"demand.scale": volume / base_output * (base.horizon_hours / 24.0)}, solver)
              for volume in volumes]
    with executor(executor_kind, workers, scheduler) as running:
        outcomes = run_points(running, plan_varied, points, progress)
    rows = []
    for volume, outcome in zip(volumes, outcomes):
        if outcome.totals is None:
            rows.append({"output_tokens_per_day": volume, "status": outcome.result.status})
            continue
        p = provisioning(outcome.data, outcome.totals)
        t = outcome.totals
        rows.append({
            "output_tokens_per_day": volume, "status": outcome.result.status,
            "leased_fleet": p.leased_fleet, "full_use_nodes": p.full_use_nodes,
            "provisioning_ratio": p.provisioning_ratio,
            "usd_per_million_output_tokens": t.cost_usd.per_million_output_tokens,
            "cost_usd_per_day": t.cost_usd.total,
            "revenue_usd_per_day": t.revenue_usd.total,
            "cost_profit_margin": t.margin.cost_profit,
        })
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
