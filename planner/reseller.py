"""A reseller's questions: how many nodes for stable service, at what cost and margin, at any scale.

Built on the stochastic plan of an instance with `failures` and `scenarios`:
- provisioning ratio: the leased fleet / the mean nodes the demand needs at full use
  (published DeepSeek day: 278 / 226.75 = 1.23; the reseller that quit: about 5);
- value of the stochastic solution: the fleet planned for the mean demand, scored on the same
  scenarios, against the stochastic plan;
- out of sample: the chosen fleet on fresh scenarios from another seed, the served share from
  the second-stage plans and the availability measured by simulating node failures;
- a volume sweep with the break-even volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .api import PlanOutcome, solve_data
from .errors import InputError
from .failures import unit_availability
from .instance import ROLES, PlanningData, load_instance
from .solve import solver_options
from .report import pyplot, save_figure


def full_use_nodes(data: PlanningData) -> float:
    """Mean nodes the demand needs at full use: sum over roles of D/c x u, expected over scenarios,
    on each served model's first deployment, without whole units or redundancy."""
    total = np.zeros(data.periods)
    for m in data.served_models:
        g = next(gg for (mm, gg) in data.deployments if mm == m)
        for r in ROLES:
            total += data.role_demand_mtok(m, r) / data.unit_capacity_mtok[(m, g, r)] * data.unit_nodes[(m, g, r)]
    return float(total.mean())


def fleet_nodes(summary: dict[str, Any]) -> float:
    return float(sum(summary["fleet"]["owned"].values()))


def provisioning(data: PlanningData, summary: dict[str, Any]) -> dict[str, float]:
    needed = full_use_nodes(data)
    fleet = fleet_nodes(summary)
    burst = summary["nodes"]["mean_fleet"] - fleet
    served_output = (1 - summary["unserved_tokens"]["output_share"]) * float(
        data.demand_tokens["output_tokens"].sum()) / data.scenarios
    return {
        "full_use_nodes": needed,
        "leased_fleet": fleet,
        "mean_burst_nodes": burst,
        "provisioning_ratio": fleet / needed if needed else None,
        "provisioning_ratio_with_burst": (fleet + burst) / needed if needed else None,
        "output_tokens_per_day": served_output / (data.horizon_hours / 24.0),
    }


def with_fixed_fleet(summary: dict[str, Any], data: PlanningData) -> list[str]:
    """--set overrides that fix the owned (leased) fleet at a plan's, for types that can be owned."""
    out = []
    for g, n in summary["fleet"]["owned"].items():
        if data.spec.node_types[g].owned is not None:
            out += [f"node_types.{g}.owned.min_nodes={int(n)}", f"node_types.{g}.owned.max_nodes={int(n)}"]
    return out


MEAN_DEMAND = ["scenarios.count=1", "scenarios.level_sd=0", "scenarios.hourly_sd=0",
               "scenarios.burst_probability=0", "scenarios.slo_share=null"]


def solve_with(instance: Path, overrides: Sequence[str], extra: Sequence[str], solver: dict[str, Any]) -> PlanOutcome:
    data = load_instance(instance, [*overrides, *extra])
    return solve_data(data, solver_options(data, **solver))


def measured_availability(data: PlanningData, units: pd.DataFrame, unserved: pd.DataFrame, draws: int,
                          seed: int) -> float:
    """Share of (scenario, hour) in which every role of every model keeps the units its served
    demand needs, with each planned unit up with probability a = (1 - p)^u (simulated)."""
    failures = data.spec.failures
    rng = np.random.default_rng(seed)
    ok = np.ones((draws, data.periods), dtype=bool)
    share = unserved.set_index(["served_model", "role", "period"])["unserved_share"].sort_index()
    for (m, r), rows in units.groupby(["served_model", "role"]):
        capacity = np.zeros((draws, data.periods))
        for g, by_type in rows.groupby("node_type"):
            planned = np.zeros(data.periods, dtype=np.int64)
            planned[by_type["period"].to_numpy()] = by_type["units"].to_numpy()
            a = unit_availability(failures, data.unit_nodes[(m, g, r)]) if failures else 1.0
            working = rng.binomial(planned, a, size=(draws, data.periods))
            capacity += working * data.unit_capacity_mtok[(m, g, r)]
        served = data.role_demand_mtok(m, r) * (1 - share.loc[m, r].reindex(range(data.periods)).fillna(0).to_numpy())
        ok &= capacity >= served - 1e-9
    return float(ok.mean())


@dataclass(frozen=True)
class ResellerStudy:
    plan: PlanOutcome
    record: dict[str, Any]


