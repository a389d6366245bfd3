"""The reseller's published claims beside what planner computes, and under which inputs each holds
(`planner claims`; docs/studies/claims.md).

- A provisioning ratio ("stable service needs about 5 x the theoretical machines"): planner's
  ratio on a reseller instance over a sweep of daily volumes, and the volume below which the
  plan's ratio reaches the claimed one (log-linear interpolation).
- A month's machine cost and revenue at a daily volume ("100 B output tokens a day cost ¥450 M a
  month against ¥45 M of revenue"): the plan at that volume, its cost and revenue over 30 days
  at a stated exchange rate, and the per-node throughput at which the plan would cost what is
  claimed (every capacity factor divided by planner's cost over the claimed cost, then solved
  again to check).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..io.inputs import Inputs
from ..io.schema.published import PublishedClaim
from .points import compile_varied, plan_varied
from .reseller import daily_volume, fleet_nodes, scale_sweep

DAYS_PER_MONTH = 30.0


def crossing_volume(sweep: pd.DataFrame, ratio: float) -> float | None:
    """The largest daily volume at which the sweep's provisioning ratio is still >= `ratio`,
    interpolated log-linearly in both volume and ratio between the neighbouring points where it
    falls below; None when no point reaches it (the first volume when every point does)."""
    rows = sweep.dropna(subset=["provisioning_ratio"]).sort_values("output_tokens_per_day")
    x = np.log10(rows["output_tokens_per_day"].to_numpy(float))
    y = np.log10(rows["provisioning_ratio"].to_numpy(float))
    target = np.log10(ratio)
    if len(x) == 0 or y[0] < target:
        return None
    for i in range(1, len(x)):
        if y[i - 1] >= target > y[i]:
            return float(10 ** (x[i - 1] + (target - y[i - 1]) * (x[i] - x[i - 1]) / (y[i] - y[i - 1])))
    return float(10 ** x[-1])


def _throughput_updates(inputs: Inputs, factor: float) -> dict[str, Any]:
    """Every deployment's prefill and decode capacity factors times `factor`."""
    out = {}
    for m, model in inputs.spec.served_models.items():
        for g, d in model.deployments.items():
            out[f"served_models.{m}.deployments.{g}.prefill_capacity_factor"] = d.prefill_capacity_factor * factor
            out[f"served_models.{m}.deployments.{g}.decode_capacity_factor"] = d.decode_capacity_factor * factor
    return out


def ratio_claim(claim: PublishedClaim, sweep: pd.DataFrame) -> dict[str, Any]:
    volume = crossing_volume(sweep, claim.provisioning_ratio)
    return {
        "claim": claim.claim, "sources": claim.sources, "claimed_provisioning_ratio": claim.provisioning_ratio,
        "planner": sweep[["output_tokens_per_day", "provisioning_ratio"]].to_dict(orient="records"),
        "holds_below_output_tokens_per_day": volume,
        "verdict": ("planner's ratio reaches it at no volume of the sweep" if volume is None else
                    f"planner's ratio is {claim.provisioning_ratio:g} or more below about {volume / 1e9:.3g} B output "
                    "tokens a day: whole units, redundancy and spares on a small fleet"),
    }


