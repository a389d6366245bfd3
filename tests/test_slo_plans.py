"""SLO-aware plans: hand-derived optima, a mixed fleet chosen exactly when cheaper, the frontier,
and invariants (a tighter SLO or more demand never costs less)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.api import solve_instance
from planner.cli import main

from .conftest import REFERENCE_INSTANCE, tiny_instance, tiny_profile, write_instance


def with_points(profile: dict, measured_speed: float, points: list[tuple[float, float]]) -> dict:
    profile["decode"]["tokens_per_s_per_user"] = measured_speed
    profile["decode"]["output_tokens_per_s_per_node"] = dict(points)[measured_speed]
    profile["decode"]["operating_points"] = [
        {"tokens_per_s_per_user": v, "output_tokens_per_s_per_node": r} for v, r in points
    ]
    return profile


POINTS = [(10.0, 200.0), (20.0, 100.0), (40.0, 25.0)]


@pytest.mark.parametrize("speed, nodes", [(10, 1), (14, 1), (20, 2), (30, 3)])
def test_decode_speed_picks_the_operating_point(tmp_instance, speed, nodes):
    """150 output tokens/s of demand (0.54 M per hour). The table gives 200 tokens/s per node at
    10 tokens/s per user, 160 at 14 (interpolated), 100 at 20, and 62.5 at 30 (between 100 at 20
    and 25 at 40): 1, 1, 2 and 3 nodes."""
    raw = tiny_instance([(0, 0, 540_000)], rental={"usd_per_gpu_hour": 1.0})
    raw["served_models"]["toy"]["slo"] = {"decode_tokens_per_s_per_user": speed}
    outcome = solve_instance(tmp_instance(raw, [with_points(tiny_profile(), 10.0, POINTS)]))
    assert outcome.plan.schedule["decode_nodes"].tolist() == [nodes]


def test_ttft_percentile_sets_the_prefill_units(tmp_instance):
    """Prefill: 1-node units of 1,000 tokens/s, one prompt at a time; prompts of 100 tokens take
    S = 0.1 s. 21.6 M input tokens in the hour = 60 prompts/s, a = 6: throughput alone needs 6
    units. p95 TTFT <= 0.2 s means P(W > 0.1 s) <= 0.05. Erlang C(7, 6) = 0.614 and
    0.614 e^{-(70 - 60) 0.1} = 0.226: too slow; C(8, 6) = 0.357 and 0.357 e^{-(80 - 60) 0.1}
    = 0.048: 8 units. Rental at $1 per node-hour: $8."""
    raw = tiny_instance([(21_600_000, 0, 0)], rental={"usd_per_gpu_hour": 1.0})
    raw["served_models"]["toy"]["slo"] = {"ttft_s": 0.2, "ttft_percentile": 0.95}
    raw["served_models"]["toy"]["workload"] = {"mean_prompt_tokens": 100, "prompt_tokens_scv": 1.0}
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.plan.schedule["prefill_nodes"].tolist() == [8]
    assert outcome.result.objective_usd == pytest.approx(8.0)
    without = tiny_instance([(21_600_000, 0, 0)], rental={"usd_per_gpu_hour": 1.0})
    assert solve_instance(tmp_instance(without)).plan.schedule["prefill_nodes"].tolist() == [6]


def two_type_instance(output_tokens_per_s: float) -> tuple[dict, list[dict]]:
    """Decode only. Type a: 1-node units, 100 tokens/s, $1 per node-hour; type b: 1-node units,
    250 tokens/s, $2.2 per node-hour; both rented without limit."""
    raw = tiny_instance([(0, 0, round(output_tokens_per_s * 3600))], rental={"usd_per_gpu_hour": 1.0})
    raw["node_types"] = {"a": {"gpus_per_node": 1, "rental": {"usd_per_gpu_hour": 1.0}},
                         "b": {"gpus_per_node": 1, "rental": {"usd_per_gpu_hour": 2.2}}}
    raw["served_models"]["toy"]["deployments"] = {"a": {"profile": "toy@a"}, "b": {"profile": "toy@b"}}
    profiles = [tiny_profile(node_type="a", decode_tps=100.0), tiny_profile(node_type="b", decode_tps=250.0)]
    return raw, profiles


@pytest.mark.parametrize("demand, a_nodes, b_nodes, cost", [
    # 190/s: 2a = $2.0 < 1b = $2.2 < 1a + 1b.
    (190, 2, 0, 2.0),
    # 340/s: 1a + 1b = $3.2 < 4a = $4.0 < 2b = $4.4: the mix wins.
    (340, 1, 1, 3.2),
    # 490/s: 2b = $4.4 < 5a = $5.0 < 1b + 3a = $5.2.
    (490, 0, 2, 4.4),
])
def test_a_mixed_fleet_is_chosen_exactly_when_cheaper(tmp_instance, demand, a_nodes, b_nodes, cost):
    raw, profiles = two_type_instance(demand)
    outcome = solve_instance(tmp_instance(raw, profiles))
    allocation = outcome.result.tables["units"].groupby("node_type")["nodes"].sum()
    assert (allocation["a"], allocation["b"]) == (a_nodes, b_nodes)
    assert outcome.result.objective_usd == pytest.approx(cost)


def test_unattainable_speed_is_bad_input_naming_the_slo(tmp_instance):
    raw = tiny_instance([(0, 0, 540_000)], rental={"usd_per_gpu_hour": 1.0})
    raw["served_models"]["toy"]["slo"] = {"decode_tokens_per_s_per_user": 50}
    path = tmp_instance(raw, [with_points(tiny_profile(), 10.0, POINTS)])
    result = CliRunner().invoke(main, ["solve", str(path)])
    assert result.exit_code == 2
    assert "served_models.toy.slo.decode_tokens_per_s_per_user = 50" in result.stderr
    assert "fastest operating point is 40" in result.stderr


def test_frontier_on_the_reference_day(tmp_path):
    out = tmp_path / "frontier"
    result = CliRunner().invoke(main, ["frontier", str(REFERENCE_INSTANCE), "--speeds", "18,21,30,50",
                                       "--ttft", "none,1", "--out", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    frame = pd.read_csv(out / "frontier.csv")
    assert (out / "frontier.png").stat().st_size > 0
    solved = frame[frame["status"] == "optimal"]
    for _, group in solved.groupby(solved["ttft_s"].fillna(-1)):
        assert group["cost_usd"].is_monotonic_increasing
    at_21 = solved[(solved["decode_tokens_per_s_per_user"] == 21) & solved["ttft_s"].isna()]
    assert at_21["nodes_mean"].item() == pytest.approx(5244 / 24)  # the reference day's plan, units committed
    assert (frame.loc[frame["decode_tokens_per_s_per_user"] == 50, "status"] == "unattainable").all()


speeds = st.sampled_from([10.0, 12.0, 15.0, 20.0, 25.0, 30.0, 40.0])
ttfts = st.sampled_from([None, 2.0, 1.0, 0.5, 0.3, 0.2])
demand_rows = st.lists(st.tuples(st.integers(0, 50_000_000), st.just(0), st.integers(0, 2_000_000)),
                       min_size=1, max_size=3)


def slo_cost(rows, speed, ttft) -> float:
    raw = tiny_instance(rows, rental={"usd_per_gpu_hour": 1.0})
    raw["served_models"]["toy"]["slo"] = {"decode_tokens_per_s_per_user": speed, "ttft_s": ttft}
    raw["served_models"]["toy"]["workload"] = {"mean_prompt_tokens": 100}
    with tempfile.TemporaryDirectory() as folder:
        path = write_instance(Path(folder), raw, [with_points(tiny_profile(unit_prefill=2), 10.0, POINTS)])
        return solve_instance(path).result.objective_usd


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(demand_rows, speeds, speeds, ttfts, ttfts)
def test_a_tighter_slo_never_costs_less(rows, v1, v2, t1, t2):
    loose_speed, tight_speed = sorted((v1, v2))
    targets = sorted((t for t in (t1, t2) if t is not None), reverse=True)
    loose_ttft = None if None in (t1, t2) else targets[0]
    tight_ttft = targets[-1] if targets else None
    assert slo_cost(rows, tight_speed, tight_ttft) >= slo_cost(rows, loose_speed, loose_ttft) - 1e-6


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(demand_rows, speeds, ttfts, st.floats(1.0, 3.0))
def test_more_demand_never_costs_less_under_an_slo(rows, speed, ttft, factor):
    more = [(int(i * factor), h, int(o * factor)) for i, h, o in rows]
    assert slo_cost(more, speed, ttft) >= slo_cost(rows, speed, ttft) - 1e-6


def test_a_fleet_too_small_for_the_ttft_target_still_plans_and_says_so(tmp_instance):
    """The TTFT case above (8 units needed) with at most 7 nodes to rent: 7 units, and the
    missing eighth of the pool, sigma = 1 - 7/8, is priced like 1/8 of the hour's 21.6 M input
    tokens going unserved at $1,000 per M: 7 + 2,700 = $2,707; the summary names the period."""
    raw = tiny_instance([(21_600_000, 0, 0)], rental={"usd_per_gpu_hour": 1.0, "max_nodes": 7})
    raw["served_models"]["toy"]["slo"] = {"ttft_s": 0.2, "ttft_percentile": 0.95}
    raw["served_models"]["toy"]["workload"] = {"mean_prompt_tokens": 100, "prompt_tokens_scv": 1.0}
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.plan.schedule["prefill_nodes"].tolist() == [7]
    assert outcome.result.objective_usd == pytest.approx(7 + 2700)
    assert outcome.summary["ttft_shortfall"] == {"periods": 1, "by_served_model": {"toy": [0]}}


@pytest.mark.slow
def test_the_frontier_is_the_same_on_two_processes():
    from planner import api
    from planner.studies.frontier import slo_frontier

    inputs = api.load(REFERENCE_INSTANCE)
    one = slo_frontier(inputs, "deepseek-r1", [18.0, 21.0], [None, 1.0])
    two = slo_frontier(inputs, "deepseek-r1", [18.0, 21.0], [None, 1.0], workers=2)
    pd.testing.assert_frame_equal(one, two)
