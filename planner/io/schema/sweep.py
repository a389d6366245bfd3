"""A sweep spec (sweeps/*.yaml): a base instance and a grid (or list) of its fields to vary."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ..validation import Strict
from .common import Name, described

#: Summary figures copied into the aggregate table (dotted paths into summary.json).
DEFAULT_METRICS = (
    "status", "mip_gap", "nodes.mean", "nodes.peak", "cost_usd.total", "cost_usd.per_million_output_tokens",
    "revenue_usd.total", "margin.cost_profit", "margin.gross", "unserved_tokens.output_share", "solver.wall_s",
)


class Chart(Strict):
    """sweep.png: metrics against one varied field."""

    x: str = described("The varied field on the x axis (a dotted path of the grid).")
    y: Annotated[list[str], Field(min_length=1)] = described(
        "Metrics, one panel each (dotted paths of `summary.json`).")
    logx: bool = described("A logarithmic x axis.", False)
    title: str = described("The chart's title; empty: the sweep's name.", "")


class SweepSpec(Strict):
    """A base instance, fields set for every case, and the cases."""

    name: Name = described(
        "Names the result store (`results/sweeps/NAME` by default) and the progress bar: a name, not a path "
        "(letters, digits, `_@+-`), so that the store stays under the results folder.")
    base: str = described("The base instance, a path relative to the spec file; it must exist.")
    set: list[str] = described(
        "`dotted.path=value` overrides (as `--set` takes them) applied to the base for every case.", [])
    grid: dict[str, list[Any]] = described(
        "`--set` paths and their values: every combination is a case. A spec needs a grid or `cases`.", {})
    cases: list[dict[str, Any]] = described(
        "More cases, each a mapping of `--set` paths to values; a case given twice runs once.", [])
    metrics: list[str] = described("Summary figures in the aggregate table (dotted paths of `summary.json`).",
                                   list(DEFAULT_METRICS))
    chart: Chart | None = described("The chart, `sweep.png`; `null`: none.", None)
    description: str = described("Free text.", "")