def cost_claim(inputs: Inputs, claim: PublishedClaim, cny_per_usd: float, solver: Mapping[str, Any] | None) -> dict:
    """The plan at the claimed volume, its month in CNY, and the throughput that would match the
    claimed machine cost (first order: cost ~ 1 / throughput; then solved again)."""
    solver = dict(solver or {})
    scale = daily_volume(inputs, compile_varied(inputs), claim.output_tokens_per_day)
    plan = plan_varied(inputs, scale, solver)
    month = DAYS_PER_MONTH * cny_per_usd * 24.0 / plan.data.horizon_hours  # the horizon's figures, per month
    cost, revenue = plan.totals.cost_usd.total * month, plan.totals.revenue_usd.total * month
    data = plan.data
    output_only = month * float((data.demand_tokens["output_tokens"] * data.prices_usd_per_mtok["output"]).sum()
                                / 1e6 / data.scenarios) * (1 - plan.totals.unserved_tokens.output_share)
    factor = cost / claim.monthly_machine_cost_cny
    check = plan_varied(inputs, {**scale, **_throughput_updates(inputs, factor)}, solver)
    checked = None if check.totals is None else check.totals.cost_usd.total * month
    return {
        "claim": claim.claim, "sources": claim.sources, "output_tokens_per_day": claim.output_tokens_per_day,
        "cny_per_usd": cny_per_usd,
        "claimed": {"monthly_machine_cost_cny": claim.monthly_machine_cost_cny,
                    "monthly_revenue_cny": claim.monthly_revenue_cny},
        "planner": {"status": plan.result.status, "leased_fleet": fleet_nodes(plan.totals),
                    "monthly_machine_cost_cny": cost, "monthly_revenue_cny": revenue,
                    "monthly_output_revenue_cny": output_only,
                    "usd_per_million_output_tokens": plan.totals.cost_usd.per_million_output_tokens},
        "throughput_share_for_the_claimed_cost": factor,
        "monthly_machine_cost_cny_at_that_throughput": checked,
        "verdict": (f"at the instance's per-node throughput the machines cost ¥{cost / 1e6:,.1f} M a month, "
                    f"{claim.monthly_machine_cost_cny / cost:.1f} times less than claimed; the claimed cost needs "
                    f"nodes doing about {100 * factor:.1f} % of that throughput (solved again at that throughput, "
                    f"whole units and spares included: ¥{(checked or 0) / 1e6:,.1f} M); the revenue at list prices is "
                    f"¥{revenue / 1e6:,.1f} M a month, of which the output tokens' ¥{output_only / 1e6:,.1f} M: the "
                    f"claimed ¥{(claim.monthly_revenue_cny or 0) / 1e6:,.0f} M counts the output alone"),
    }


def claims_study(inputs: Inputs, claims: Sequence[PublishedClaim], volumes: Sequence[float], cny_per_usd: float,
                 solver: Mapping[str, Any] | None = None, *, workers: int = 1, executor_kind: str = "process",
                 scheduler: str | None = None,
                 progress: Callable[[int, int], None] = lambda done, total: None) -> dict[str, Any]:
    """Each claim beside planner's figure (claims.json)."""
    out: list[dict[str, Any]] = []
    sweep = None
    if any(c.provisioning_ratio is not None for c in claims):
        sweep = scale_sweep(inputs, volumes, solver, workers=workers, executor_kind=executor_kind,
                            scheduler=scheduler, progress=progress)
    for claim in claims:
        if claim.provisioning_ratio is not None:
            out.append(ratio_claim(claim, sweep))
        if claim.monthly_machine_cost_cny is not None:
            out.append(cost_claim(inputs, claim, cny_per_usd, solver))
    return {"instance": inputs.spec.name, "claims": out}


def claims_markdown(record: Mapping[str, Any]) -> str:
    """claims.md: each claim, planner's figure and the verdict."""
    lines = [f"# Published claims against planner ({record['instance']})", ""]
    for c in record["claims"]:
        lines += [f"## {c['claim']}", "", f"Sources: {'; '.join(c['sources'])}", ""]
        if "claimed_provisioning_ratio" in c:
            lines += ["| output tokens a day | planner's provisioning ratio |", "|---:|---:|"]
            lines += [f"| {p['output_tokens_per_day'] / 1e9:g} B | {p['provisioning_ratio']:.2f} |" for p in c["planner"]]
        else:
            p, claimed = c["planner"], c["claimed"]
            lines += ["| figure | claimed | planner |", "|---|---:|---:|",
                      f"| machines, CNY a month | ¥{claimed['monthly_machine_cost_cny'] / 1e6:,.0f} M | "
                      f"¥{p['monthly_machine_cost_cny'] / 1e6:,.1f} M |",
                      f"| revenue, CNY a month | ¥{(claimed['monthly_revenue_cny'] or 0) / 1e6:,.0f} M | "
                      f"¥{p['monthly_revenue_cny'] / 1e6:,.1f} M (output alone ¥{p['monthly_output_revenue_cny'] / 1e6:,.1f} M) |",
                      f"| leased fleet | | {p['leased_fleet']:g} nodes |",
                      "", f"Exchange rate: ¥{c['cny_per_usd']:g} per USD; a month is {DAYS_PER_MONTH:g} days."]
        lines += ["", f"**Verdict:** {c['verdict']}.", ""]
    return "\n".join(lines)
