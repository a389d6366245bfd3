"""Tiny instances whose optimum is derived by hand in each docstring.

Units in the fixtures: a profile node serves 1,000 input tokens/s in prefill and 100 output
tokens/s in decode (tests/conftest.tiny_profile), so in a 1-hour period one decode node serves
100 x 3,600 = 0.36 M output tokens and one prefill node 3.6 M input tokens. GPUs per node = 1,
so a price in USD per GPU-hour is a price per node-hour.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.api import solve_instance
from planner.api import validate_instance as load_instance

from .conftest import tiny_instance, tiny_profile, write_instance

DECODE_NODE_MTOK = 0.36  # M output tokens per decode node-hour
PREFILL_NODE_MTOK = 3.6  # M input tokens per prefill node-hour


def output_only(units_needed: list[float]) -> list[tuple[float, float, float]]:
    """Demand rows (input, hit, output tokens) needing `units_needed` decode nodes per period."""
    return [(0, 0, round(u * DECODE_NODE_MTOK * 1e6)) for u in units_needed]


def test_whole_units_are_rounded_up(tmp_instance):
    """Prefill units of 4 nodes, decode units of 2 nodes, rental $1 per node-hour.

    One hour: 20 M input tokens; a prefill unit serves 4 x 3.6 = 14.4 M, so 20 / 14.4 = 1.39
    units -> 2 units = 8 nodes. 1.0 M output tokens; a decode unit serves 2 x 0.36 = 0.72 M,
    so 1.39 units -> 2 units = 4 nodes. Optimum: 12 nodes, cost $12, nothing unserved.
    """
    path = tmp_instance(tiny_instance([(20_000_000, 0, 1_000_000)], rental={"usd_per_gpu_hour": 1.0}),
                        [tiny_profile(unit_prefill=4, unit_decode=2)])
    outcome = solve_instance(path)
    assert outcome.result.status == "optimal"
    assert outcome.result.objective_usd == pytest.approx(12.0)
    schedule = outcome.plan.schedule
    assert schedule["prefill_nodes"].tolist() == [8]
    assert schedule["decode_nodes"].tolist() == [4]
    assert outcome.summary["unserved_tokens"]["output"] == 0


@pytest.mark.parametrize(
    "rental_usd, owned_nodes, cost_usd",
    [
        # b = 1.5: node 1 is needed 4 h (4a = 4 < 6), node 2 3 h (4 < 4.5), node 3 1 h (4 > 1.5).
        (1.5, 2, 2 * 4 * 1.0 + 1 * 1.5),
        # b = 1.2: node 2 now rents for 3 x 1.2 = 3.6 < 4: own one, rent 0+1+1+2 = 4 node-hours.
        (1.2, 1, 1 * 4 * 1.0 + 4 * 1.2),
    ],
)
def test_owning_versus_renting_break_even(tmp_instance, rental_usd, owned_nodes, cost_usd):
    """Four hours needing 1, 2, 2, 3 decode nodes (0.9, 1.9, 1.9, 2.9 nodes of work).

    An owned node costs a = $1 per hour for all 4 hours whether used or not; a rented node costs
    b per hour used. The k-th node is worth owning iff 4a < b x (hours that need >= k nodes);
    those hours are 4, 3 and 1 for k = 1, 2, 3. The docstring of each case gives the optimum.
    """
    raw = tiny_instance(output_only([0.9, 1.9, 1.9, 2.9]), owned={"usd_per_gpu_hour": 1.0},
                        rental={"usd_per_gpu_hour": rental_usd})
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.summary["fleet"]["owned"] == {"gpu": owned_nodes}
    assert outcome.result.objective_usd == pytest.approx(cost_usd)
    assert outcome.summary["cost_usd"]["total"] == pytest.approx(cost_usd)
    assert outcome.plan.schedule["decode_nodes"].tolist() == [1, 2, 2, 3]


@pytest.mark.parametrize("penalty, unserved_mtok, objective", [
    # 1 unit ($10) + 0.18 M x $50 = $19 beats 2 units ($20) and 0 units (0.54 x 50 = $27).
    (50.0, 0.18, 19.0),
    # 1 unit + 0.18 x $60 = $20.8 > 2 units ($20): serve everything.
    (60.0, 0.0, 20.0),
])
def test_shortfall_penalty_against_a_whole_unit(tmp_instance, penalty, unserved_mtok, objective):
    """One hour, 0.54 M output tokens = 1.5 decode nodes of work; a node rents at $10 per hour.

    The plan either rents 2 nodes ($20) or rents 1 and leaves 0.18 M tokens unserved at the
    penalty; the cases give the arithmetic.
    """
    raw = tiny_instance(output_only([1.5]), rental={"usd_per_gpu_hour": 10.0},
                        penalties={"unserved_input_usd_per_million_tokens": penalty,
                                   "unserved_output_usd_per_million_tokens": penalty})
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.result.objective_usd == pytest.approx(objective)
    assert outcome.summary["unserved_tokens"]["output"] == pytest.approx(unserved_mtok * 1e6, abs=1)


def test_no_way_to_serve_leaves_everything_unserved(tmp_instance):
    """A node type that can be neither owned nor rented: every token goes unserved, at the
    penalty ($1,000 per million by default): 0.36 M output tokens cost $360; status optimal."""
    outcome = solve_instance(tmp_instance(tiny_instance(output_only([1.0]))))
    assert outcome.result.status == "optimal"
    assert outcome.result.objective_usd == pytest.approx(360.0)
    assert outcome.summary["unserved_tokens"]["output_share"] == pytest.approx(1.0)


def test_time_of_day_prices_are_weighted_by_the_share_of_each_period_in_the_window(tmp_instance):
    """Two 1-hour periods from 00:00 (UTC+8 local clock); output list price $2 per M, $1 per M
    in the window 00:30-02:00. Period 0 is half in the window: 0.5 x 2 + 0.5 x 1 = $1.5 per M;
    period 1 wholly: $1 per M. With 0.324 M output tokens each (0.9 decode node-hours), revenue
    is 0.324 x 1.5 + 0.324 x 1.0 = $0.81; input is free.
    """
    raw = tiny_instance(
        output_only([0.9, 0.9]), rental={"usd_per_gpu_hour": 0.1}, start="2025-03-01T00:00:00+08:00",
        prices={"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 2.0},
        price_windows=[{"name": "night", "start": "00:30", "end": "02:00",
                        "prices": {"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 1.0}}],
    )
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.plan.schedule["revenue_usd"].tolist() == pytest.approx([0.324 * 1.5, 0.324 * 1.0])
    assert outcome.summary["revenue_usd"]["total"] == pytest.approx(0.81)
    assert outcome.summary["margin"]["cost_profit"] == pytest.approx((0.81 - 0.2) / 0.2)
    assert outcome.summary["margin"]["gross"] == pytest.approx((0.81 - 0.2) / 0.81)


def test_price_window_past_midnight(tmp_instance):
    """Four 1-hour periods from 22:00; window 23:00-01:00 covers periods 1 and 2 only."""
    raw = tiny_instance(
        output_only([1, 1, 1, 1]), start="2025-03-01T22:00:00+00:00",
        prices={"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 4.0},
        price_windows=[{"name": "night", "start": "23:00", "end": "01:00",
                        "prices": {"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 1.0}}],
    )
    data = load_instance(tmp_instance(raw))
    assert data.prices_usd_per_mtok["output"][0].tolist() == [4.0, 1.0, 1.0, 4.0]


def test_cache_hits_cost_their_relative_share_of_prefill_work(tmp_instance):
    """Profile measured at 0 % hits with hits at 25 % of a miss's work; one prefill node serves
    3.6 M miss tokens per hour. 10 M input tokens of which 8 M hit: work = 2 + 0.25 x 8 = 4 M
    miss-equivalents -> 4 / 3.6 = 1.11 -> 2 nodes. With 0 hits it would be 10 / 3.6 -> 3 nodes.
    """
    profile = tiny_profile(hit_cost=0.25)
    with_hits = solve_instance(tmp_instance(tiny_instance([(10_000_000, 8_000_000, 0)],
                                                          rental={"usd_per_gpu_hour": 1.0}), [profile]))
    assert with_hits.plan.schedule["prefill_nodes"].tolist() == [2]
    no_hits = solve_instance(tmp_instance(tiny_instance([(10_000_000, 0, 0)],
                                                        rental={"usd_per_gpu_hour": 1.0}), [profile]))
    assert no_hits.plan.schedule["prefill_nodes"].tolist() == [3]


def test_owned_fleet_bounds_are_respected(tmp_instance):
    """min_nodes forces owning idle capacity: demand needs 1 node but 3 must be owned ($1/h):
    cost 3 x 1 h = $3, 2 nodes idle."""
    raw = tiny_instance(output_only([0.5]), owned={"usd_per_gpu_hour": 1.0, "min_nodes": 3})
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.result.objective_usd == pytest.approx(3.0)
    assert outcome.plan.schedule["idle_nodes"].tolist() == [2]


def test_rental_limit_caps_nodes_and_the_rest_is_unserved(tmp_instance):
    """Demand needs 3 nodes (2.5 nodes of work) but at most 2 can be rented: 0.5 x 0.36 = 0.18 M
    output tokens go unserved at $1,000 per M = $180, plus 2 node-hours at $1."""
    raw = tiny_instance(output_only([2.5]), rental={"usd_per_gpu_hour": 1.0, "max_nodes": 2})
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.plan.schedule["decode_nodes"].tolist() == [2]
    assert outcome.summary["unserved_tokens"]["output"] == pytest.approx(180_000, abs=1)
    assert outcome.result.objective_usd == pytest.approx(2.0 + 180.0)


def test_the_rounded_lp_start_is_feasible_and_changes_no_optimum(tmp_instance):
    """The warm start (units of the LP rounded up, no training; off by default) is a complete feasible plan; with
    it, HiGHS reaches the same optimum: the reference day's $83,424 with units that start and stop
    for free (rounded units can break minimum up and down times: no start then), the break-even
    case's $9.5."""
    from planner.model.build import build_model
    from planner.model.solve import solve, solver_options
    from planner.model.warm_start import rounded_lp_start

    from .conftest import REFERENCE_INSTANCE

    reference = load_instance(REFERENCE_INSTANCE, ["solver.formulation=free_starts"])
    start = rounded_lp_start(build_model(reference), 10.0)
    assert start is not None and len(start) > 0
    forced = solve(reference, solver_options(reference, warm_start="rounded_lp"))
    assert forced.objective_usd == pytest.approx(83_424)
    raw = tiny_instance(output_only([0.9, 1.9, 1.9, 2.9]), owned={"usd_per_gpu_hour": 1.0},
                        rental={"usd_per_gpu_hour": 1.5})
    tiny = load_instance(tmp_instance(raw))
    assert solve(tiny, solver_options(tiny, warm_start="rounded_lp")).objective_usd == pytest.approx(9.5)


