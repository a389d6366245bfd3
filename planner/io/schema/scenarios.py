"""The `scenarios` section: demand scenarios, generated or read, and the chance constraint."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..validation import Strict
from .common import described


class Scenarios(Strict):
    """Equally likely demand scenarios around the demand table, or from a scenario file."""

    count: Annotated[int, Field(ge=1, le=5000)] = described("S, the number of generated scenarios.", 1)
    seed: Annotated[int, Field(ge=0)] = described("Seed of the generator: the same seed, the same scenarios.", 0)
    level_sd: Annotated[float, Field(ge=0, le=2)] = described(
        "Standard deviation of the log of a scenario's day-level factor L_s (lognormal, mean 1).", 0.0)
    hourly_sd: Annotated[float, Field(ge=0, le=2)] = described(
        "Standard deviation of the independent hourly noise eps_{s,t}: demand x (1 + eps), clipped at 0.1.", 0.0)
    burst_probability: Annotated[float, Field(ge=0, le=1)] = described(
        "Probability that a period bursts.", 0.0, unit="probability")
    burst_scale: Annotated[float, Field(ge=0, le=10)] = described(
        "A burst multiplies the period's demand by 1 + U(0, `burst_scale`).", 0.0)
    file: str | None = described(
        "A scenario CSV (path relative to the instance) instead of the generator; it is not scaled by "
        "`demand.scale`.", None)
    slo_share: Annotated[float, Field(gt=0, le=1)] | None = described(
        "beta: the SLO holds in every period of at least this share of the scenarios (a chance constraint). "
        "`null`: misses are only priced.", None, unit="share of scenarios")
