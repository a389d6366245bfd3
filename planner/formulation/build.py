"""Assemble a model from a named formulation: family functions called in a fixed order."""

from __future__ import annotations

import importlib

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from ..errors import InputError
from ..instance import PlanningData

#: A formulation is the ordered list of families it adds; family F lives in module
#: planner.formulation.F as add_F(model, data).
FORMULATIONS: dict[str, tuple[str, ...]] = {
    "default": ("sets", "fleet", "serving_capacity", "ttft_minimum_units", "availability", "training_jobs",
                "training_harvest", "switching", "node_balance", "scenario_slo", "objective"),
}


def family_function(family: str):
    module = importlib.import_module(f"{__package__}.{family}")
    return getattr(module, f"add_{family}")


def build_model(data: PlanningData, formulation: str | None = None) -> pyo.ConcreteModel:
    """Build the Pyomo model of `data` with the named formulation (default: data.solver.formulation)."""
    name = formulation or data.solver.formulation
    if name not in FORMULATIONS:
        raise InputError(data.source, "solver.formulation", name, f"unknown formulation; choose from {sorted(FORMULATIONS)}")
    model = pyo.ConcreteModel(name=data.name)
    with PauseGC():
        for family in FORMULATIONS[name]:
            family_function(family)(model, data)
    model.formulation = name
    model.families = FORMULATIONS[name]
    return model
