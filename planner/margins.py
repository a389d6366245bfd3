"""From the theoretical margin to what a business keeps: a waterfall, per-model gross margins,
marginal cost from LP duals, break-even price and volume.

The waterfall starts from a schedule's GPU rent and its theoretical revenue (every token at the
list price of the instance's served model) and applies one assumption at a time, in the order
of WATERFALL_STEPS; every step is optional and says its source or that it is an assumption.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from .economics import Evaluation, cost_profit_margin
from .instance import TOKENS_PER_MTOK, PlanningData, window_share
from .margin_assumptions import MarginAssumptions, Ownership
from .report import pyplot, save_figure

WATERFALL_STEPS = ("model_mix", "paid_share", "night_discount", "power", "bandwidth", "people", "ownership")
HOURS_PER_YEAR = 8760.0


def ownership_usd_per_node_hour(o: Ownership) -> float:
    """Capital recovery: capex x r / (1 - (1 + r)^-n) per year, over 8,760 hours (r = 0: capex / n)."""
    r, n = o.cost_of_capital, o.lifetime_years
    annual = o.capex_usd_per_node / n if r == 0 else o.capex_usd_per_node * r / (1 - (1 + r) ** -n)
    return annual / HOURS_PER_YEAR


@dataclass(frozen=True)
class Step:
    name: str
    revenue_usd: float
    cost_usd: float
    note: str
    revenue_without_output_usd: float = 0.0

    def break_even_output_factor(self) -> float | None:
        """The factor on every output price at which this step's revenue equals its cost."""
        output = self.revenue_usd - self.revenue_without_output_usd
        return (self.cost_usd - self.revenue_without_output_usd) / output if output > 0 else None

    @property
    def cost_profit(self) -> float | None:
        return cost_profit_margin(self.revenue_usd, self.cost_usd)


def _token_revenue(data: PlanningData, schedule: pd.DataFrame, prices: dict[str, np.ndarray]) -> float:
    """Revenue of the served tokens (all served models together) at per-period prices $/Mtok."""
    d = data.demand_tokens
    hits = d["input_cache_hit_tokens"].sum(axis=0) / TOKENS_PER_MTOK
    misses = (d["input_tokens"] - d["input_cache_hit_tokens"]).sum(axis=0) / TOKENS_PER_MTOK
    outputs = d["output_tokens"].sum(axis=0) / TOKENS_PER_MTOK
    served_in = 1 - np.divide(schedule["unserved_input_tokens"], schedule["input_tokens"],
                              out=np.zeros(len(schedule)), where=schedule["input_tokens"].to_numpy() > 0)
    served_out = 1 - np.divide(schedule["unserved_output_tokens"], schedule["output_tokens"],
                               out=np.zeros(len(schedule)), where=schedule["output_tokens"].to_numpy() > 0)
    return float(((hits * prices["input_cache_hit"] + misses * prices["input_cache_miss"]) * served_in
                  + outputs * prices["output"] * served_out).sum()) / data.scenarios


def _prices(data: PlanningData, a: MarginAssumptions, mix: bool, night: bool) -> dict[str, np.ndarray]:
    """Per-period prices of the whole traffic: the instance's own prices, or with the model mix,
    (1 - v3 share) x the instance's list + v3 share x V3's list; with the night discount, each
    multiplied in its window by its factor (time-weighted within a period)."""
    own = {k: v[0].astype(float) for k, v in data.prices_usd_per_mtok.items()}
    share = a.model_mix.v3_token_share if mix else 0.0
    window = window_share(data.period_starts, data.period_hours, a.night_discount.start,
                          a.night_discount.end) if night else np.zeros(data.periods)
    out = {}
    for kind, r1 in own.items():
        v3 = getattr(a.model_mix.v3_prices_usd_per_million_tokens, kind) * np.ones(data.periods) if mix else 0.0
        r1_factor = 1 - window * (1 - a.night_discount.r1_price_factor) if night else 1.0
        v3_factor = 1 - window * (1 - a.night_discount.v3_price_factor) if night else 1.0
        out[kind] = (1 - share) * r1 * r1_factor + share * v3 * v3_factor
    return out


