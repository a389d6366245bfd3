"""Reserved contracts: nodes committed for a term at a discounted price, beside owned and rented ones."""

from __future__ import annotations

import math

import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family
from ..tables import component_frame, rounded


def _offers_contracts(data: PlanningData) -> bool:
    """Instances with a `reserved` contract on some node type."""
    return any(g.reserved for g in data.node_types)


def contract_terms(data: PlanningData) -> list[tuple[str, str, int]]:
    """Every (node type, contract, term) of the horizon: the index of `reserved_nodes`."""
    return [(g.name, c.name, k) for g in data.node_types for c in g.reserved
            for k in range(len(data.term_hours_in_horizon(c.term_hours)))]


def _contract(data: PlanningData, g: str, name: str):
    return next(c for c in data.node_type(g).reserved if c.name == name)


def _exports(model: pyo.ConcreteModel, data: PlanningData) -> dict:
    frame = rounded(component_frame(model.reserved_nodes, ["node_type", "contract", "term"], "reserved_nodes"),
                    "reserved_nodes")
    term_hours = {(g, c): _contract(data, g, c).term_hours for g, c in zip(frame["node_type"], frame["contract"])}
    frame["start_hour"] = [k * term_hours[g, c] for g, c, k in zip(frame["node_type"], frame["contract"], frame["term"])]
    frame["hours_in_horizon"] = [data.term_hours_in_horizon(term_hours[g, c])[k]
                                 for g, c, k in zip(frame["node_type"], frame["contract"], frame["term"])]
    frame["usd_per_node_hour"] = [_contract(data, g, c).usd_per_node_hour
                                  for g, c in zip(frame["node_type"], frame["contract"])]
    return {"reserved": frame}


def _summary(tables: dict, data: PlanningData) -> dict:
    """summary.json's `reserved`: per node type and contract, the nodes of each term."""
    frame = tables["reserved"]
    out: dict = {}
    for row in frame.itertuples(index=False):
        out.setdefault(row.node_type, {}).setdefault(row.contract, []).append(int(row.reserved_nodes))
    return {"reserved": out}


def _start(model: pyo.ConcreteModel):
    """The LP's reserved nodes rounded up, within their bound."""
    for var in model.reserved_nodes.values():
        if not var.fixed:
            yield var, min(math.ceil(var.value - 1e-6), var.ub if var.ub is not None else math.inf)


@family(applies=_offers_contracts, needs=("NODE_TYPES", "PERIODS"),
        provides=("CONTRACT_TERMS", "reserved_nodes", "reserved_cost_usd"),
        contributes=("cost_usd", "nodes_on_hand"), tables=("reserved",), exports=_exports, summary=_summary,
        start=_start)
def add_reserved_contracts(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """Reserved capacity: each node type g may offer contracts c (`node_types.<g>.reserved`), each
    a term tau_c in hours, a price c_{g,c} in USD per node-hour (gpus_per_node x USD per
    GPU-hour) and a limit V^max_{g,c}.

    **Terms** The horizon (of one scenario, H hours from its start) is cut into terms of tau_c
    hours: period t belongs to the term it starts in, k_c(t) = floor(tau(t) Delta / tau_c), tau(t)
    its period within the scenario, and term k holds h_{c,k} = Delta x (its periods) hours: tau_c
    where the term is a whole number of periods, less for the last term cut by the horizon's end. A
    term shorter than a period is refused. A term longer than the horizon is one term with h = H:
    the horizon stands for the whole term, as capacity-expansion models charge an investment per
    represented hour (formulation.md, section 4c).

    **Variables** V_{g,c,k} in Z+ (`reserved_nodes`, over `CONTRACT_TERMS`), with

        0 <= V_{g,c,k} <= V^max_{g,c}                       (reserved[c].max_nodes; none: no limit)

    decided before the horizon, the same in every scenario (first stage, as the owned fleet).

    **Nodes** (pool nodes_on_hand, read by the node balance): in period t, node type g holds
    sum_c V_{g,c,k_c(t)} reserved nodes beside F_g and R_{g,t}.

    **Cost** (pool cost_usd), paid for every hour of the term in the horizon, used or not:

        reserved_cost_usd = sum_{g,c,k} c_{g,c} h_{c,k} V_{g,c,k}

    A contract cheaper per hour than owning and renting takes the base load; a shorter term
    follows demand that changes from one term to the next, at its price. A plan's contracts
    given with the data (`PlanningData.with_reserved_fleet`) are fixed.
    """
    terms = contract_terms(data)
    model.CONTRACT_TERMS = pyo.Set(initialize=terms, dimen=3, ordered=True)
    model.reserved_nodes = pyo.Var(model.CONTRACT_TERMS, within=pyo.NonNegativeIntegers,
                                   bounds=lambda mdl, g, c, k: (0, _contract(data, g, c).max_nodes))
    for key, nodes in data.fixed_reserved.items():
        if key in model.reserved_nodes:
            model.reserved_nodes[key].fix(nodes)
    model.reserved_cost_usd = pyo.Expression(expr=sum(
        _contract(data, g, c).usd_per_node_hour * data.term_hours_in_horizon(_contract(data, g, c).term_hours)[k]
        * model.reserved_nodes[g, c, k] for (g, c, k) in terms))
    pools.add("cost_usd", model.reserved_cost_usd)

    def on_hand(g: str, t: int):
        return sum(model.reserved_nodes[g, c.name, data.term_of_period(t, c.term_hours)]
                   for c in data.node_type(g).reserved)

    pools.add("nodes_on_hand", on_hand)
