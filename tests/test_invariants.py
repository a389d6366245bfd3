"""Invariants over generated instances: more demand never costs less; the objective is the
economics' cost plus the penalty; every plan respects its bounds."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.api import solve_instance

from .conftest import tiny_instance, tiny_profile, write_instance

tokens = st.integers(min_value=0, max_value=3_000_000)
period_rows = st.tuples(tokens.map(lambda x: x * 10), st.just(0), tokens)


@st.composite
def instances(draw):
    periods = draw(st.lists(period_rows, min_size=1, max_size=4))
    owned = draw(st.one_of(st.none(), st.builds(lambda c: {"usd_per_gpu_hour": c}, st.floats(0.5, 3))))
    rental = draw(st.builds(lambda c, n: {"usd_per_gpu_hour": c, "max_nodes": n},
                            st.floats(0.5, 5), st.one_of(st.none(), st.integers(0, 20))))
    profile = tiny_profile(unit_prefill=draw(st.integers(1, 4)), unit_decode=draw(st.integers(1, 4)))
    return tiny_instance(periods, owned=owned, rental=rental), profile


def solve_raw(raw, profile):
    with tempfile.TemporaryDirectory() as folder:
        return solve_instance(write_instance(Path(folder), raw, [profile]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.integers(0, 3), st.floats(1.0, 3.0))
def test_more_demand_never_costs_less(case, period, factor):
    raw, profile = case
    base = solve_raw(raw, profile)
    rows = list(raw["_demand_rows"])
    t = period % len(rows)
    _, model, inputs, hits, outputs = rows[t]
    rows[t] = (t, model, int(inputs * factor), hits, int(outputs * factor))
    more = solve_raw({**raw, "_demand_rows": rows}, profile)
    assert more.result.objective_usd >= base.result.objective_usd - 1e-6


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_objective_is_cost_plus_penalty_and_plan_respects_bounds(case):
    raw, profile = case
    outcome = solve_raw(raw, profile)
    s, schedule = outcome.summary, outcome.plan.schedule
    penalty = 1000.0 * (s["unserved_tokens"]["input"] + s["unserved_tokens"]["output"]) / 1e6
    assert outcome.result.objective_usd == pytest.approx(s["cost_usd"]["total"] + penalty, rel=1e-6, abs=1e-4)
    assert (schedule["idle_nodes"] >= -1e-9).all()
    limit = raw["node_types"]["gpu"]["rental"]["max_nodes"]
    if limit is not None:
        assert (schedule["rented_nodes"] <= limit).all()
    assert (schedule["unserved_output_tokens"] <= schedule["output_tokens"] + 1e-6).all()
