"""The `scenarios` section: demand scenarios, generated or read, and the chance constraint."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..validation import Strict
from .common import described


class Scenarios(Strict):
    """Equally likely demand scenarios around the demand table, or from a scenario file."""

    count: Annotated[int, Field(ge=1, le=5000)] = described(
        "S, the number of scenarios the generator draws. Ignored with `file`.", 1, unit="scenarios")
    seed: Annotated[int, Field(ge=0)] = described(
        "Seed of the generator (numpy's `default_rng`): the same seed gives the same scenarios.", 0)
    level_sd: Annotated[float, Field(ge=0, le=2)] = described(
        "σ_L: a day-level factor L_s per scenario, lognormal with mean 1 (ln L_s ~ N(−σ_L²/2, σ_L²)).", 0.0)
    hourly_sd: Annotated[float, Field(ge=0, le=2)] = described(
        "σ_h: independent noise per period, a factor max(0.1, 1 + ε_{s,t}) with ε ~ N(0, σ_h²).", 0.0)
    burst_probability: Annotated[float, Field(ge=0, le=1)] = described(
        "The chance that a period bursts.", 0.0, unit="probability")
    burst_scale: Annotated[float, Field(ge=0, le=10)] = described(
        "A burst multiplies its period's demand by 1 + U(0, `burst_scale`).", 0.0)
    file: str | None = described(
        "A scenario CSV (section 4; a path relative to the instance) instead of the generator: `count`, `seed`, "
        "`level_sd`, `hourly_sd` and the bursts are then ignored, and the file is not scaled by `demand.scale`.",
        None)
    slo_share: Annotated[float, Field(gt=0, le=1)] | None = described(
        "β: the SLO holds in every period of at least this share of the scenarios: all their demand served, every "
        "TTFT target and availability floor met (family `scenario_slo`, formulation.md, section 14). The other "
        "scenarios still pay the penalties for what they miss. `null`: no such constraint; misses only cost the "
        "penalties.", None, unit="share of scenarios")
    day_ahead: bool = described(
        "`true`: every period's serving units are committed the day before, from the forecast, and the same in every "
        "scenario (family `day_ahead`, formulation.md, section 4): in a scenario only units on rented (on-demand) "
        "nodes can be added, forming as the profile's `commitment` says. `false`: each scenario has its own units "
        "(decisions that know the scenario's day).", False)
