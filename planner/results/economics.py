"""Cost, revenue and margins of a schedule: an optimized plan or a given one (the published day).

One function, `evaluate`, scores any allocation of nodes to (served model, node type, role,
period) against an instance's demand and prices, so that the plan, the published schedule and
every study are measured by the same code; `revenue_usd` is the one place tokens are priced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..physics.data import PlanningData
from ..units import ROLES, TOKENS_PER_MTOK


# ---------------------------------------------------------------------------------------------
# Typed figures (their field names are summary.json's keys, docs/formats.md)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeFigures:
    """Nodes per period, averaged over the horizon (and over scenarios)."""

    mean: float  # serving
    peak: float  # serving, over every scenario
    mean_prefill: float
    mean_decode: float
    mean_training: float
    mean_idle: float
    mean_fleet: float
    node_hours: float  # serving, expected over scenarios


@dataclass(frozen=True)
class FleetFigures:
    owned: dict[str, int | float]
    rented_peak: dict[str, int | float]
    peak_total: int | float
    reserved_peak: dict[str, int | float] = field(default_factory=dict)  # types with reserved contracts


@dataclass(frozen=True)
class CostFigures:
    """USD over the horizon (expected over scenarios)."""

    total: float
    owned: float
    rental: float
    per_million_output_tokens: float | None
    reserved: float = 0.0


@dataclass(frozen=True)
class RevenueFigures:
    total: float
    by_served_model: dict[str, float]


@dataclass(frozen=True)
class Margin:
    cost_profit: float | None  # (revenue - cost) / cost: the published "545 %"
    gross: float | None  # (revenue - cost) / revenue


@dataclass(frozen=True)
class UnservedTokens:
    input: float
    output: float
    input_share: float
    output_share: float


@dataclass(frozen=True)
class TrainingFigures:
    node_hours: float
    share_of_fleet_hours: float
    value_usd: float
    jobs_value_usd: float
    harvest_value_usd: float
    harvest_node_hours: float
    jobs_done: int
    jobs_total: int
    nodes_moved: int
    switching_cost_usd: float


@dataclass(frozen=True)
class Totals:
    nodes: NodeFigures
    fleet: FleetFigures
    cost_usd: CostFigures
    revenue_usd: RevenueFigures
    margin: Margin
    unserved_tokens: UnservedTokens
    training: TrainingFigures | None = None


@dataclass(frozen=True)
class Evaluation:
    """Per-period schedule (one row per period), the served share of every (model, role), and totals."""

    schedule: pd.DataFrame
    served_share: Mapping[tuple[str, str], np.ndarray]  # (model, role) -> [period]
    totals: Totals


def cost_profit_margin(revenue_usd: float, cost_usd: float) -> float | None:
    """(revenue - cost) / cost: the published '545 %' figure. None when nothing was spent."""
    return (revenue_usd - cost_usd) / cost_usd if cost_usd > 0 else None


def gross_margin(revenue_usd: float, cost_usd: float) -> float | None:
    """(revenue - cost) / revenue. None without revenue."""
    return (revenue_usd - cost_usd) / revenue_usd if revenue_usd > 0 else None


def per_period(rows: pd.DataFrame, column: str, periods: int) -> np.ndarray:
    """A plan table's column as an array over the periods (0 where the rows have no period)."""
    out = np.zeros(periods)
    out[rows["period"].to_numpy()] = rows[column].to_numpy(dtype=float)
    return out


