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
from planner.errors import InputError
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
    """Prefill: 1-node units of 1,000 tokens/s, one prompt at a time; prompts of 100 tokens on
    average, exponentially spread, take S ~ Exp(mu = 10/s). 21.6 M input tokens in the hour = 60
    prompts/s, a = 6: throughput alone needs 6 units (7 for a stable queue). p95 TTFT <= 0.35 s;
    by the M/M/c closed form P(W + S > t) = e^{-mu t} + C mu (e^{-mu t} - e^{-theta t}) / (theta - mu),
    theta = 10 c - 60, e^{-3.5} = 0.030197:
    c = 7: theta = mu, the limit C mu t e^{-mu t}: 0.030197 + 0.6138 x 3.5 x 0.030197 = 0.0951 > 0.05;
    c = 8: theta = 20: 0.030197 + 0.3570 x 10 x (0.030197 - 0.000912) / 10 = 0.0406 <= 0.05.
    8 units; rental at $1 per node-hour: $8."""
    raw = tiny_instance([(21_600_000, 0, 0)], rental={"usd_per_gpu_hour": 1.0})
    raw["served_models"]["toy"]["slo"] = {"ttft_s": 0.35, "ttft_percentile": 0.95}
    raw["served_models"]["toy"]["workload"] = {"mean_prompt_tokens": 100, "prompt_tokens_scv": 1.0}
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.plan.schedule["prefill_nodes"].tolist() == [8]
    assert outcome.result.objective_usd == pytest.approx(8.0)
    without = tiny_instance([(21_600_000, 0, 0)], rental={"usd_per_gpu_hour": 1.0})
    assert solve_instance(tmp_instance(without)).plan.schedule["prefill_nodes"].tolist() == [6]


def test_a_target_below_the_prefill_time_alone_is_counted_or_refused(tmp_instance):
    """The case above with a 0.25 s target: the p95 of an exponential prefill time alone is
    -ln(0.05) x 0.1 = 0.300 s, so no number of units meets 0.25 s. The plan is made without the
    row (6 units, for throughput) and summary.json counts the hour as unattainable, with 0.3 s as
    the smallest attainable target; under hard limits the instance is refused, naming the field."""
    raw = tiny_instance([(21_600_000, 0, 0)], rental={"usd_per_gpu_hour": 1.0})
    raw["served_models"]["toy"]["slo"] = {"ttft_s": 0.25, "ttft_percentile": 0.95}
    raw["served_models"]["toy"]["workload"] = {"mean_prompt_tokens": 100, "prompt_tokens_scv": 1.0}
    outcome = solve_instance(tmp_instance(raw))
    slo = outcome.summary["slo"]["toy"]
    assert outcome.plan.schedule["prefill_nodes"].tolist() == [6]
    assert slo["ttft_unattainable_periods"] == 1
    assert slo["ttft_smallest_attainable_s"] == pytest.approx(0.2996, abs=1e-4)
    raw["penalties"] = {"allow_unserved": False}
    with pytest.raises(InputError) as refused:
        solve_instance(tmp_instance(raw))
    assert refused.value.field_name == "served_models.toy.slo.ttft_s" and "0.3 s" in refused.value.problem


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
ttfts = st.sampled_from([None, 2.0, 1.0, 0.5, 0.3, 0.2, 0.12])
demand_rows = st.lists(st.tuples(st.integers(0, 50_000_000), st.just(0), st.integers(0, 2_000_000)),
                       min_size=1, max_size=3)


def with_memory(profile: dict, kv_gb: float = 10.0, fixed_step_s: float | None = 0.02) -> dict:
    """A decode GPU with `kv_gb` of KV cache at 10^6 bytes a token: 10,000 tokens of context per
    10 GB."""
    profile["decode"]["memory"] = {"hbm_gb_per_gpu": kv_gb, "weights_gb_per_gpu": 0.0, "reserved_gb_per_gpu": 0.0,
                                   "kv_bytes_per_token": 1e6, "assumption": True}
    if fixed_step_s is not None:
        profile["decode"]["fixed_step_s"] = fixed_step_s
    return profile