def waterfall(data: PlanningData, plan: Evaluation, a: MarginAssumptions,
              revenue_anchor_usd: float | None = None) -> list[Step]:
    """The margin, one assumption at a time, in the order of WATERFALL_STEPS. Revenue is scaled
    so that the first step equals `revenue_anchor_usd` when given (the published $562,027),
    keeping every step's ratio. Costs: the schedule's cost (GPU rent), then power on busy and
    idle node-hours x PUE, bandwidth per token and per node-day, people per day, and last the
    rent replaced by ownership (capital recovery per node-hour) on the same node-hours."""
    s = plan.schedule
    hours = data.period_hours
    per = 1.0 / data.scenarios
    busy = float(s["serving_nodes"].sum()) * hours * per
    idle = float((s["idle_nodes"] + s["training_nodes"]).sum()) * hours * per
    tokens_mtok = float((s["input_tokens"] - s["unserved_input_tokens"] + s["output_tokens"]
                         - s["unserved_output_tokens"]).sum()) * per / TOKENS_PER_MTOK
    rent = plan.totals["cost_usd"]["total"]
    applied: set[str] = set()

    def revenue(output_factor: float = 1.0) -> float:
        prices = _prices(data, a, "model_mix" in applied, "night_discount" in applied)
        prices["output"] = prices["output"] * output_factor
        paid = a.paid_share.paid_token_share if "paid_share" in applied else 1.0
        return _token_revenue(data, s, prices) * paid

    scale = revenue_anchor_usd / revenue() if revenue_anchor_usd else 1.0

    def step(name: str, cost: float, note: str) -> Step:
        return Step(name, revenue() * scale, cost, note, revenue(0.0) * scale)

    cost = rent
    steps = [step("theoretical revenue and GPU rent", cost,
                  "every token at the instance's list prices; nodes at the rental rate")]
    for name in WATERFALL_STEPS:
        item = getattr(a, name)
        if item is None:
            continue
        note = item.source or "assumption"
        applied.add(name)
        if name == "power":
            kwh = (busy * item.kw_per_node_busy + idle * item.kw_per_node_idle) * item.pue
            cost += kwh * item.usd_per_kwh
        elif name == "bandwidth":
            cost += item.usd_per_million_tokens * tokens_mtok + item.usd_per_node_day * (busy + idle) / 24.0
        elif name == "people":
            cost += item.usd_per_day * data.horizon_hours / 24.0
        elif name == "ownership":
            owned, rented = ownership_usd_per_node_hour(item), rent / busy if busy else 0.0
            cost += (owned - rented) * busy
            note += f"; ${owned:.2f} per node-hour owned against ${rented:.2f} rented"
        steps.append(step(name.replace("_", " "), cost, note))
    return steps


