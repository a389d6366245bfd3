"""TTFT: enough prefill units in every period that the queueing delay meets the SLO percentile."""

from __future__ import annotations

import pyomo.environ as pyo

from ..instance import PlanningData


def _needs_ttft_row(data: PlanningData, m: str, t: int) -> bool:
    """The row is needed: some node type needs at least one unit for this model in period t."""
    return any(data.min_prefill_units[(m, g)][t] > 0 for (mm, g) in data.deployments if mm == m)


def add_ttft_minimum_units(model: pyo.ConcreteModel, data: PlanningData) -> None:
    """**Constraint** ttft_minimum_units, **enforced over** (m, t) with a TTFT target and demand:

        sum_{g : n_{m,g,t} > 0} (n*_{m,t} / n_{m,g,t}) x_{m,g,prefill,t} >= n*_{m,t}

    n_{m,g,t} is the fewest prefill units of node type g alone whose TTFT percentile meets the
    target (slo.min_units_for_ttft: Erlang-C tail with the Allen-Cunneen correction), and
    n*_{m,t} = max_g n_{m,g,t}. With one node type the row is x >= n; with several, a mix of
    types qualifies when its units, each counted as a share 1/n_{m,g,t} of a qualifying pool,
    add up to one (a linear interpolation between single-type pools). A type that cannot meet
    the target at all (n = -1) serves no prefill of that model in that period.
    """
    if not any((units != 0).any() for units in data.min_prefill_units.values()):
        return

    def rule(mdl, m, t):
        if not _needs_ttft_row(data, m, t):
            return pyo.Constraint.Skip
        need = {g: float(data.min_prefill_units[(m, g)][t]) for (mm, g) in data.deployments if mm == m}
        largest = max(need.values())
        return sum((largest / n) * mdl.serving_units[m, g, "prefill", t] for g, n in need.items() if n > 0) >= largest

    model.ttft_minimum_units = pyo.Constraint(model.SERVED_MODELS, model.PERIODS, rule=rule)
    for (m, g), units in data.min_prefill_units.items():
        for t in range(data.periods):
            if units[t] < 0:
                model.serving_units[m, g, "prefill", t].fix(0)
