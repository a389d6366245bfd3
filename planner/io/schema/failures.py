"""The `failures` section: node failures, repairs and the availability target."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..validation import Strict
from .common import described


class Failures(Strict):
    """Node failures: a node fails at a rate and is down for the repair (or swap) time."""

    node_failures_per_hour: Annotated[float, Field(ge=0, le=1)] = described(
        "lambda: failures per node-hour of one node.", unit="failures per node-hour")
    repair_hours: Annotated[float, Field(gt=0, le=24 * 365)] = described(
        "Time a failed node takes to come back.", unit="hours")
    swap_hours: Annotated[float, Field(gt=0, le=24 * 365)] | None = described(
        "With a spare pool: the time a spare takes to replace a failed node (weights loaded, unit re-formed). "
        "`null`: no spares; a failed node is down for `repair_hours`.", None, unit="hours")
    availability_target: Annotated[float, Field(ge=0, lt=1)] = described(
        "alpha: the probability with which each period's needed units are up, and the quantile of nodes in "
        "repair the spare pool covers.", 0.999, unit="probability")
