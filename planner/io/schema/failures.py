"""The `failures` section: node failures, repairs and the availability target."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..validation import Strict
from .common import described


class Failures(Strict):
    """Node failures: a node fails at a rate and is down for the repair (or swap) time."""

    node_failures_per_hour: Annotated[float, Field(ge=0, le=1)] = described(
        "λ: the rate at which one node fails. 0: nodes never fail (the needed units only, no spares).",
        unit="failures per node-hour")
    repair_hours: Annotated[float, Field(gt=0, le=24 * 365)] = described(
        "How long a failed node is out. Without `swap_hours`, its unit is down that long; with `swap_hours`, it "
        "is how long the failed node holds a place in the spare pool.", unit="hours")
    swap_hours: Annotated[float, Field(gt=0, le=24 * 365)] | None = described(
        "A spare node takes a failed node's place within this time (weights loaded, unit re-formed): the unit is "
        "down only for the swap, and the plan keeps a spare pool. `null`: no spares (no pool; a unit is down for "
        "`repair_hours`).", None, unit="hours")
    unit_failures_per_hour: Annotated[float, Field(ge=0, le=10)] = described(
        "λ_unit: a whole serving unit fails at this rate whatever its size (a software fault: a hung collective, "
        "an engine crash) and is down for `unit_restart_hours`; its nodes stay healthy and need no spare. 0: no "
        "such failures.", 0.0, unit="failures per unit-hour")
    unit_restart_hours: Annotated[float, Field(gt=0, le=24 * 365)] = described(
        "How long a unit that failed as a whole is down: its engine restarted, weights reloaded, groups re-formed.",
        0.25, unit="hours")
    rack_nodes: Annotated[int, Field(ge=1, le=10_000)] = described(
        "R: nodes behind one rack switch (or power feed): the domain a correlated failure takes down at once. "
        "Units are laid out on racks in order, so a unit of u nodes touches ceil(u / R) racks (formulation.md, "
        "section 9).", 1, unit="nodes")
    rack_failures_per_hour: Annotated[float, Field(ge=0, le=10)] = described(
        "λ_rack: a rack (its switch, cables or power) fails at this rate and all its R nodes are out for "
        "`rack_repair_hours`; with `swap_hours`, spares take their places while the pool lasts. 0: no such "
        "failures.", 0.0, unit="failures per rack-hour")
    rack_repair_hours: Annotated[float, Field(gt=0, le=24 * 365)] = described(
        "How long a failed rack is out (a switch replaced, a cable reseated).", 4.0, unit="hours")
    availability_target: Annotated[float, Field(ge=0, lt=1)] = described(
        "α: the probability with which each period's needed units must be up, and the quantile of nodes in "
        "repair that the spare pool covers. 0: no redundant units and no pool.", 0.999, unit="probability")
