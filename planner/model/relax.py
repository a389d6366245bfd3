"""The LP relaxation of a built model, undone on exit: one place that relaxes integers."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pyomo.environ as pyo


@contextmanager
def relaxed_integers(model: pyo.ConcreteModel) -> Iterator[pyo.ConcreteModel]:
    """Every integer variable continuous within its bounds (fixed ones too: HiGHS gives no duals
    while any column is integer); domains and bounds restored on exit."""
    undo = []
    for var in model.component_data_objects(pyo.Var):
        if not var.is_continuous():
            undo.append((var, var.domain, var.lb, var.ub))
            lower, upper = var.lb, var.ub  # the domain's bounds included
            var.domain = pyo.Reals
            var.setlb(lower)
            var.setub(upper)
    try:
        yield model
    finally:
        for var, domain, lower, upper in undo:
            var.domain = domain
            var.setlb(lower)
            var.setub(upper)