def marginal_costs(data: PlanningData, model: pyo.ConcreteModel) -> pd.DataFrame:
    """$ per million tokens of one more token in each (served model, role, period).

    The solved model's owned fleet is fixed; serving units, rented nodes and every other
    integer are relaxed to continuous values, and the LP re-solved for the duals of the
    serving_capacity rows. Those rows are divided by their demand D (RHS 1), so the marginal
    cost per million tokens is dual / D (times S with S equally likely scenarios, whose rows
    carry 1/S of the objective). The availability and TTFT floors grow with demand (to first
    order in proportion), so their rows' duals are added: when a floor binds, it carries the cost. (With the units themselves fixed, a row's dual would be
    0 or the unserved penalty: the LP would only say whether the plan has slack.)
    """
    from pyomo.contrib.solver.common.factory import SolverFactory

    for g in model.NODE_TYPES:
        model.owned_nodes[g].fix(round(pyo.value(model.owned_nodes[g])))
    for var in model.component_data_objects(pyo.Var):
        if var.is_continuous():
            continue  # fixed integers are relaxed too: HiGHS gives no duals while any column is integer
        lower, upper = var.lb, var.ub  # the domain's bounds included
        var.domain = pyo.Reals
        var.setlb(lower)
        var.setub(upper)
    results = SolverFactory("highs").solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False)
    results.solution_loader.load_vars()
    duals = results.solution_loader.get_duals()
    rows = []
    floors = [getattr(model, name) for name in ("availability_units", "ttft_minimum_units") if hasattr(model, name)]
    for (m, r, t), con in model.serving_capacity.items():
        demand = data.role_demand_mtok(m, r)[t]
        dual = duals.get(con, 0.0)
        for rows_of_floor in floors:  # floors that scale with demand carry part of the cost
            key = (m, r, t) if rows_of_floor.name == "availability_units" else ((m, t) if r == "prefill" else None)
            if key is not None and key in rows_of_floor:
                dual += duals.get(rows_of_floor[key], 0.0)
        rows.append({"served_model": m, "role": r, "period": t,
                     "usd_per_million_tokens": dual * data.scenarios / demand})
    return pd.DataFrame(rows)


def gross_margins_by_price_list(data: PlanningData, plan: Evaluation, a: MarginAssumptions,
                                revenue_anchor_usd: float | None) -> dict[str, dict[str, float]]:
    """Gross margin (revenue - GPU rent) / revenue with every served token at one list: the
    instance's own (R1 on the reference day) and, with a model mix, V3's. On the reference day
    these are the articles' "about 85 % for R1 and 70 % for V3": all traffic paid, at list
    prices, no discount, GPU rent the only cost."""
    s, rent = plan.schedule, plan.totals["cost_usd"]["total"]
    own = _token_revenue(data, s, {k: v[0] * np.ones(data.periods) for k, v in data.prices_usd_per_mtok.items()})
    scale = revenue_anchor_usd / own if revenue_anchor_usd else 1.0
    lists = {"instance list (R1 on the reference day)": own * scale}
    if a.model_mix is not None:
        v3 = a.model_mix.v3_prices_usd_per_million_tokens
        lists["V3 list"] = _token_revenue(data, s, {k: getattr(v3, k) * np.ones(data.periods)
                                                   for k in ("input_cache_hit", "input_cache_miss", "output")}) * scale
    return {name: {"revenue_usd": rev, "gpu_rent_usd": rent, "gross_margin": (rev - rent) / rev if rev else None}
            for name, rev in lists.items()}


def waterfall_chart(path, columns: dict[str, list[Step]], title: str) -> None:
    """Cost-profit margin after each step, one panel per schedule."""
    plt = pyplot()

    fig, axes = plt.subplots(1, len(columns), figsize=(6.5 * len(columns), 4.6), dpi=110, squeeze=False)
    for ax, (label, steps) in zip(axes[0], columns.items()):
        margins = [100 * (st.cost_profit or 0.0) for st in steps]
        colours = ["#4C72B0"] + ["#C44E52" if b < a else "#55A868" for a, b in zip(margins, margins[1:])]
        ax.bar(range(len(steps)), margins, color=colours)
        for i, value in enumerate(margins):
            ax.text(i, value, f"{value:.0f} %", ha="center", va="bottom" if value >= 0 else "top", fontsize=8)
        ax.set_xticks(range(len(steps)))
        ax.set_xticklabels([st.name for st in steps], rotation=35, ha="right", fontsize=8)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel("cost-profit margin after the step, %")
        ax.set_title(label)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(title)
    save_figure(fig, path)


