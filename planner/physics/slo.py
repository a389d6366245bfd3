"""Latency math: TTFT from the distribution of wait + prefill time, the decode operating point,
the KV-memory limit of a decode GPU, and the decode tail (docs/formulation.md, section 8).

**TTFT.** The servers of an M/G/c queue are a unit's prompt streams (its DP ranks:
`servers_per_unit`), each prefilling one prompt at a time. Prompts arrive at rate lambda and one
takes S = S_mean X seconds, X the prompt's length over the mean (`PromptShape`: gamma,
lognormal or an empirical table; mean 1, squared coefficient of variation SCV). The wait W is
approximated as in M/M/c with the Allen-Cunneen correction (Whitt 1993): P(W > 0) = C(c, a),
Erlang C at a = lambda S_mean, and W given W > 0 exponential with mean
E[W | W > 0] = (1 + SCV)/2 * S_mean / (c - a), i.e. rate theta = (c / S_mean - lambda) * 2/(1 + SCV).
Exact for exponential service (SCV 1: M/M/c). A prompt's wait does not depend on its own length
(FCFS), so TTFT = W + S has the tail

    P(W + S > t) = P(S > t) + C(c, a) E[exp(-theta (t - S)); S <= t]

the first term exact from the shape, the second by quadrature: for a named shape, 64-point
Gauss-Legendre over s in [0, t] against the density (smooth there); for an empirical one, 1,024
equal-probability atoms of the sample. The nodes depend on t and the period's S_mean only, so a
search over c reuses them. tests/test_slo.py compares M/M/c with its closed form. A target
below the q-quantile of S alone is unattainable with any number of streams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

#: Equal-probability atoms of a prompt shape used for the convolution (see the module docstring).
SHAPE_ATOMS = 1024
#: Periods evaluated at once (bounds the memory of the periods x atoms matrix).
CHUNK_PERIODS = 2048


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


@dataclass(frozen=True)
class PromptShape:
    """The distribution of X = a prompt's prefill time over the mean (mean 1).

    `kind` gamma (SCV 1 is exponential, 0 deterministic), lognormal, or empirical (a sample of
    prompt lengths: X = length / the sample's mean). `atoms` are the quadrature atoms of the
    convolution; `sample` the sorted empirical values (empty otherwise), read for its exact tail.
    """

    kind: str
    scv: float
    atoms: np.ndarray = field(repr=False)
    sample: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def sf(self, x):
        """P(X > x)."""
        x = np.asarray(x, dtype=float)
        if self.kind == "empirical":
            return 1.0 - np.searchsorted(self.sample, x, side="right") / len(self.sample)
        if self.scv == 0:
            return np.where(x < 1.0, 1.0, 0.0)
        return self._distribution().sf(x)

    def quantile(self, q: float) -> float:
        """The q-quantile of X."""
        if self.kind == "empirical":
            return float(np.quantile(self.sample, q, method="higher"))
        if self.scv == 0:
            return 1.0
        return float(self._distribution().ppf(q))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n lengths over the mean (mean 1), drawn from the shape."""
        if self.kind == "empirical":
            return rng.choice(self.sample, size=n)
        if self.scv == 0:
            return np.ones(n)
        if self.kind == "gamma":
            return rng.gamma(1.0 / self.scv, self.scv, size=n)
        sigma = np.sqrt(np.log1p(self.scv))
        return rng.lognormal(-sigma**2 / 2.0, sigma, size=n)

    def _distribution(self):
        from scipy import stats  # imported here: scipy.stats takes about a second to import

        if self.kind == "gamma":
            shape = 1.0 / self.scv
            return stats.gamma(shape, scale=1.0 / shape)
        sigma = np.sqrt(np.log1p(self.scv))
        return stats.lognorm(sigma, scale=np.exp(-sigma**2 / 2.0))


def prompt_shape(kind: str, scv: float = 1.0, lengths: Sequence[float] | None = None) -> PromptShape:
    """The shape of a named distribution with this SCV, or of an empirical sample of lengths."""
    middles = (np.arange(SHAPE_ATOMS) + 0.5) / SHAPE_ATOMS
    if kind == "empirical":
        sample = np.sort(np.asarray(lengths, dtype=float))
        sample = sample / sample.mean()
        atoms = np.quantile(sample, middles)
        shape = PromptShape("empirical", float(sample.var()), atoms / atoms.mean(), sample)
    elif scv == 0:
        shape = PromptShape(kind, 0.0, np.ones(SHAPE_ATOMS))
    else:
        shape = PromptShape(kind, float(scv), np.zeros(0))
        atoms = np.asarray(shape._distribution().ppf(middles))
        shape = PromptShape(kind, float(scv), atoms / atoms.mean())
    for array in (shape.atoms, shape.sample):
        array.setflags(write=False)
    return shape


def _wait_rate(c, arrival_per_s, service_s, scv):
    """theta: the rate of the conditional wait's exponential tail (Allen-Cunneen)."""
    return (c / service_s - arrival_per_s) * 2.0 / (1.0 + scv)


def wait_tail(c, arrival_per_s, service_s, scv, t):
    """P(W > t) in M/G/c (see the module docstring)."""
    c, lam, s = (np.asarray(v, dtype=float) for v in (c, arrival_per_s, service_s))
    rate = np.maximum(_wait_rate(c, lam, s, scv), 0.0)
    return erlang_c(c, lam * s) * np.exp(-rate * np.maximum(t, 0.0))


#: Gauss-Legendre points of the convolution for a named shape (see the module docstring).
LEGENDRE_POINTS = 64


def _convolution_nodes(service_s: np.ndarray, shape: PromptShape, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lags t - s_j >= 0 and weights w_j with E[g(t - S); S <= t] ~ sum_j w_j g(lag_j), per element."""
    s, t = service_s[:, None], t[:, None]
    if shape.kind == "empirical" or shape.scv == 0:
        lag = t - s * shape.atoms[None, :]
        return np.maximum(lag, 0.0), np.where(lag >= 0, 1.0 / len(shape.atoms), 0.0)
    nodes, weights = np.polynomial.legendre.leggauss(LEGENDRE_POINTS)
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = np.where(s > 0, t / s, 0.0)  # x_t: the largest X that starts serving by t
    x = upper * (nodes[None, :] + 1.0) / 2.0
    density = shape._distribution().pdf(x)
    return t - s * x, weights[None, :] * upper / 2.0 * density


def _tail(c, lam, s, scv, beyond, lag, weight):
    """P(W + S > t) from P(S > t) (`beyond`) and the convolution nodes; 1 where unstable."""
    a = lam * s
    stable = a < c
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        theta = np.where(stable, _wait_rate(c, lam, s, scv), 0.0)
        inside = (weight * np.exp(-theta[:, None] * lag)).sum(axis=1)
    return np.where(stable, np.minimum(beyond + erlang_c(c, a) * inside, 1.0), 1.0)


def ttft_tail(c, arrival_per_s, service_s, shape: PromptShape, t):
    """P(TTFT > t) = P(W + S > t) with c streams (1 where the queue is unstable), per element."""
    c, lam, s, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (c, arrival_per_s, service_s, t)))
    out = np.ones(c.size)
    flat = [v.reshape(-1) for v in (c, lam, s, t)]
    for start in range(0, c.size, CHUNK_PERIODS):
        cc, ll, ss, tt = (v[start:start + CHUNK_PERIODS] for v in flat)
        lag, weight = _convolution_nodes(ss, shape, tt)
        with np.errstate(divide="ignore", invalid="ignore"):
            beyond = shape.sf(np.where(ss > 0, tt / ss, np.inf))
        out[start:start + CHUNK_PERIODS] = _tail(cc, ll, ss, shape.scv, beyond, lag, weight)
    return out.reshape(c.shape)


def ttft_quantile_s(c, arrival_per_s, service_s, shape: PromptShape, q: float):
    """The q-quantile of TTFT = W + S with c streams (inf when the queue is unstable), by bisection
    on t: P(W + S > t) falls in t."""
    c, lam, s = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (c, arrival_per_s, service_s)))
    miss = 1.0 - q
    waiting = erlang_c(c, lam * s)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = _wait_rate(c, lam, s, shape.scv)
        # P(W + S > t) <= P(S > t/2) + P(W > t/2): each at most miss/2 here
        wait_bound = np.where(waiting > miss / 2, np.log(2 * waiting / miss) / theta, 0.0)
    hi = 2.0 * np.maximum(s * shape.quantile(1.0 - miss / 2), wait_bound) + 1e-9
    lo = np.zeros_like(hi)
    for _ in range(60):
        mid = (lo + hi) / 2.0
        over = ttft_tail(c, lam, s, shape, mid) > miss
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
    return np.where(lam * s >= c, np.inf, hi)


def ttft_attainable(service_s, shape: PromptShape, target_s: float, q: float) -> np.ndarray:
    """Whether some number of streams meets the target: P(S > target) < 1 - q (the wait can only add)."""
    s = np.asarray(service_s, dtype=float)
    return shape.sf(target_s / s) < 1.0 - q


def smallest_attainable_ttft_s(service_s, shape: PromptShape, q: float):
    """The q-quantile of S alone: no target below it can be met (with infinitely many streams)."""
    return np.asarray(service_s, dtype=float) * shape.quantile(q)


def min_units_for_ttft(arrival_per_s, service_s, shape: PromptShape, target_s: float, q: float) -> np.ndarray:
    """The fewest streams whose TTFT q-quantile meets `target_s`, per element of the arrays.

    0 where nothing arrives; -1 where no number of streams can (`ttft_attainable`). Doubling from
    the smallest stable count, then bisection: the tail falls as streams are added, so a few
    dozen vectorized evaluations serve any horizon.
    """
    lam = np.atleast_1d(np.asarray(arrival_per_s, dtype=float))
    s = np.array(np.broadcast_to(np.asarray(service_s, dtype=float), lam.shape))
    possible = ttft_attainable(s, shape, target_s, q)
    active = (lam > 0) & possible
    lo = np.floor(lam * s) + 1.0
    hi = lo.copy()
    miss = 1.0 - q
    # The convolution's nodes depend on the period's S and the target only: computed once.
    index = np.flatnonzero(active)
    lag, weight = _convolution_nodes(s[index], shape, np.full(len(index), float(target_s)))
    beyond = shape.sf(target_s / s[index])
    position = np.full(lam.shape, -1)
    position[index] = np.arange(len(index))

    def meets(c, where):
        ok = np.ones(lam.shape, dtype=bool)
        rows = position[where]
        if len(rows):
            ok[where] = _tail(c[where], lam[where], s[where], shape.scv, beyond[rows], lag[rows], weight[rows]) <= miss
        return ok

    for _ in range(80):
        short = active & ~meets(hi, active)
        if not short.any():
            break
        hi = np.where(short, hi * 2.0, hi)
    while True:
        open_ = active & (lo < hi)
        if not open_.any():
            break
        mid = np.floor((lo + hi) / 2.0)
        ok = meets(mid, open_)
        hi = np.where(open_ & ok, mid, hi)
        lo = np.where(open_ & ~ok, mid + 1.0, lo)
    units = np.where(lam > 0, hi, 0.0)
    return np.where(possible | (lam <= 0), units, -1.0).astype(np.int64)


def kv_sequences_per_gpu(kv_cache_bytes_per_gpu: float, kv_bytes_per_token: float, context_tokens):
    """Sequences one GPU's KV cache holds at a mean context length (prompt + half the output)."""
    return kv_cache_bytes_per_gpu / (kv_bytes_per_token * np.asarray(context_tokens, dtype=float))


def memory_capped_tokens_per_s(tokens_per_s: float, speed: float, gpus: int, sequences_limit,
                               fixed_step_s: float | None):
    """Output tokens/s per node at an operating point, capped by what KV memory holds.

    The point (speed v, throughput T) implies b = T / (G v) sequences per GPU. Where b exceeds
    the limit b_mem, the node runs b_mem sequences; with a step-time model tau(b) = tau_0 + k b
    through the point (k = (1/v - tau_0) / b) each user then sees v' = 1/(tau_0 + k b_mem) > v and
    the node makes G b_mem v'; without one, G b_mem v (a lower bound). Per element of the limit.
    """
    limit = np.asarray(sequences_limit, dtype=float)
    batch = tokens_per_s / (gpus * speed)
    if fixed_step_s is None:
        capped = gpus * limit * speed
    else:
        k = (1.0 / speed - fixed_step_s) / batch
        capped = gpus * limit / (fixed_step_s + k * limit)
    return np.where(batch <= limit, tokens_per_s, capped)


def tail_speed_factor(step_time_cv: float, q: float) -> float:
    """f_q: the q-quantile of a decode step's time over its mean, step times lognormal with
    coefficient of variation cv: exp(sigma z_q - sigma^2/2), sigma^2 = ln(1 + cv^2). A TPOT
    promised at the q-quantile needs a mean speed f_q times the promised speed."""
    from scipy.stats import norm  # imported here: scipy.stats takes about a second to import

    sigma = float(np.sqrt(np.log1p(step_time_cv**2)))
    return float(np.exp(sigma * norm.ppf(q) - sigma**2 / 2.0))


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
