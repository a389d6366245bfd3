"""Index sets shared by every family."""

from __future__ import annotations

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ...units import ROLES
from ..contract import Pools, family


@family(provides=("PERIODS", "NODE_TYPES", "SERVED_MODELS", "ROLES", "UNIT_KINDS"))
def add_sets(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """**Sets** `PERIODS` t, `NODE_TYPES` g, `SERVED_MODELS` m, `ROLES` r (prefill, decode), and
    `UNIT_KINDS` (m, g, r).

    `UNIT_KINDS` holds a (served model, node type, role) triple for every deployment (m, g) the
    instance declares and each role: only those node types can serve that model. With S demand
    scenarios of T periods each, `PERIODS` holds the S T periods of all scenarios, scenario s as
    the block sT ... (s+1)T - 1 (S = 1 without scenarios: t = 0 ... T - 1).
    """
    model.PERIODS = pyo.Set(initialize=range(data.periods), ordered=True)
    model.NODE_TYPES = pyo.Set(initialize=data.node_type_names, ordered=True)
    model.SERVED_MODELS = pyo.Set(initialize=data.served_models, ordered=True)
    model.ROLES = pyo.Set(initialize=ROLES, ordered=True)
    model.UNIT_KINDS = pyo.Set(
        dimen=3, ordered=True, initialize=[(m, g, r) for (m, g) in data.deployments for r in ROLES]
    )
