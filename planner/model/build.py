"""Assemble a model from a named formulation: registered families called in a fixed order."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from ..errors import InputError
from ..physics.data import PlanningData
from . import families as _families
from .contract import FAMILIES, Family, Pools, add_family, check_formulation, check_pools_consumed

# Importing a family module registers it; every module of planner/model/families/ is one family.
for _module in pkgutil.iter_modules(_families.__path__):
    importlib.import_module(f"{_families.__name__}.{_module.name}")

#: A formulation is the ordered list of families it may add; a family that does not apply to an
#: instance (applies(data) false) is skipped.
FORMULATIONS: dict[str, tuple[str, ...]] = {
    "default": ("sets", "fleet", "serving_capacity", "reserved_contracts", "ttft_minimum_units", "availability", "spare_pool",
                "day_ahead", "unit_commitment", "training_jobs", "training_harvest", "switching", "node_balance",
                "scenario_slo", "objective"),
    # Units start and stop free and at once, whatever the profiles say (the plan before issue 16).
    "free_starts": ("sets", "fleet", "serving_capacity", "reserved_contracts", "ttft_minimum_units", "availability", "spare_pool",
                    "day_ahead", "training_jobs", "training_harvest", "switching", "node_balance", "scenario_slo",
                    "objective"),
}
for _name, _order in FORMULATIONS.items():
    check_formulation(_name, _order)


@dataclass(frozen=True)
class BuiltModel:
    """A Pyomo model, the families that built it (in order) and the pools they filled."""

    model: pyo.ConcreteModel
    formulation: str
    families: tuple[Family, ...]
    pools: Pools


def formulation_families(data: PlanningData, formulation: str | None = None) -> tuple[Family, ...]:
    """The families of the named formulation (default: the instance's) that apply to `data`."""
    name = formulation or data.solver.formulation
    if name not in FORMULATIONS:
        raise InputError(data.source, "solver.formulation", name,
                         f"unknown formulation; choose from {sorted(FORMULATIONS)}")
    return tuple(FAMILIES[f] for f in FORMULATIONS[name] if FAMILIES[f].applies(data))


def build_model(data: PlanningData, formulation: str | None = None, without: tuple[str, ...] = ()) -> BuiltModel:
    """Build the Pyomo model of `data` with the named formulation (default: data.solver.formulation):
    each family that applies, in order, held to its contract (but the families `without` names)."""
    model = pyo.ConcreteModel(name=data.name)
    pools = Pools()
    applied = []
    with PauseGC():
        for f in formulation_families(data, formulation):
            if f.name in without:
                continue
            if f.applies_to(data, pools):
                add_family(f, model, data, pools)
                applied.append(f)
    check_pools_consumed(applied, pools)
    return BuiltModel(model, formulation or data.solver.formulation, tuple(applied), pools)
