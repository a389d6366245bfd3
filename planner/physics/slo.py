"""Latency math: minimum prefill units for a TTFT target, and decode operating points.

Decode: a profile's operating-point table maps the per-user decode speed (tokens/s, the inverse
of the time per output token) to what one node generates (output tokens/s); the SLO's speed
picks the point, by linear interpolation (planner/io/schema/profile.py). A faster promise means
smaller batches and fewer tokens per node.

Prefill: the servers of an M/G/c queue are a unit's prompt streams (its DP ranks:
`servers_per_unit` in the profile), each prefilling one prompt at a time at its share of the
unit's rate. Requests arrive at rate lambda (input tokens per second / mean prompt tokens), each
takes S seconds on one stream, so the offered load is a = lambda S streams. The waiting time W of
M/M/c has the Erlang-C tail P(W > t) = C(c, a) exp(-(c mu - lambda) t), mu = 1/S; for general
service times we use the Allen-Cunneen scaling of the mean wait by (1 + SCV)/2, applied to the
tail's rate: P(W > t) ~ C(c, a) exp(-(c mu - lambda) t * 2 / (1 + SCV)). It is exact for
exponential service (SCV = 1) and approximate otherwise: tests/test_slo.py compares it with a
discrete-event simulation (8 servers at 80 % load, SCV 1 and 0.5, within 0.03 of the simulated
tail probability, and the minimum-units decision itself); it is cheap enough to evaluate for
every period.
TTFT = W + S, so TTFT_q <= target iff P(W > target - S) <= 1 - q.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def erlang_c(c, a):
    """Probability that an arrival waits in M/M/c with offered load a = lambda/mu; 1 when a >= c.

    Erlang B is the Poisson ratio B = pmf(c; a) / cdf(c; a) (scipy, in logs: stable for any c),
    then C = B / (1 - (a/c)(1 - B)). Works on scalars and arrays.
    """
    from scipy.stats import poisson  # imported here: scipy.stats takes about a second to import

    c = np.asarray(c, dtype=float)
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.exp(poisson.logpmf(c, a) - poisson.logcdf(c, a))
        waiting = b / (1.0 - (a / c) * (1.0 - b))
    return np.where(a <= 0, 0.0, np.where(a >= c, 1.0, waiting))


def wait_tail(c, arrival_per_s, service_s, scv, t):
    """P(W > t) in M/G/c by the Allen-Cunneen-scaled Erlang-C tail (see the module docstring)."""
    c, lam, s = (np.asarray(v, dtype=float) for v in (c, arrival_per_s, service_s))
    rate = np.maximum(c / s - lam, 0.0) * 2.0 / (1.0 + scv)
    return erlang_c(c, lam * s) * np.exp(-rate * np.maximum(t, 0.0))


def ttft_quantile_s(c, arrival_per_s, service_s, scv: float, q: float):
    """The q-quantile of TTFT = W + S with c units (inf when the queue is unstable)."""
    c, lam, s = (np.asarray(v, dtype=float) for v in (c, arrival_per_s, service_s))
    a = lam * s
    waiting = erlang_c(c, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (c / s - lam) * 2.0 / (1.0 + scv)
        queued = s + np.log(waiting / (1.0 - q)) / rate
    out = np.where(waiting <= 1.0 - q, s, queued)
    return np.where(a >= c, np.inf, out)


def min_units_for_ttft(arrival_per_s, service_s, scv: float, target_s: float, q: float) -> np.ndarray:
    """The fewest units whose TTFT q-quantile meets `target_s`, per element of the arrays.

    0 where nothing arrives; -1 where no number of units can (a prompt alone takes longer than
    the target). Doubling from the smallest stable count, then bisection: the quantile falls as
    units are added, so a few dozen vectorized evaluations serve any horizon and any scale.
    """
    lam = np.atleast_1d(np.asarray(arrival_per_s, dtype=float))
    s = np.broadcast_to(np.asarray(service_s, dtype=float), lam.shape)
    possible = s < target_s
    active = (lam > 0) & possible
    lo = np.floor(lam * s) + 1.0
    hi = lo.copy()

    def meets(c):
        return ttft_quantile_s(c, lam, s, scv, q) <= target_s

    for _ in range(80):
        short = active & ~meets(hi)
        if not short.any():
            break
        hi = np.where(short, hi * 2.0, hi)
    while True:
        open_ = active & (lo < hi)
        if not open_.any():
            break
        mid = np.floor((lo + hi) / 2.0)
        ok = meets(mid)
        hi = np.where(open_ & ok, mid, hi)
        lo = np.where(open_ & ~ok, mid + 1.0, lo)
    units = np.where(lam > 0, hi, 0.0)
    return np.where(possible | (lam <= 0), units, -1.0).astype(np.int64)


def step_time_operating_points(anchor_speed: float, anchor_tokens_per_s_per_node: float, gpus_per_node: int,
                               fixed_step_s: float, max_batch_per_gpu: float,
                               speeds: Sequence[float]) -> list[tuple[float, float]]:
    """Decode operating points from a linear step-time model anchored at one measured point.

    One decode step of a GPU holding b sequences takes tau(b) = tau_0 + k b seconds, so each user
    sees v = 1/tau tokens/s and the node generates G b v tokens/s. The anchor (v_a, T_a) fixes
    b_a = T_a / (G v_a) and k = (1/v_a - tau_0) / b_a. A speed v then allows b = (1/v - tau_0)/k
    sequences, capped by the memory for KV caches at b_max (below the speed 1/(tau_0 + k b_max)
    the node cannot batch more). Returns (speed, output tokens/s per node) for each speed that
    tau_0 allows (v < 1/tau_0), rounded to 10 tokens/s, plus the slowest full-memory point.
    """
    batch_at_anchor = anchor_tokens_per_s_per_node / (gpus_per_node * anchor_speed)
    k = (1.0 / anchor_speed - fixed_step_s) / batch_at_anchor
    if k <= 0:
        raise ValueError("the fixed step time must be shorter than the anchor's step time")
    slowest = 1.0 / (fixed_step_s + k * max_batch_per_gpu)
    points = {round(slowest, 1): gpus_per_node * max_batch_per_gpu * slowest}
    for v in speeds:
        if slowest < v < 1.0 / fixed_step_s:
            points[float(v)] = gpus_per_node * (1.0 / v - fixed_step_s) / k * v
    points[float(anchor_speed)] = anchor_tokens_per_s_per_node
    return [(v, float(round(points[v], -1))) for v in sorted(points)]