def marginal_cost_chart(path, data: PlanningData, costs: pd.DataFrame, a: MarginAssumptions, title: str) -> None:
    """Marginal cost of output and input tokens per hour against the output price schedule."""
    plt = pyplot()

    x = np.arange(data.horizon_periods) * data.period_hours
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=110)
    for (m, role), rows in costs.groupby(["served_model", "role"]):
        mean = rows.groupby(rows["period"] % data.horizon_periods)["usd_per_million_tokens"].mean()
        ax.step(x, mean.reindex(range(data.horizon_periods)).to_numpy(), where="post",
                label=f"marginal cost, {role} ({m}), $ per M {'output' if role == 'decode' else 'input'} tokens")
    list_output = data.prices_usd_per_mtok["output"][0][: data.horizon_periods]
    ax.step(x, list_output, where="post", color="black", linestyle="--", label="output list price")
    if a.night_discount is not None:
        night = window_share(data.period_starts[: data.horizon_periods], data.period_hours,
                             a.night_discount.start, a.night_discount.end)
        ax.step(x, list_output * (1 - night * (1 - a.night_discount.r1_price_factor)), where="post",
                color="grey", linestyle=":", label="output price with the night discount")
    ticks = np.arange(0, data.horizon_periods, max(1, data.horizon_periods // 12))
    ax.set_xticks(ticks * data.period_hours)
    ax.set_xticklabels(data.period_starts[ticks].strftime("%H:%M"))
    ax.set_yscale("log")
    ax.set_ylabel("USD per million tokens")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    save_figure(fig, path)


def study(instance, overrides=(), volumes=(), **solver: Any) -> dict[str, Any]:
    """Everything `planner margins` reports, as one JSON-ready record (plus the tables)."""
    from .api import compare_with_reference
    from .economics import evaluate_plan
    from .errors import PlanningError
    from .instance import load_instance
    from .reseller import break_even_volume, scale_sweep
    from .solve import no_plan_reason, solve, solver_options

    data = load_instance(instance, overrides)
    assumptions = data.spec.margins or MarginAssumptions()
    result = solve(data, solver_options(data, **solver), keep_model=True)
    if not result.has_plan:
        raise PlanningError(no_plan_reason(result))
    plan = evaluate_plan(data, result.tables)
    comparison = compare_with_reference(data)
    anchor = comparison.figures["revenue_usd"] if comparison else None
    schedules = {"optimized plan": plan}
    if comparison is not None and comparison.evaluation is not None:
        schedules = {"published schedule": comparison.evaluation, **schedules}
    waterfalls = {label: waterfall(data, evaluation, assumptions, anchor) for label, evaluation in schedules.items()}
    costs = marginal_costs(data, result.model)
    sweep = scale_sweep(instance, volumes, overrides, **solver) if volumes else None
    record = {
        "instance": data.name,
        "revenue_anchor_usd": anchor,
        "waterfall": {label: [{"step": st.name, "revenue_usd": st.revenue_usd, "cost_usd": st.cost_usd,
                               "cost_profit_margin": st.cost_profit,
                               "gross_margin": (st.revenue_usd - st.cost_usd) / st.revenue_usd if st.revenue_usd else None,
                               "break_even_output_price_factor": st.break_even_output_factor(),
                               "note": st.note} for st in steps]
                      for label, steps in waterfalls.items()},
        "gross_margin_by_price_list": {label: gross_margins_by_price_list(data, ev, assumptions, anchor)
                                       for label, ev in schedules.items()},
        "list_output_price_usd_per_million": float(data.prices_usd_per_mtok["output"][0][0]),
        "marginal_cost_usd_per_million_tokens": {
            f"{m} {role}": {"min": float(rows["usd_per_million_tokens"].min()),
                            "mean": float(rows["usd_per_million_tokens"].mean()),
                            "max": float(rows["usd_per_million_tokens"].max())}
            for (m, role), rows in costs.groupby(["served_model", "role"])},
        "break_even_output_tokens_per_day": break_even_volume(sweep) if sweep is not None else None,
        "volume_sweep": sweep.to_dict(orient="records") if sweep is not None else None,
    }
    return {"record": record, "data": data, "waterfalls": waterfalls, "marginal_costs": costs,
            "assumptions": assumptions}
