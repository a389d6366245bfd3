"""The published day: its arithmetic, the schedule scored by planner, the shipped instance."""

from __future__ import annotations

import filecmp
import json

import numpy as np
import pandas as pd
import pytest

from planner.io.inputs import load_inputs
from planner.io.reference import load_reference
from planner.physics import published as ref
from planner.api import compare_with_reference, reproduce, solve_instance
from planner.api import validate_instance as load_instance

from .conftest import REFERENCE_INSTANCE, REFERENCE_YAML, ROOT


@pytest.fixture(scope="module")
def published():
    return load_reference(REFERENCE_YAML)


@pytest.fixture(scope="module")
def day():
    return load_instance(REFERENCE_INSTANCE)


def test_published_arithmetic(published):
    """226.75 x 8 x $2 x 24 = $87,072; R1 prices: 342 B x 0.14 + 266 B x 0.55 + 168 B x 2.19
    = $562,100, 0.013 % above the published $562,027; (562,027 - 87,072) / 87,072 = 5.45."""
    a = ref.published_arithmetic(published)
    assert a["daily_cost_usd"] == 87_072
    assert a["theoretical_revenue_usd"] == pytest.approx(562_100)
    assert abs(a["revenue_error_vs_published"]) < 0.001
    assert round(a["cost_profit_margin_published_revenue"], 2) == 5.45
    assert a["cost_profit_margin"] == pytest.approx(5.45, abs=0.01)


def test_throughputs_are_day_averages_over_all_node_time(published):
    """608 B / 73.7 k/s + 168 B / 14.8 k/s = 5,445 node-hours, within 0.1 % of 226.75 x 24."""
    a = ref.published_arithmetic(published)
    assert a["node_hours_from_throughput"] == pytest.approx(a["node_hours_from_average"], rel=1e-3)


def test_node_steps_average_226_75_and_match_the_hourly_cost(published, day):
    nodes = ref.nodes_per_period(published, day.period_starts, day.period_hours)
    assert nodes.mean() == pytest.approx(226.75, abs=1e-12)
    assert nodes.max() == 278
    assert nodes * 16 == pytest.approx(published.hourly["cost_usd"].to_numpy())


def test_role_split_gives_the_published_prefill_node_hours(published, day):
    """Each 30-node step is 3 prefill units (12 nodes) + 1 decode unit (18): the prefill
    node-hours are 2,292, and 608 B / 73.7 k/s / 3,600 = 2,291.6."""
    split = ref.role_split(published)
    assert (split.peak_prefill_nodes, split.peak_decode_nodes) == (116, 162)
    assert (split.step_prefill_nodes, split.step_decode_nodes) == (12, 18)
    roles = split.split(ref.nodes_per_period(published, day.period_starts, day.period_hours))
    assert roles["prefill"].sum() == pytest.approx(2292)
    assert roles["decode"].sum() == pytest.approx(3150)
    assert roles["prefill"].sum() == pytest.approx(ref.published_arithmetic(published)
                                                   ["prefill_node_hours_from_throughput"], rel=1e-3)


def test_published_schedule_scored_by_the_economics_code(day):
    """The same evaluate() that scores plans gives $87,072 and every token served."""
    comparison = compare_with_reference(day)
    totals = comparison.evaluation.totals
    assert totals.cost_usd.total == pytest.approx(87_072)
    assert totals.nodes.mean == pytest.approx(226.75)
    assert totals.nodes.peak == 278
    assert totals.revenue_usd.total == pytest.approx(562_100, rel=1e-6)
    assert totals.unserved_tokens.input == 0 and totals.unserved_tokens.output == 0


def test_instance_capacity_factors_are_the_recomputed_ones_rounded_up(published, day):
    factors = ref.peak_capacity_factors(published, day.period_starts, day.period_hours)
    deployment = load_inputs(REFERENCE_INSTANCE).spec.served_models["deepseek-r1"].deployments["h800"]
    for role, shipped in (("prefill", deployment.prefill_capacity_factor),
                          ("decode", deployment.decode_capacity_factor)):
        assert factors[role] <= shipped < factors[role] + 1e-4, role


def test_shipped_demand_table_is_built_from_the_reference(published):
    shipped = pd.read_csv(ROOT / "instances" / "deepseek-2025-02-28-demand.csv", comment="#")
    pd.testing.assert_frame_equal(shipped, ref.demand_table(published, "deepseek-r1"), check_dtype=False)
    assert shipped["input_tokens"].sum() == 608_000_000_000
    assert shipped["input_cache_hit_tokens"].sum() == 342_000_000_000
    assert shipped["output_tokens"].sum() == 168_000_000_000


def test_reference_copy_matches_shared_reference():
    shared = ROOT.parent / "shared" / "reference"
    if not shared.is_dir():
        pytest.skip("../shared/reference is not beside this checkout")
    for path in shared.iterdir():
        assert filecmp.cmp(path, ROOT / "reference" / path.name, shallow=False), path.name


def test_optimized_day_never_costs_more_than_the_published_schedule(day):
    """The published schedule serves every hour at the calibrated capacity, so it is a feasible
    plan up to unit rounding within an hour; the hourly optimum is below it."""
    outcome = solve_instance(REFERENCE_INSTANCE)
    s = outcome.summary
    assert s["status"] == "optimal"
    assert s["unserved_tokens"]["input"] == 0 and s["unserved_tokens"]["output"] == 0
    assert s["nodes"]["peak"] == 278
    assert s["nodes"]["mean"] < 226.75
    assert s["cost_usd"]["total"] < 87_072
    assert s["cost_usd"]["total"] == pytest.approx(s["nodes"]["mean"] * 24 * 16)
    assert s["reference"]["published"]["nodes_mean"] == 226.75


def test_reproduce_writes_its_record(tmp_path):
    """The band's ends are named: the optimistic end at the instance's capacity factors (the
    heaviest hour), the conservative at the day averages (factors 1). The published day, at
    $87,072, lies between them; the optimistic peak is the published 278 by construction; at each
    end the greedy autoscaler on the same pay-per-use nodes costs within 3 % of the plan."""
    r = reproduce(REFERENCE_INSTANCE, out=tmp_path / "out")
    assert r.arithmetic["daily_cost_usd"] == 87_072
    assert (tmp_path / "out" / "summary.json").exists()
    band = json.loads((tmp_path / "out" / "reproduce.json").read_text())["band"]
    assert set(band) == {"optimistic", "conservative"}
    low, high = band["optimistic"], band["conservative"]
    assert (low["prefill_capacity_factor"], low["decode_capacity_factor"]) == (1.0911, 1.075)
    assert (high["prefill_capacity_factor"], high["decode_capacity_factor"]) == (1.0, 1.0)
    assert low["cost_usd"] < 87_072 < high["cost_usd"]
    assert low["nodes_peak"] == 278 < high["nodes_peak"]
    for end in (low, high):
        assert end["greedy_cost_usd"] == pytest.approx(end["cost_usd"], rel=0.03)


def test_same_instance_twice_gives_the_same_plan(tmp_path):
    first = solve_instance(REFERENCE_INSTANCE, out=tmp_path / "a")
    second = solve_instance(REFERENCE_INSTANCE, out=tmp_path / "b")
    for name in ("summary.json", "schedule.csv", "allocation.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    timings = json.loads((tmp_path / "a" / "timings.json").read_text())
    assert set(timings) == {"instance", "build_s", "solve_s", "wall_s"}
    assert "build_s" not in json.loads((tmp_path / "a" / "summary.json").read_text())["solver"]
    assert np.array_equal(first.plan.schedule["serving_nodes"], second.plan.schedule["serving_nodes"])