def spot_instance(demand_tokens_per_s: float, spot_price: float | None, preemptions: float) -> tuple[dict, list]:
    """Decode only, 1-node units of 100 tokens/s: on-demand nodes at $1 an hour, and (with a
    spot price) spot nodes of the same GPUs preempted at `preemptions` per node-hour."""
    raw = tiny_instance([(0, 0, round(demand_tokens_per_s * 3600))], rental={"usd_per_gpu_hour": 1.0})
    profiles = [tiny_profile(node_type="gpu")]
    if spot_price is not None:
        raw["node_types"]["spot"] = {"gpus_per_node": 1, "rental": {"usd_per_gpu_hour": spot_price},
                                     "preemptions_per_node_hour": preemptions}
        raw["served_models"]["toy"]["deployments"]["spot"] = {"profile": "toy@spot"}
        profiles.append(tiny_profile(node_type="spot"))
    return raw, profiles


def test_spot_units_serve_until_preempted_by_hand(tmp_instance):
    """Spot nodes preempted once an hour serve (1 - e^-1) / 1 = 63.2 % of an hour on average: 250
    tokens/s need 4 spot nodes (4 x 63.2 = 252.8) at $0.3, $1.2, against 3 on-demand nodes at $1, $3;
    the plan takes the spot nodes."""
    raw, profiles = spot_instance(250, 0.3, 1.0)
    outcome = solve_instance(tmp_instance(raw, profiles))
    assert outcome.result.objective_usd == pytest.approx(1.2)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(demand=st.floats(50, 900), price=st.floats(0.05, 1.0))
def test_a_spot_offer_without_preemption_never_costs_more(tmp_path_factory, demand, price):
    """Spot nodes that are never preempted, at a price at most the on-demand one: one more option,
    so the plan never costs more than without them."""
    without = solve_instance(write_instance(tmp_path_factory.mktemp("on-demand"),
                                            *spot_instance(demand, None, 0.0))).result.objective_usd
    with_spot = solve_instance(write_instance(tmp_path_factory.mktemp("spot"),
                                              *spot_instance(demand, price, 0.0))).result.objective_usd
    assert with_spot <= without + 1e-9