def slo_cost(rows, speed, ttft, peak: float = 1.0, output_tokens: float | None = None) -> float:
    """The plan's cost; infinite when the TTFT target is unattainable in some period (a tighter
    target that cannot be met is never the cheaper promise)."""
    raw = tiny_instance(rows, rental={"usd_per_gpu_hour": 1.0})
    raw["served_models"]["toy"]["slo"] = {"decode_tokens_per_s_per_user": speed, "ttft_s": ttft}
    raw["served_models"]["toy"]["workload"] = {"mean_prompt_tokens": 100, "mean_output_tokens": output_tokens}
    raw["demand"]["peak_to_mean_ratio"] = peak
    profile = with_memory(with_points(tiny_profile(unit_prefill=2), 10.0, POINTS))
    with tempfile.TemporaryDirectory() as folder:
        outcome = solve_instance(write_instance(Path(folder), raw, [profile]))
        if outcome.summary["slo"]["toy"]["ttft_unattainable_periods"]:
            return float("inf")
        return outcome.result.objective_usd


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


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(demand_rows, speeds, ttfts, st.floats(1.0, 2.0), st.floats(1.0, 2.0))
def test_a_higher_peak_ratio_never_costs_less(rows, speed, ttft, p1, p2):
    low, high = sorted((p1, p2))
    assert slo_cost(rows, speed, ttft, peak=high) >= slo_cost(rows, speed, ttft, peak=low) - 1e-6


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(demand_rows, speeds, st.floats(10.0, 4000.0), st.floats(10.0, 4000.0))
def test_a_longer_context_never_costs_less(rows, speed, o1, o2):
    short, long = sorted((o1, o2))
    assert slo_cost(rows, speed, None, output_tokens=long) >= slo_cost(rows, speed, None, output_tokens=short) - 1e-6


@pytest.mark.parametrize("output_tokens, fixed_step_s, nodes", [(200, 0.02, 1), (1800, 0.02, 2), (1800, None, 2)])
def test_kv_memory_caps_decode_by_hand(tmp_instance, output_tokens, fixed_step_s, nodes):
    """180 output tokens/s at 10 tokens/s per user: the operating point makes 200 tokens/s per
    1-GPU node with 200 / 10 = 20 sequences. 10 GB of KV cache at 10^6 bytes a token hold 10,000
    tokens: at a 100-token prompt and 200 output tokens (context 200) 50 sequences, the point fits,
    1 node; at 1,800 output tokens (context 1,000) 10 sequences: with a 20 ms fixed step,
    k = (0.1 - 0.02) / 20 = 0.004 s and users see 1 / (0.02 + 0.04) = 16.7 tokens/s, 166.7 tokens/s
    per node; without one, 10 x 10 = 100: either way 2 nodes. summary.json reports the limit and
    the periods it binds."""
    raw = tiny_instance([(0, 0, 648_000)], rental={"usd_per_gpu_hour": 1.0})
    raw["served_models"]["toy"]["slo"] = {"decode_tokens_per_s_per_user": 10.0}
    raw["served_models"]["toy"]["workload"] = {"mean_prompt_tokens": 100, "mean_output_tokens": output_tokens}
    outcome = solve_instance(tmp_instance(raw, [with_memory(with_points(tiny_profile(), 10.0, POINTS),
                                                            fixed_step_s=fixed_step_s)]))
    assert outcome.plan.schedule["decode_nodes"].tolist() == [nodes]
    kv = outcome.summary["slo"]["toy"]["by_node_type"]["gpu"]
    assert kv["kv_sequences_per_gpu_at_speed"] == pytest.approx(20.0)
    assert kv["kv_sequences_per_gpu_limit"] == pytest.approx(10_000 / (100 + output_tokens / 2))
    assert kv["kv_binding_periods"] == (1 if nodes == 2 else 0)
    assert kv["kv_sequences_per_gpu_peak"] <= kv["kv_sequences_per_gpu_limit"] + 1e-9


