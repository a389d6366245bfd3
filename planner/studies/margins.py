"""From the theoretical margin to what a business keeps: a waterfall, per-model gross margins,
marginal cost from LP duals, break-even price and volume.

The waterfall starts from a schedule's GPU rent and its theoretical revenue (every served token
at its served model's list prices, as `planner solve` prices it) and applies one assumption at a
time, in the order of WATERFALL_STEPS; every step is optional and says its source or that it is
an assumption.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import PlanningError
from ..io.inputs import Inputs
from ..io.schema.margins import MarginAssumptions, Ownership
from ..model.duals import RUNS, marginal_costs
from ..physics.clock import window_share
from ..physics.data import PlanningData
from ..results.economics import Evaluation, cost_profit_margin, fleet_nodes_per_period, gross_margin, revenue_usd
from ..units import HOURS_PER_DAY, HOURS_PER_YEAR, PRICE_KINDS, TOKENS_PER_MTOK
from .points import compile_varied, plan_data
from .reseller import break_even_volume, scale_sweep

WATERFALL_STEPS = ("model_mix", "paid_share", "night_discount", "ownership", "power", "bandwidth", "people")


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

    @property
    def record(self) -> dict[str, Any]:
        return {"step": self.name, "revenue_usd": self.revenue_usd, "cost_usd": self.cost_usd,
                "cost_profit_margin": self.cost_profit, "gross_margin": gross_margin(self.revenue_usd, self.cost_usd),
                "break_even_output_price_factor": self.break_even_output_factor(), "note": self.note}


def token_revenue_usd(data: PlanningData, plan: Evaluation, prices: Mapping[str, np.ndarray]) -> float:
    """Revenue of a schedule's served tokens (every served model) at prices [model, period] in
    $/Mtok; expected over scenarios."""
    return float(revenue_usd(data, plan.served_share, prices).sum()) / data.scenarios


def _prices(data: PlanningData, a: MarginAssumptions, mix: bool, night: bool) -> dict[str, np.ndarray]:
    """Per-period prices [model, period] of the whole traffic: each served model's own prices, or
    with the model mix, (1 - v3 share) x its own + v3 share x V3's list; with the night discount,
    each multiplied in its window by its factor (its own, else `r1_price_factor`; time-weighted
    within a period)."""
    share = a.model_mix.v3_token_share if mix else 0.0
    discount = a.night_discount
    window = window_share(data.period_starts, data.period_hours, discount.start, discount.end) if night \
        else np.zeros(data.periods)
    own_factors = np.array([[discount.price_factor_by_served_model.get(m, discount.r1_price_factor)]
                            for m in data.served_models]) if night else np.ones((len(data.served_models), 1))
    out = {}
    for kind in PRICE_KINDS:
        own = np.asarray(data.prices_usd_per_mtok[kind], dtype=float)
        v3 = getattr(a.model_mix.v3_prices_usd_per_million_tokens, kind) * np.ones(data.periods) if mix else 0.0
        own_factor = 1 - window * (1 - own_factors)
        v3_factor = 1 - window * (1 - discount.v3_price_factor) if night else 1.0
        out[kind] = (1 - share) * own * own_factor + share * v3 * v3_factor
    return out


@dataclass(frozen=True)
class OwnedHours:
    """A schedule's node-hours on an owned fleet, expected over scenarios: the fleet is the
    schedule's peak (owned + rented nodes), owned for every hour of the horizon; each of its
    node-hours serves, trains, or is idle."""

    fleet_nodes: float
    serving: float
    training: float
    idle: float

    @property
    def all(self) -> float:
        return self.serving + self.training + self.idle


def owned_hours(data: PlanningData, plan: Evaluation) -> OwnedHours:
    s = plan.schedule
    per = 1.0 / data.scenarios
    fleet = float(fleet_nodes_per_period(s).max())
    serving = float(s["serving_nodes"].sum()) * data.period_hours * per
    training = float(s["training_nodes"].sum()) * data.period_hours * per
    return OwnedHours(fleet, serving, training, max(fleet * data.horizon_hours - serving - training, 0.0))


def waterfall(data: PlanningData, plan: Evaluation, a: MarginAssumptions,
              revenue_anchor_usd: float | None = None) -> list[Step]:
    """The margin, one assumption at a time, in the order of WATERFALL_STEPS.

    Revenue: every served token at its served model's list, scaled so that the first step equals
    `revenue_anchor_usd` when given (the published $562,027), keeping every step's ratio; then
    the model mix, the paid share and the night discount.

    Cost, on one basis, never both: the schedule's GPU cost as an **all-in rent** (power, network
    and the data centre included: `power` and `bandwidth` add nothing), or, with `ownership`,
    **ownership first**: the rent is replaced by capital recovery k on every node-hour of the
    owned fleet (the schedule's peak F, owned for the whole horizon H: k F H), then power by what
    each owned node-hour does (serving at kW_busy, training at kW_training, idle at kW_idle, times
    PUE and the price of a kWh), then bandwidth per served token and per owned node-day. With
    `ownership.idle_and_training_hours_to: training`, the capital, power and per-node bandwidth of
    the node-hours that do not serve are charged to training and left out, and the step says how
    much. People per day last, on either basis.
    """
    s = plan.schedule
    per = 1.0 / data.scenarios
    tokens_mtok = float((s["input_tokens"] - s["unserved_input_tokens"] + s["output_tokens"]
                         - s["unserved_output_tokens"]).sum()) * per / TOKENS_PER_MTOK
    hours = owned_hours(data, plan)
    owned_basis = a.ownership is not None
    to_training = owned_basis and a.ownership.idle_and_training_hours_to == "training"
    charged = hours.serving if to_training else hours.all  # owned node-hours the service pays for
    rent = plan.totals.cost_usd.total
    applied: set[str] = set()

    def revenue(output_factor: float = 1.0) -> float:
        prices = _prices(data, a, "model_mix" in applied, "night_discount" in applied)
        prices["output"] = prices["output"] * output_factor
        paid = a.paid_share.paid_token_share if "paid_share" in applied else 1.0
        return token_revenue_usd(data, plan, prices) * paid

    scale = revenue_anchor_usd / revenue() if revenue_anchor_usd else 1.0

    def step(name: str, cost: float, note: str) -> Step:
        return Step(name, revenue() * scale, cost, note, revenue(0.0) * scale)

    cost = rent
    steps = [step("theoretical revenue and GPU rent", cost,
                  "every token at its served model's list prices; nodes at the rental rate, all-in")]
    for name in WATERFALL_STEPS:
        item = getattr(a, name)
        if item is None:
            continue
        note = item.source or "assumption"
        applied.add(name)
        if name == "ownership":
            k = ownership_usd_per_node_hour(item)
            cost += k * charged - rent
            note += (f"; ${k:.2f} per owned node-hour on {hours.fleet_nodes:g} nodes x {data.horizon_hours:g} h, "
                     f"instead of ${rent:,.0f} of rent")
            if to_training:
                note += f"; ${k * (hours.all - hours.serving):,.0f} of it on idle and training hours charged to training"
        elif name in ("power", "bandwidth") and not owned_basis:
            note += "; included in the all-in rent: nothing added"
        elif name == "power":
            training_kw = item.kw_per_node_training if item.kw_per_node_training is not None else item.kw_per_node_busy
            kw_hours = hours.serving * item.kw_per_node_busy
            if not to_training:
                kw_hours += hours.training * training_kw + hours.idle * item.kw_per_node_idle
            cost += kw_hours * item.pue * item.usd_per_kwh
        elif name == "bandwidth":
            cost += item.usd_per_million_tokens * tokens_mtok + item.usd_per_node_day * charged / HOURS_PER_DAY
        elif name == "people":
            cost += item.usd_per_day * data.horizon_hours / HOURS_PER_DAY
        steps.append(step(name.replace("_", " "), cost, note))
    return steps


def gross_margins_by_price_list(data: PlanningData, plan: Evaluation, a: MarginAssumptions,
                                revenue_anchor_usd: float | None) -> dict[str, dict[str, float]]:
    """Gross margin (revenue - GPU rent) / revenue with every served token at one list: the
    instance's own (R1 on the reference day) and, with a model mix, V3's. On the reference day
    these are the articles' "about 85 % for R1 and 70 % for V3": all traffic paid, at list
    prices, no discount, GPU rent the only cost."""
    rent = plan.totals.cost_usd.total
    own = token_revenue_usd(data, plan, data.prices_usd_per_mtok)
    scale = revenue_anchor_usd / own if revenue_anchor_usd else 1.0
    lists = {"instance list (R1 on the reference day)": own * scale}
    if a.model_mix is not None:
        v3 = a.model_mix.v3_prices_usd_per_million_tokens
        shape = (len(data.served_models), data.periods)
        lists["V3 list"] = token_revenue_usd(data, plan, {k: getattr(v3, k) * np.ones(shape) for k in PRICE_KINDS}) * scale
    return {name: {"revenue_usd": rev, "gpu_rent_usd": rent, "gross_margin": (rev - rent) / rev if rev else None}
            for name, rev in lists.items()}


@dataclass(frozen=True)
class MarginsStudy:
    """Everything `planner margins` reports (margins.json is `record`)."""

    data: PlanningData
    assumptions: MarginAssumptions
    revenue_anchor_usd: float | None
    waterfalls: dict[str, list[Step]]
    gross_margins: dict[str, dict[str, dict[str, float]]]
    marginal_costs: pd.DataFrame
    volume_sweep: pd.DataFrame | None

    @property
    def list_output_price_usd_per_million(self) -> float | None:
        """The served model's output list price, which the break-even factors multiply; None with
        several served models (each has its own list: the factor is the figure)."""
        if len(self.data.served_models) > 1:
            return None
        return float(self.data.prices_usd_per_mtok["output"][0][0])

    @property
    def break_even_output_tokens_per_day(self) -> float | None:
        return break_even_volume(self.volume_sweep) if self.volume_sweep is not None else None

    @property
    def record(self) -> dict[str, Any]:
        costs = self.marginal_costs
        return {
            "instance": self.data.name,
            "revenue_anchor_usd": self.revenue_anchor_usd,
            "waterfall": {label: [st.record for st in steps] for label, steps in self.waterfalls.items()},
            "gross_margin_by_price_list": self.gross_margins,
            "list_output_price_usd_per_million": self.list_output_price_usd_per_million,
            "marginal_cost_usd_per_million_tokens": {
                run: {f"{m} {role}": {"min": float(rows["usd_per_million_tokens"].min()),
                                      "mean": float(rows["usd_per_million_tokens"].mean()),
                                      "max": float(rows["usd_per_million_tokens"].max())}
                      for (m, role), rows in by_run.groupby(["served_model", "role"], sort=False)}
                for run, by_run in costs.groupby("run", sort=False)},
            "break_even_output_tokens_per_day": self.break_even_output_tokens_per_day,
            "volume_sweep": self.volume_sweep.to_dict(orient="records") if self.volume_sweep is not None else None,
        }


def study(inputs: Inputs, volumes: Sequence[float] = (), solver: Mapping[str, Any] | None = None, *,
          workers: int = 1, executor_kind: str = "process", scheduler: str | None = None,
          progress: Callable[[int, int], None] = lambda done, total: None) -> MarginsStudy:
    """The plan, the waterfalls of the published schedule (when the instance names one) and of the
    plan, gross margins per price list, marginal costs, and the break-even volume."""
    data = compile_varied(inputs)
    assumptions = inputs.spec.margins or MarginAssumptions()
    outcome = plan_data(data, {k: v for k, v in (solver or {}).items() if v is not None})
    if outcome.totals is None:
        raise PlanningError(outcome.result.no_plan_reason())
    comparison = outcome.comparison
    anchor = comparison.figures.revenue_usd if comparison else None
    schedules = {"optimized plan": outcome.plan}
    if comparison is not None and comparison.evaluation is not None:
        schedules = {"published schedule": comparison.evaluation, **schedules}
    sweep = scale_sweep(inputs, volumes, solver, workers=workers, executor_kind=executor_kind, scheduler=scheduler,
                        progress=progress) if volumes else None
    return MarginsStudy(
        data=data,
        assumptions=assumptions,
        revenue_anchor_usd=anchor,
        waterfalls={label: waterfall(data, evaluation, assumptions, anchor) for label, evaluation in schedules.items()},
        gross_margins={label: gross_margins_by_price_list(data, ev, assumptions, anchor)
                       for label, ev in schedules.items()},
        marginal_costs=pd.concat([marginal_costs(data, outcome.result.tables, run).table.assign(run=run)
                                  for run in RUNS], ignore_index=True),
        volume_sweep=sweep,
    )
