"""Demand scenarios: a seeded generator around the instance's demand, or a user's scenario file.

A scenario multiplies the base demand of every period (all token columns alike, so the cache-hit
mix is kept): a day-level factor L_s (lognormal, mean 1), independent hourly noise
(1 + eps_{s,t}, eps normal, clipped at -0.9) and bursts (with probability p an hour is multiplied
by 1 + U(0, burst_scale)). Scenarios are equally likely. The extensive form stacks them as
blocks of periods (physics.data.PlanningData).
"""

from __future__ import annotations

import numpy as np

from ..io.schema.scenarios import Scenarios


def multipliers(spec: Scenarios, periods: int, seed: int | None = None) -> np.ndarray:
    """[scenario, period] demand multipliers from the generator (seed overrides spec.seed)."""
    rng = np.random.default_rng(spec.seed if seed is None else seed)
    shape = (spec.count, periods)
    level = rng.lognormal(-spec.level_sd**2 / 2, spec.level_sd, size=(spec.count, 1)) if spec.level_sd else np.ones((spec.count, 1))
    noise = np.clip(1.0 + rng.normal(0.0, spec.hourly_sd, size=shape), 0.1, None) if spec.hourly_sd else np.ones(shape)
    bursts = rng.random(shape) < spec.burst_probability
    burst = 1.0 + bursts * rng.uniform(0.0, spec.burst_scale, size=shape)
    return level * noise * burst


def scenario_demand(base: dict[str, np.ndarray], factors: np.ndarray) -> dict[str, np.ndarray]:
    """Stack base demand [model, T] into [model, S*T], scenario s scaled by factors[s]."""
    return {c: np.concatenate([v * f for f in factors], axis=1) for c, v in base.items()}