def test_a_peak_inside_the_hour_sizes_capacity_and_queues(tmp_instance):
    """Capacity: 150 output tokens/s on 100-token/s nodes: 2 nodes at the mean (1.5 of work); at a
    peak 1.4 x the mean, 210 tokens/s: 3 nodes; revenue stays the hour's.
    Queues: the 8-unit TTFT case (60 prompts/s, S ~ Exp(10/s), p95 <= 0.35 s) at a peak 7/6 x
    the mean: 70 prompts/s, a = 7. c = 8: theta = mu, 0.030197 (1 + C(8, 7) 3.5) = 0.030197 x
    (1 + 0.6353 x 3.5) = 0.0973 > 0.05; c = 9: theta = 20, 0.030197 + C(9, 7) (0.030197 - 0.000912)
    = 0.030197 + 0.3849 x 0.029285 = 0.0415: 9 units."""
    raw = tiny_instance([(0, 0, 540_000)], rental={"usd_per_gpu_hour": 1.0},
                        prices={"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 10.0})
    flat = solve_instance(tmp_instance(raw))
    raw["demand"]["peak_to_mean_ratio"] = 1.4
    peaked = solve_instance(tmp_instance(raw))
    assert flat.plan.schedule["decode_nodes"].tolist() == [2]
    assert peaked.plan.schedule["decode_nodes"].tolist() == [3]
    assert peaked.summary["revenue_usd"] == flat.summary["revenue_usd"]
    ttft = tiny_instance([(21_600_000, 0, 0)], rental={"usd_per_gpu_hour": 1.0})
    ttft["served_models"]["toy"]["slo"] = {"ttft_s": 0.35, "ttft_percentile": 0.95}
    ttft["served_models"]["toy"]["workload"] = {"mean_prompt_tokens": 100, "prompt_tokens_scv": 1.0}
    ttft["demand"]["peak_to_mean_ratio"] = 7 / 6
    assert solve_instance(tmp_instance(ttft)).plan.schedule["prefill_nodes"].tolist() == [9]


def test_a_tpot_percentile_serves_at_a_faster_mean_speed(tmp_instance):
    """A promised 10 tokens/s per user at the p99 of the time between tokens, step times
    lognormal with CV 0.3: the mean speed must be 10 x 1.8962 = 18.96 tokens/s (test_slo.py), where
    the table gives 200 + (18.96 - 10) / 10 x (100 - 200) = 110.4 tokens/s per node: 150 tokens/s
    need 2 nodes (1 at the mean speed's 200). Without the spread in the profile the promise is
    read as a mean and summary.json says so."""
    raw = tiny_instance([(0, 0, 540_000)], rental={"usd_per_gpu_hour": 1.0})
    raw["served_models"]["toy"]["slo"] = {"decode_tokens_per_s_per_user": 10.0, "decode_speed_percentile": 0.99}
    spread = with_points(tiny_profile(), 10.0, POINTS)
    spread["decode"]["step_time_cv"] = 0.3
    tail = solve_instance(tmp_instance(raw, [spread]))
    point = tail.summary["slo"]["toy"]
    assert point["by_node_type"]["gpu"]["decode_mean_tokens_per_s_per_user"] == pytest.approx(18.962, abs=1e-3)
    assert point["by_node_type"]["gpu"]["decode_tokens_per_s_per_node"] == pytest.approx(110.38, abs=0.01)
    assert tail.plan.schedule["decode_nodes"].tolist() == [2]
    assert point["decode_speed_basis"] == "p99 of the time between tokens"
    mean = solve_instance(tmp_instance(raw, [with_points(tiny_profile(), 10.0, POINTS)]))
    assert mean.plan.schedule["decode_nodes"].tolist() == [1]
    assert mean.summary["slo"]["toy"]["decode_speed_basis"] == "mean (no profile gives the step time's spread)"


def test_a_fleet_too_small_for_the_ttft_target_still_plans_and_says_so(tmp_instance):
    """The TTFT case above (8 units needed) with at most 7 nodes to rent: 7 units, and the
    missing eighth of the pool, sigma = 1 - 7/8, is priced like 1/8 of the hour's 21.6 M input
    tokens going unserved at $1,000 per M: 7 + 2,700 = $2,707; the summary names the period."""
    raw = tiny_instance([(21_600_000, 0, 0)], rental={"usd_per_gpu_hour": 1.0, "max_nodes": 7})
    raw["served_models"]["toy"]["slo"] = {"ttft_s": 0.35, "ttft_percentile": 0.95}
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


def test_an_empirical_prompt_file_plans_like_its_named_shape(tmp_instance):
    """Prompts all of 100 tokens, read from a file (empirical), need the same units as the named
    shape with SCV 0; here 7: at 60 prompts/s, S = 0.1 s exactly, a p95 of 0.35 s leaves 0.25 s of
    wait, which 7 streams (a = 6) keep below the 5 % tail; and the file's path is read relative to
    the instance."""
    def units(workload, files=()):
        raw = tiny_instance([(21_600_000, 0, 0)], rental={"usd_per_gpu_hour": 1.0})
        raw["served_models"]["toy"]["slo"] = {"ttft_s": 0.35, "ttft_percentile": 0.95}
        raw["served_models"]["toy"]["workload"] = workload
        path = tmp_instance(raw)
        for name, text in files:
            (path.parent / name).write_text(text)
        return solve_instance(path).plan.schedule["prefill_nodes"].tolist()

    alike = units({"mean_prompt_tokens": 100, "prompt_tokens_scv": 0.0})
    table = units({"mean_prompt_tokens": 100, "prompt_tokens_distribution": "empirical",
                   "prompt_tokens_file": "prompts.csv"}, [("prompts.csv", "prompt_tokens\n" + "100\n" * 200)])
    assert alike == table == [7]


def test_kv_peak_counts_sequences_at_the_speed_memory_allows(tmp_instance):
    """The capped node of the test above (10 sequences, users at 1 / (0.02 + 0.004 x 10) = 16.67
    tokens/s, 166.7 tokens/s per node) serving 320 tokens/s: 2 nodes of 160 tokens/s each, so
    160 / 16.67 = 9.6 sequences per GPU, within the 10 memory holds (at the promised 10 tokens/s
    it would read 16)."""
    raw = tiny_instance([(0, 0, 1_152_000)], rental={"usd_per_gpu_hour": 1.0})
    raw["served_models"]["toy"]["slo"] = {"decode_tokens_per_s_per_user": 10.0}
    raw["served_models"]["toy"]["workload"] = {"mean_prompt_tokens": 100, "mean_output_tokens": 1800}
    outcome = solve_instance(tmp_instance(raw, [with_memory(with_points(tiny_profile(), 10.0, POINTS),
                                                            fixed_step_s=0.02)]))
    assert outcome.plan.schedule["decode_nodes"].tolist() == [2]
    kv = outcome.summary["slo"]["toy"]["by_node_type"]["gpu"]
    assert kv["kv_sequences_per_gpu_peak"] == pytest.approx(9.6)


def test_each_period_holds_at_its_own_peak(tmp_instance):
    """Two periods of 180 output tokens/s on 200-token/s nodes (10 tokens/s per user). A peaks file
    (the stats a trace gives) says the second period's busiest window runs at twice its mean: 360
    tokens/s, so 2 nodes there and 1 in the first; summary.json reports the largest ratio."""
    raw = tiny_instance([(0, 0, 648_000), (0, 0, 648_000)], rental={"usd_per_gpu_hour": 1.0})
    raw["served_models"]["toy"]["slo"] = {"decode_tokens_per_s_per_user": 10.0}
    raw["demand"]["peaks_file"] = "peaks.csv"
    path = tmp_instance(raw, [with_points(tiny_profile(), 10.0, POINTS)])
    (path.parent / "peaks.csv").write_text("period,served_model,requests,peak_to_mean_ratio\n0,toy,5,\n1,toy,5,2\n")
    outcome = solve_instance(path)
    assert outcome.plan.schedule["decode_nodes"].tolist() == [1, 2]
    assert outcome.summary["slo"]["toy"]["peak_to_mean_ratio"] == 2.0