def study(instance: str | Path, overrides: Sequence[str] = (), oos_seed: int | None = None, oos_scenarios: int = 50,
          failure_draws: int = 200, **solver: Any) -> ResellerStudy:
    """The stochastic plan, the mean-demand plan and its value, and the out-of-sample check."""
    instance = Path(instance)
    data = load_instance(instance, overrides)
    if data.spec.failures is None and data.scenarios == 1:
        raise InputError(data.source, "failures", None, "a reseller study needs failures or demand scenarios")
    options = solver_options(data, **solver)
    plan = solve_data(data, options)
    if plan.plan is None:
        return ResellerStudy(plan, {"status": plan.summary["status"]})
    mean_plan = solve_with(instance, overrides, MEAN_DEMAND, solver)
    mean_on_scenarios = solve_with(instance, overrides, with_fixed_fleet(mean_plan.summary, data), solver)
    # The value of the stochastic solution, with misses priced rather than limited, so that the
    # mean-demand fleet always has a score: EEV - RP on the same scenarios.
    penalty_only = ["scenarios.slo_share=null"]
    rp_priced = solve_with(instance, overrides, penalty_only, solver)
    eev_priced = solve_with(instance, overrides, [*penalty_only, *with_fixed_fleet(mean_plan.summary, data)], solver)
    seed = data.spec.scenarios.seed + 1000 if oos_seed is None else oos_seed
    fresh = [f"scenarios.seed={seed}", f"scenarios.count={oos_scenarios}", "scenarios.slo_share=null",
             *with_fixed_fleet(plan.summary, data)]
    outside = solve_with(instance, overrides, fresh, solver)
    rp, eev = rp_priced.result.objective_usd, eev_priced.result.objective_usd
    record = {
        "status": plan.summary["status"],
        "scenarios": data.scenarios,
        "provisioning": provisioning(data, plan.summary),
        "cost_usd_per_day": plan.summary["cost_usd"]["total"],
        "usd_per_million_output_tokens": plan.summary["cost_usd"]["per_million_output_tokens"],
        "margin": plan.summary["margin"],
        "mean_demand_plan": {
            "leased_fleet": fleet_nodes(mean_plan.summary),
            "holds_the_slo_share": mean_on_scenarios.plan is not None,
            "expected_cost_with_misses_priced_usd": eev,
            "unserved_output_share": eev_priced.summary["unserved_tokens"]["output_share"],
        },
        "stochastic_plan_with_misses_priced": {
            "leased_fleet": fleet_nodes(rp_priced.summary),
            "expected_cost_usd": rp,
        },
        "value_of_the_stochastic_solution_usd": eev - rp,
        "out_of_sample": _out_of_sample(outside, seed, oos_scenarios, failure_draws),
    }
    return ResellerStudy(plan, record)


def _out_of_sample(outcome: PlanOutcome, seed: int, scenarios: int, draws: int) -> dict[str, Any]:
    if outcome.plan is None:
        return {"seed": seed, "scenarios": scenarios, "status": outcome.summary["status"]}
    u = outcome.summary["unserved_tokens"]
    tables = outcome.result.tables
    return {
        "seed": seed,
        "scenarios": scenarios,
        "served_output_share": 1 - u["output_share"],
        "served_input_share": 1 - u["input_share"],
        "availability_measured": measured_availability(outcome.data, tables["units"], tables["unserved"], draws, seed),
        "failure_draws": draws,
        "cost_usd_per_day": outcome.summary["cost_usd"]["total"],
    }


def scale_sweep(instance: str | Path, output_tokens_per_day: Sequence[float], overrides: Sequence[str] = (),
                **solver: Any) -> pd.DataFrame:
    """Provisioning ratio, cost per million output tokens and margin against daily volume."""
    instance = Path(instance)
    base = load_instance(instance, overrides)
    base_output = float(base.demand_tokens["output_tokens"].sum()) / base.scenarios / base.spec.demand.scale
    rows = []
    for volume in sorted(output_tokens_per_day):
        scale = volume / base_output * (base.horizon_hours / 24.0)
        outcome = solve_with(instance, overrides, [f"demand.scale={scale!r}"], solver)
        if outcome.plan is None:
            rows.append({"output_tokens_per_day": volume, "status": outcome.summary["status"]})
            continue
        p = provisioning(outcome.data, outcome.summary)
        rows.append({
            "output_tokens_per_day": volume, "status": outcome.summary["status"],
            "leased_fleet": p["leased_fleet"], "full_use_nodes": p["full_use_nodes"],
            "provisioning_ratio": p["provisioning_ratio"],
            "usd_per_million_output_tokens": outcome.summary["cost_usd"]["per_million_output_tokens"],
            "cost_usd_per_day": outcome.summary["cost_usd"]["total"],
            "revenue_usd_per_day": outcome.summary["revenue_usd"]["total"],
            "cost_profit_margin": outcome.summary["margin"]["cost_profit"],
        })
    return pd.DataFrame(rows)


def break_even_volume(sweep: pd.DataFrame) -> float | None:
    """The daily volume at which the cost-profit margin crosses zero (log-linear interpolation);
    None when no sign change is in the sweep."""
    rows = sweep.dropna(subset=["cost_profit_margin"]).sort_values("output_tokens_per_day")
    volumes, margins = rows["output_tokens_per_day"].to_numpy(float), rows["cost_profit_margin"].to_numpy(float)
    for i in range(1, len(rows)):
        if margins[i - 1] < 0 <= margins[i]:
            x0, x1 = np.log10(volumes[i - 1]), np.log10(volumes[i])
            return float(10 ** (x0 + (0 - margins[i - 1]) * (x1 - x0) / (margins[i] - margins[i - 1])))
    return None


def scale_chart(path: Path, sweep: pd.DataFrame, break_even: float | None, title: str) -> None:
    plt = pyplot()

    solved = sweep.dropna(subset=["provisioning_ratio"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    left.plot(solved["output_tokens_per_day"], solved["provisioning_ratio"], marker="o")
    left.axhline(278 / 226.75, color="grey", linestyle="--", label="DeepSeek's day: 278 / 226.75 = 1.23")
    left.axhline(5, color="tab:red", linestyle=":", label="the reseller's claim: about 5")
    left.set_ylabel("leased fleet / nodes needed at full use")
    right.plot(solved["output_tokens_per_day"], 100 * solved["cost_profit_margin"], marker="o", color="tab:green")
    right.axhline(0, color="black", linewidth=0.8)
    if break_even:
        right.axvline(break_even, color="tab:green", linestyle="--", label=f"break-even {break_even / 1e9:.3g} B/day")
    right.set_ylabel("cost-profit margin at list prices, %")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("output tokens per day")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)
