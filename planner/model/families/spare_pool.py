"""Spare nodes: a pool that covers the nodes in repair, so that failed nodes are swapped, not waited for."""

from __future__ import annotations

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family


def _swaps_failed_nodes(data: PlanningData) -> bool:
    return bool(data.spare_ratio)


@family(applies=_swaps_failed_nodes, needs=("serving_nodes", "NODE_TYPES", "PERIODS"),
        provides=("spare_nodes", "spare_pool"), contributes=("nodes_off_serving",))
def add_spare_pool(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """**Constraint** spare_pool, **enforced over** (g, t) when failed nodes are swapped:

        spare_{g,t} >= rho_g serving_nodes_{g,t}          (spare_{g,t} in Z+)

    rho_g = spares per node in service (the availability-quantile of nodes in repair at once for
    the busiest period's nodes, physics.failures.spare_nodes). The spares are nodes of the
    fleet that do not serve (pool nodes_off_serving): the node balance counts them.
    """
    model.spare_nodes = pyo.Var(model.NODE_TYPES, model.PERIODS, within=pyo.NonNegativeIntegers)
    model.spare_pool = pyo.Constraint(
        model.NODE_TYPES, model.PERIODS,
        rule=lambda mdl, g, t: (mdl.spare_nodes[g, t] >= data.spare_ratio[g] * mdl.serving_nodes[g, t])
        if g in data.spare_ratio else pyo.Constraint.Skip)
    pools.add("nodes_off_serving", lambda g, t: model.spare_nodes[g, t])
