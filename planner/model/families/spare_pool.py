"""Spare nodes: a pool that covers the nodes in repair, so that failed nodes are swapped, not waited for."""

from __future__ import annotations

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family


def _swaps_failed_nodes(data: PlanningData) -> bool:
    """Instances whose failed nodes are swapped for spares (`failures.swap_hours`)."""
    return bool(data.spare_ratio)


@family(applies=_swaps_failed_nodes, needs=("serving_nodes", "NODE_TYPES", "PERIODS"),
        provides=("spare_nodes", "spare_pool"), contributes=("nodes_off_serving",))
def add_spare_pool(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """**Variable** spare_{g,t} in Z+ (`spare_nodes`, over every (g, t)): spare nodes standing by.

    **Constraint** `spare_pool`, **enforced over** (g, t) for the node types with a spare ratio:

        spare_{g,t} >= rho_g serving_nodes_{g,t}

    rho_g = spare_nodes(n_g) / n_g is the spare ratio (`physics.compile._spare_ratio`): n_g =
    max_t n_{g,t}, n_{g,t} = max_m sum_r u_{m,g,r} k_{m,g,r,t} the node count that one served
    model deployed on g needs with every unit up in period t (k = ceil(D/c - 1e-9); with several
    served models on g, the largest of theirs, not their sum), and spare_nodes(n) is the
    alpha-quantile of the nodes in repair at once among n (`physics.failures.spare_nodes`:
    Poisson(lambda repair_hours n), plus R x Poisson(racks in repair) with rack failures).

    **Bound** (a variable bound, not a row) on a node type that alone serves every model deployed
    on it (`physics.compile._spare_floor`):

        spare_{g,t} >= spare_nodes(n_{g,t})

    A pool grows in steps (a rack's R nodes at once), so the peak's ratio falls short in a
    smaller period: the bound gives each period its own pool. Where several node types share a
    model, how much each serves is the plan's choice and only the ratio holds. A node type with
    n_g = 0 has no ratio and no rows. The family applies when failed nodes are swapped
    (`failures.swap_hours`) and some type has a ratio.

    The spares are nodes of the fleet that do not serve (pool nodes_off_serving): the node
    balance counts them, and they cost what any owned or rented node costs, nothing of their own.
    """
    def floor(mdl, g, t):
        return (float(data.spare_floor[g][t]) if g in data.spare_floor else 0.0, None)

    model.spare_nodes = pyo.Var(model.NODE_TYPES, model.PERIODS, within=pyo.NonNegativeIntegers, bounds=floor)
    model.spare_pool = pyo.Constraint(
        model.NODE_TYPES, model.PERIODS,
        rule=lambda mdl, g, t: (mdl.spare_nodes[g, t] >= data.spare_ratio[g] * mdl.serving_nodes[g, t])
        if g in data.spare_ratio else pyo.Constraint.Skip)
    pools.add("nodes_off_serving", lambda g, t: model.spare_nodes[g, t])
