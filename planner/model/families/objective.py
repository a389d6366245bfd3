"""Objective: every family's costs less every family's values, in USD over the horizon."""

from __future__ import annotations

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family


@family(provides=("total_cost_usd",), consumes=("cost_usd", "value_usd"))
def add_objective(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """**Objective** `total_cost_usd` (minimize):

        sum_{c in cost_usd} c - sum_{v in value_usd} v

    The pools hold each family's terms: as costs, the owned fleet a_g H F_g and the rented
    node-hours (fleet), the penalty on unserved tokens (serving_capacity), the TTFT shortfall
    (ttft_minimum_units), moves (switching) and checkpoints (training_jobs); as values, the jobs
    done (training_jobs) and the harvested node-hours (training_harvest). Without the optional
    families the objective is

        sum_g a_g H F_g + (1/S) [ sum_{g,t} b_g Delta R_{g,t} + sum_{m,r,t} p_r D_{m,r,t} s_{m,r,t} ]

    With S equally likely demand scenarios, per-period terms are weighted 1/S: the owned fleet
    (first stage) plus the expected second stage. The training terms carry no 1/S: training is
    refused with S > 1. Spares and the chance constraint's binaries have no term of their own.
    """
    model.total_cost_usd = pyo.Objective(expr=sum(pools["cost_usd"]) - sum(pools["value_usd"]), sense=pyo.minimize)
