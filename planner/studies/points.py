"""One study point: loaded inputs varied by typed updates, compiled and planned (runs in a worker)."""

from __future__ import annotations

from typing import Any, Mapping

from ..io.inputs import Inputs, vary
from ..model.solve import solver_options
from ..physics.compile import compile_planning_data
from ..physics.data import PlanningData
from ..results.result import PlanResult
from ..results.run import plan


def compile_varied(inputs: Inputs, updates: Mapping[str, Any] | None = None) -> PlanningData:
    """The planning data of `inputs` with `updates` ({dotted path: value}) applied."""
    return compile_planning_data(vary(inputs, updates) if updates else inputs)


def plan_varied(inputs: Inputs, updates: Mapping[str, Any] | None, solver: Mapping[str, Any]) -> PlanResult:
    """Plan `inputs` with `updates` applied and the solver options overridden by `solver`."""
    data = compile_varied(inputs, updates)
    return plan(data, solver_options(data, **solver))


def plan_data(data: PlanningData, solver: Mapping[str, Any]) -> PlanResult:
    """Plan compiled data with the solver options overridden by `solver`."""
    return plan(data, solver_options(data, **solver))
