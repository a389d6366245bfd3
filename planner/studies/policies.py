"""Simple policies an optimized plan is measured against, scored by the same economics: an
hour-by-hour greedy autoscaler and its peak held all day."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..physics.data import PlanningData
from ..results.economics import Evaluation, evaluate
from ..units import ROLES


def greedy_allocation(data: PlanningData) -> pd.DataFrame:
    """Hour by hour, each role of each model on its cheapest node type per token: whole units
    for the demand, at least the TTFT minimum; nothing planned ahead (no forming time, no
    minimum up time, no training, no owned fleet chosen)."""
    rows = []
    for m in data.served_models:
        for r in ROLES:
            demand = data.role_demand_mtok(m, r)
            options = []
            for g in data.deployed_types(m):
                node = data.node_type(g)
                rate = node.rental_usd_per_node_hour if node.rental_max_nodes != 0 else node.owned_usd_per_node_hour
                units = np.ceil(demand / data.unit_capacity_mtok[(m, g, r)] - 1e-9)
                if r == "prefill":
                    units = np.maximum(units, data.min_prefill_units[(m, g)])
                options.append((rate * data.unit_nodes[(m, g, r)] * units.sum(), g, units))
            _, g, units = min(options, key=lambda o: o[0])
            rows += [{"served_model": m, "node_type": g, "role": r, "period": t, "nodes": u * data.unit_nodes[(m, g, r)]}
                     for t, u in enumerate(units)]
    return pd.DataFrame(rows)


def policy_evaluation(data: PlanningData, allocation: pd.DataFrame, peak: bool = False) -> Evaluation:
    """Economics of a policy: rentable types rented by the hour, others owned at their peak; with
    `peak`, every (model, type, role) holds its peak all day."""
    if peak:
        allocation = allocation.copy()
        allocation["nodes"] = allocation.groupby(["served_model", "node_type", "role"])["nodes"].transform("max")
    per_type = allocation.groupby(["node_type", "period"])["nodes"].sum().reset_index()
    owned, rented = {}, []
    for g, rows in per_type.groupby("node_type"):
        if data.node_type(g).rental_max_nodes != 0:
            rented.append(rows.rename(columns={"nodes": "rented_nodes"}))
        else:
            owned[g] = rows["nodes"].max()
    rented_frame = pd.concat(rented) if rented else pd.DataFrame(columns=["node_type", "period", "rented_nodes"])
    return evaluate(data, allocation, pd.Series(owned, dtype=float), rented_frame)