def capacity_mtok(data: PlanningData, allocation: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """Million tokens each (served model, role) can serve per period from `allocation`'s nodes.

    A node serves 1/u of a unit's capacity; fractional node counts (a published step that
    changes inside an hour) serve in proportion to their time.
    """
    out = {(m, r): np.zeros(data.periods) for m in data.served_models for r in ROLES}
    for (m, g, r), rows in allocation.groupby(["served_model", "node_type", "role"]):
        nodes = per_period(rows, "nodes", data.periods)
        out[(m, r)] += nodes * data.unit_capacity_mtok[(m, g, r)] / data.unit_nodes[(m, g, r)]
    return out


def revenue_usd(data: PlanningData, served_share: Mapping[tuple[str, str], np.ndarray],
                prices: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Revenue [model, period] for the served share of each role's tokens, at per-period prices
    [model, period] in $/Mtok (default: the instance's, windows included).

    input:  (hit * p_hit + (input - hit) * p_miss) * served_share_prefill
    output: output * p_out * served_share_decode            (tokens in millions, p in $/Mtok)
    """
    d, p = data.demand_tokens, prices if prices is not None else data.prices_usd_per_mtok
    hits = d["input_cache_hit_tokens"] / TOKENS_PER_MTOK
    misses = (d["input_tokens"] - d["input_cache_hit_tokens"]) / TOKENS_PER_MTOK
    outputs = d["output_tokens"] / TOKENS_PER_MTOK
    share_in = np.vstack([served_share[(m, "prefill")] for m in data.served_models])
    share_out = np.vstack([served_share[(m, "decode")] for m in data.served_models])
    return ((hits * p["input_cache_hit"] + misses * p["input_cache_miss"]) * share_in
            + outputs * p["output"] * share_out)


def evaluate(data: PlanningData, allocation: pd.DataFrame, owned: pd.Series, rented: pd.DataFrame,
             training: Mapping[str, pd.DataFrame] | None = None,
             rental_prices: Mapping[str, float] | None = None, reserved: pd.DataFrame | None = None) -> Evaluation:
    """Score a schedule.

    allocation: rows (served_model, node_type, role, period, nodes); owned: nodes per node type
    for the horizon; rented: rows (node_type, period, rented_nodes). Cost per period is
    owned x a_g x Delta + rented x b_g x Delta (+ reserved x c_{g,c} x Delta); revenue counts
    served tokens only. `training` (optional): the training families' tables (training, moves,
    and jobs or harvest); `reserved` (optional): the reserved_contracts table (node_type,
    contract, term, reserved_nodes, usd_per_node_hour).
    """
    T, hours = data.periods, data.period_hours
    capacity = capacity_mtok(data, allocation)
    demand = {(m, r): data.role_demand_mtok(m, r) for m in data.served_models for r in ROLES}
    served = {k: np.minimum(demand[k], capacity[k]) for k in demand}
    share = {k: np.divide(served[k], demand[k], out=np.ones(T), where=demand[k] > 0) for k in demand}
    revenue = revenue_usd(data, share)

    role_nodes = {r: np.zeros(T) for r in ROLES}
    for r, rows in allocation.groupby("role"):
        np.add.at(role_nodes[r], rows["period"].to_numpy(), rows["nodes"].to_numpy(dtype=float))
    owned_nodes = np.full(T, float(sum(owned.get(g.name, 0) for g in data.node_types)))
    rented_nodes = np.zeros(T)
    np.add.at(rented_nodes, rented["period"].to_numpy(), rented["rented_nodes"].to_numpy(dtype=float))
    owned_cost = np.full(T, sum(owned.get(g.name, 0) * g.owned_usd_per_node_hour * hours for g in data.node_types))
    prices = rental_prices or {g.name: g.rental_usd_per_node_hour for g in data.node_types}
    rental_price = rented["node_type"].map(prices)
    rental_cost = np.zeros(T)
    np.add.at(rental_cost, rented["period"].to_numpy(), (rented["rented_nodes"] * rental_price * hours).to_numpy())
    reserved_nodes, reserved_cost = reserved_per_period(data, reserved)

    def role_total(values: dict[tuple[str, str], np.ndarray], role: str) -> np.ndarray:
        return sum(values[(m, role)] for m in data.served_models) * TOKENS_PER_MTOK

    serving = role_nodes["prefill"] + role_nodes["decode"]
    training_nodes = np.zeros(T)
    if training:
        np.add.at(training_nodes, training["training"]["period"].to_numpy(),
                  training["training"]["training_nodes"].to_numpy(dtype=float))
    schedule = pd.DataFrame({
        **({"scenario": np.arange(T) // data.horizon_periods} if data.scenarios > 1 else {}),
        "period": np.arange(T) % data.horizon_periods,
        "start": data.period_starts.strftime("%Y-%m-%dT%H:%M%z"),
        "prefill_nodes": role_nodes["prefill"],
        "decode_nodes": role_nodes["decode"],
        "training_nodes": training_nodes,
        "idle_nodes": owned_nodes + reserved_nodes + rented_nodes - serving - training_nodes,
        "serving_nodes": serving,
        "owned_nodes": owned_nodes,
        "rented_nodes": rented_nodes,
        **({"reserved_nodes": reserved_nodes} if reserved is not None else {}),
        "input_tokens": role_total(demand, "prefill"),
        "output_tokens": role_total(demand, "decode"),
        "input_capacity_tokens": role_total(capacity, "prefill"),
        "output_capacity_tokens": role_total(capacity, "decode"),
        "unserved_input_tokens": role_total({k: demand[k] - served[k] for k in demand}, "prefill"),
        "unserved_output_tokens": role_total({k: demand[k] - served[k] for k in demand}, "decode"),
        "cost_usd": owned_cost + reserved_cost + rental_cost,
        "revenue_usd": revenue.sum(axis=0),
    })
    totals = _totals(data, schedule, owned, rented, revenue,
                     training_totals(data, schedule, training) if training else None, reserved,
                     rental_usd=float(rental_cost.sum()) / data.scenarios)
    return Evaluation(schedule=schedule, served_share=share, totals=totals)


def reserved_per_period(data: PlanningData, reserved: pd.DataFrame | None,
                        node_type: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per period (of every scenario), the reserved nodes on hand (of one node type, or all) and
    what they cost: each contract's nodes of the term the period falls in, at its price for the
    period's hours."""
    nodes, cost = np.zeros(data.periods), np.zeros(data.periods)
    if reserved is None:
        return nodes, cost
    for row in reserved.itertuples(index=False):
        if node_type is not None and row.node_type != node_type:
            continue
        term = next(c.term_hours for c in data.node_type(row.node_type).reserved if c.name == row.contract)
        inside = np.array([data.term_of_period(t, term) == row.term for t in range(data.periods)])
        nodes += inside * row.reserved_nodes
        cost += inside * row.reserved_nodes * row.usd_per_node_hour * data.period_hours
    return nodes, cost


def fleet_nodes_per_period(schedule: pd.DataFrame) -> pd.Series:
    """Owned, reserved and rented nodes of each period of a schedule."""
    return schedule["owned_nodes"] + schedule["rented_nodes"] + schedule.get("reserved_nodes", 0)


def training_totals(data: PlanningData, schedule: pd.DataFrame, training: Mapping[str, pd.DataFrame]) -> TrainingFigures:
    """Training node-hours, their share of fleet hours, and their value: jobs done at their value,
    harvested node-hours at theirs less the share phi of each window's first period lost to moving."""
    hours = data.period_hours
    node_hours = float(schedule["training_nodes"].sum() * hours)
    fleet_hours = float(fleet_nodes_per_period(schedule).sum() * hours)
    jobs, harvest = training.get("jobs"), training.get("harvest")
    price = {g: h.usd_per_node_hour for g, h in data.training.harvest.items()}
    harvest_value = 0.0 if harvest is None else float(sum(
        price[row.node_type] * hours * (row.harvest_nodes - data.training.switch_share * row.opened_nodes)
        for row in harvest.itertuples(index=False)))
    done = (jobs.groupby("job", sort=False).agg(done=("done", "first"), value_usd=("value_usd", "sum")).reset_index()
            if jobs is not None else pd.DataFrame({"done": [], "value_usd": []}))
    moves = training["moves"]
    moved = moves["switched_in"].sum() + moves["switched_out"].sum()
    return TrainingFigures(
        node_hours=node_hours,
        share_of_fleet_hours=node_hours / fleet_hours if fleet_hours > 0 else 0.0,
        value_usd=float(done["value_usd"].sum()) + harvest_value,
        jobs_value_usd=float(done["value_usd"].sum()),
        harvest_value_usd=harvest_value,
        harvest_node_hours=0.0 if harvest is None else float(harvest["harvest_nodes"].sum() * hours),
        jobs_done=int(done["done"].sum()),
        jobs_total=int(len(done)),
        nodes_moved=int(moved),
        switching_cost_usd=float(data.training.usd_per_node_switch * moved),
    )


def _totals(data: PlanningData, s: pd.DataFrame, owned: pd.Series, rented: pd.DataFrame,
            revenue: np.ndarray, training: TrainingFigures | None, reserved: pd.DataFrame | None,
            rental_usd: float) -> Totals:
    """Totals over the horizon; with S scenarios, sums are divided by S (expectations) and the
    peaks are over every scenario."""
    per = 1.0 / data.scenarios
    cost = float(s["cost_usd"].sum()) * per
    income = float(s["revenue_usd"].sum()) * per
    served_output_mtok = float((s["output_tokens"] - s["unserved_output_tokens"]).sum()) * per / TOKENS_PER_MTOK
    owned_cost = float(sum(owned.get(g.name, 0) * g.owned_usd_per_node_hour for g in data.node_types)
                       * data.horizon_hours)
    peak_rented = rented.groupby("node_type")["rented_nodes"].max() if len(rented) else pd.Series(dtype=float)
    reserved_cost = 0.0 if reserved is None else float(
        (reserved["reserved_nodes"] * reserved["usd_per_node_hour"] * reserved["hours_in_horizon"]).sum())
    reserved_peak = ({} if reserved is None else
                     {g: _number(reserved_per_period(data, reserved, g)[0].max()) for g in reserved["node_type"].unique()})
    fleet = fleet_nodes_per_period(s)
    return Totals(
        nodes=NodeFigures(
            mean=float(s["serving_nodes"].mean()),
            peak=float(s["serving_nodes"].max()),
            mean_prefill=float(s["prefill_nodes"].mean()),
            mean_decode=float(s["decode_nodes"].mean()),
            mean_training=float(s["training_nodes"].mean()),
            mean_idle=float(s["idle_nodes"].mean()),
            mean_fleet=float(fleet.mean()),
            node_hours=float(s["serving_nodes"].sum() * data.period_hours) * per,
        ),
        fleet=FleetFigures(
            owned={g.name: _number(owned.get(g.name, 0)) for g in data.node_types},
            rented_peak={g.name: _number(peak_rented.get(g.name, 0)) for g in data.node_types},
            peak_total=_number(fleet.max()),
            reserved_peak=reserved_peak,
        ),
        cost_usd=CostFigures(
            total=cost,
            owned=owned_cost,
            rental=rental_usd,
            per_million_output_tokens=cost / served_output_mtok if served_output_mtok > 0 else None,
            reserved=reserved_cost,
        ),
        revenue_usd=RevenueFigures(
            total=income,
            by_served_model={m: float(revenue[k].sum()) * per for k, m in enumerate(data.served_models)},
        ),
        margin=Margin(cost_profit=cost_profit_margin(income, cost), gross=gross_margin(income, cost)),
        unserved_tokens=UnservedTokens(
            input=float(s["unserved_input_tokens"].sum()) * per,
            output=float(s["unserved_output_tokens"].sum()) * per,
            input_share=_share(s["unserved_input_tokens"].sum(), s["input_tokens"].sum()),
            output_share=_share(s["unserved_output_tokens"].sum(), s["output_tokens"].sum()),
        ),
        training=training,
    )


def _number(value: float) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() else value


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole > 0 else 0.0


TRAINING_TABLES = ("training", "moves", "jobs", "harvest")


def evaluate_plan(data: PlanningData, tables: Mapping[str, pd.DataFrame]) -> Evaluation:
    """Score a solved plan (the families' tables: units, owned, rented, and training's when it trains)."""
    owned = tables["owned"].set_index("node_type")["owned_nodes"]
    training = {k: tables[k] for k in TRAINING_TABLES if k in tables} if "training" in tables else None
    return evaluate(data, tables["units"], owned, tables["rented"], training, reserved=tables.get("reserved"))


def published_allocation(data: PlanningData, role_nodes: dict[str, np.ndarray]) -> dict[str, Any]:
    """A given node schedule (per role and period) as keyword arguments of `evaluate` on the
    instance's only deployment, every node paid per hour in service: the published accounting.
    The rate is the node type's rental price, or its owned price when it cannot be rented."""
    if len(data.deployments) != 1:
        raise ValueError("a published schedule is scored on an instance with one deployment")
    (m, g), = data.deployments
    periods = np.arange(data.periods)
    allocation = pd.concat([
        pd.DataFrame({"served_model": m, "node_type": g, "role": r, "period": periods, "nodes": role_nodes[r]})
        for r in ROLES
    ], ignore_index=True)
    rented = pd.DataFrame({"node_type": g, "period": periods,
                           "rented_nodes": role_nodes["prefill"] + role_nodes["decode"]})
    node = data.node_type(g)
    rate = node.rental_usd_per_node_hour if node.rental_max_nodes != 0 else node.owned_usd_per_node_hour
    return {"allocation": allocation, "owned": pd.Series({g: 0}), "rented": rented, "rental_prices": {g: rate}}
