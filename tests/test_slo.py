"""Latency math against closed forms and against a discrete-event simulation (simpy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from planner.io.schema.profile import interpolate_operating_point
from planner.physics.slo import erlang_c, min_units_for_ttft, ttft_quantile_s, wait_tail


def erlang_c_direct(c: int, a: float) -> float:
    """Textbook Erlang C: (a^c/c! * c/(c-a)) / (sum_{k<c} a^k/k! + a^c/c! * c/(c-a))."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize("c, a", [(1, 0.5), (2, 1.5), (10, 8.0), (30, 27.5), (60, 40.0)])
def test_erlang_c_matches_the_textbook_formula(c, a):
    assert erlang_c(c, a) == pytest.approx(erlang_c_direct(c, a), rel=1e-9)


def test_erlang_c_is_stable_for_thousands_of_servers():
    value = float(erlang_c(20_000, 19_800.0))
    assert 0.0 < value < 1.0


def simulate_waits(c: int, arrival_per_s: float, service_s: float, scv: float, customers: int,
                   seed: int) -> np.ndarray:
    """FCFS M/G/c in simpy: Poisson arrivals, gamma service times with mean S and the given SCV
    (SCV 0: deterministic). Returns each customer's waiting time, the first 10 % dropped."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    waits: list[float] = []

    def service() -> float:
        if scv == 0:
            return service_s
        shape = 1.0 / scv
        return float(rng.gamma(shape, service_s / shape))

    def customer():
        arrived = env.now
        with servers.request() as request:
            yield request
            waits.append(env.now - arrived)
            yield env.timeout(service())

    def arrivals():
        for _ in range(customers):
            yield env.timeout(float(rng.exponential(1.0 / arrival_per_s)))
            env.process(customer())

    env.process(arrivals())
    env.run()
    return np.asarray(waits[customers // 10:])


@pytest.mark.parametrize("scv", [1.0, 0.5])
def test_wait_tail_matches_simulation(scv):
    """c = 8 units, a = 6.4 (80 % busy). For SCV 1 (M/M/c) the tail is exact; for SCV 0.5 the
    Allen-Cunneen scaling is an approximation: within 0.03 of the simulated probability."""
    c, lam, s = 8, 64.0, 0.1
    waits = simulate_waits(c, lam, s, scv, customers=60_000, seed=7)
    for t in (0.0, 0.05, 0.1, 0.2):
        simulated = float((waits > t).mean())
        assert float(wait_tail(c, lam, s, scv, t)) == pytest.approx(simulated, abs=0.03), t


def test_minimum_units_meet_the_ttft_percentile_in_simulation_and_one_fewer_does_not():
    """lambda = 60 prompts/s, S = 0.1 s (a = 6 units), target p95 TTFT <= 0.2 s for a
    mean-length prompt (wait + S). The formula's minimum meets it in simulation; one unit fewer
    misses it."""
    lam, s, scv, target, q = 60.0, 0.1, 1.0, 0.2, 0.95
    c = int(min_units_for_ttft(np.array([lam]), np.array([s]), scv, target, q)[0])
    assert c > math.ceil(lam * s)  # the latency bound, not throughput, decides
    ttft_at_c = np.quantile(simulate_waits(c, lam, s, scv, 60_000, seed=3) + s, q)
    ttft_fewer = np.quantile(simulate_waits(c - 1, lam, s, scv, 60_000, seed=3) + s, q)
    assert ttft_at_c <= target * 1.02
    assert ttft_fewer > target
    assert ttft_quantile_s(c, lam, s, scv, q) <= target < ttft_quantile_s(c - 1, lam, s, scv, q)


def test_minimum_units_edge_cases():
    """No arrivals: 0 units; a prompt longer than the target: impossible (-1); a loose target:
    the throughput bound floor(a) + 1."""
    units = min_units_for_ttft(np.array([0.0, 10.0, 10.0]), np.array([0.1, 0.5, 0.1]), 1.0, 0.3, 0.95)
    assert units[0] == 0 and units[1] == -1
    loose = min_units_for_ttft(np.array([10.0]), np.array([0.1]), 1.0, 100.0, 0.95)
    assert loose[0] == 2


def test_tighter_ttft_never_needs_fewer_units():
    lam, s = np.full(5, 300.0), np.full(5, 0.05)
    targets = [5.0, 1.0, 0.3, 0.1, 0.06]
    counts = [int(min_units_for_ttft(lam, s, 1.0, t, 0.95)[0]) for t in targets]
    assert counts == sorted(counts)


def test_operating_point_interpolation():
    """Table (10, 20k), (21, 14.8k), (40, 5k): 15.5 is halfway between the first two."""
    speeds, rates = [10.0, 21.0, 40.0], [20_000.0, 14_800.0, 5_000.0]
    assert interpolate_operating_point(speeds, rates, 21.0) == 14_800.0
    assert interpolate_operating_point(speeds, rates, 15.5) == pytest.approx(17_400.0)
    assert interpolate_operating_point(speeds, rates, 5.0) == 20_000.0
    assert interpolate_operating_point(speeds, rates, 41.0) is None
