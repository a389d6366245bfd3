"""Redundancy for a reseller: failure math by hand, invariants, the stochastic plan, the study."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import poisson

from planner import api
from planner.api import solve_instance
from planner.cli import main
from planner.io.schema.failures import Failures
from planner.physics.failures import min_units_for_availability, node_down_probability, spare_nodes, unit_availability
from planner.studies.reseller import break_even_volume, study

from .conftest import ROOT, tiny_instance

RESELLER = ROOT / "instances" / "reseller.yaml"


def test_unit_availability_by_hand():
    """lambda = 0.01 per hour, 10 hours down: p = 0.1 / 1.1 = 0.0909; a 2-node unit is up with
    (1 - p)^2 = 0.8264."""
    failures = Failures(node_failures_per_hour=0.01, repair_hours=10, availability_target=0.95)
    assert node_down_probability(failures) == pytest.approx(0.1 / 1.1)
    assert unit_availability(failures, 2) == pytest.approx((1 - 0.1 / 1.1) ** 2)


def test_a_unit_fault_of_its_own_by_hand():
    """Nodes: lambda = 0.01 per hour, 10 hours down, p = 0.1 / 1.1. The unit itself: 0.5 faults an
    hour, 0.2 hours to restart, q = 0.1 / 1.1. A 2-node unit is up with (1 - p)^2 (1 - q) =
    (1 / 1.1)^3 = 0.7513."""
    failures = Failures(node_failures_per_hour=0.01, repair_hours=10, unit_failures_per_hour=0.5,
                        unit_restart_hours=0.2, availability_target=0.95)
    assert unit_availability(failures, 2) == pytest.approx(1.1 ** -3)


def test_binomial_redundancy_by_hand():
    """Units up with a = 0.9, target 0.95. Two needed: P(Bin(2, .9) >= 2) = 0.81,
    P(Bin(3, .9) >= 2) = 0.972: 3 units. Ten needed: P(Bin(n, .9) >= 10) is 0.349, 0.697,
    0.889, 0.966 for n = 10..13: 13 units. None needed: none."""
    assert min_units_for_availability([2, 10, 0], 0.9, 0.95).tolist() == [3, 13, 0]


def test_spare_pool_by_hand():
    """10 nodes, lambda = 0.01 per hour, 50 hours of repair: 5 nodes in repair on average; the
    95 % quantile of Poisson(5) is 9 spares. Without swaps there is no pool."""
    swap = Failures(node_failures_per_hour=0.01, repair_hours=50, swap_hours=1, availability_target=0.95)
    assert spare_nodes(swap, 10) == 9 == poisson.ppf(0.95, 5)
    assert spare_nodes(Failures(node_failures_per_hour=0.01, repair_hours=50), 10) == 0


def fragile(rows, **failures) -> dict:
    raw = tiny_instance(rows, owned={"usd_per_gpu_hour": 1.0}, rental={"usd_per_gpu_hour": 3.0})
    if failures:
        raw["failures"] = failures
    return raw


def test_no_failures_and_one_scenario_equals_the_deterministic_plan(tmp_instance):
    """A failure rate of 0 and one scenario without noise add sections but change nothing."""
    rows = [(30_000_000, 0, 700_000), (70_000_000, 0, 1_500_000), (10_000_000, 0, 200_000)]
    plain = solve_instance(tmp_instance(fragile(rows)))
    raw = fragile(rows, node_failures_per_hour=0.0, repair_hours=24, swap_hours=1, availability_target=0.999)
    raw["scenarios"] = {"count": 1, "seed": 3}
    stochastic = solve_instance(tmp_instance(raw))
    assert stochastic.result.objective_usd == pytest.approx(plain.result.objective_usd)
    assert stochastic.summary["fleet"] == plain.summary["fleet"]
    pd.testing.assert_frame_equal(stochastic.plan.schedule, plain.plan.schedule)


@pytest.mark.parametrize("field, values", [
    ("node_failures_per_hour", [0.0, 0.001, 0.01, 0.05]),
    ("unit_failures_per_hour", [0.0, 0.01, 0.1, 0.5]),
    ("availability_target", [0.5, 0.9, 0.99, 0.999]),
])
def test_more_failures_or_a_higher_target_never_give_a_smaller_fleet(tmp_path, field, values):
    rows = [(30_000_000, 0, 700_000), (70_000_000, 0, 1_500_000), (10_000_000, 0, 200_000)]
    fleets = []
    for i, value in enumerate(values):
        failures = {"node_failures_per_hour": 0.01, "repair_hours": 10, "availability_target": 0.99, field: value}
        folder = tmp_path / str(i)
        folder.mkdir()
        from .conftest import write_instance

        outcome = solve_instance(write_instance(folder, fragile(rows, **failures)))
        fleets.append(outcome.summary["nodes"]["peak"])
    assert fleets == sorted(fleets)
    assert fleets[-1] > fleets[0]


def test_the_chance_constraint_holds_the_share_of_scenarios(tmp_instance):
    """Ten scenarios with bursts, at most 3 rentable nodes beyond the owned fleet, SLO in 80 % of
    scenarios: at most two scenarios leave demand unserved."""
    raw = fragile([(0, 0, 700_000), (0, 0, 1_400_000)])
    raw["node_types"]["gpu"]["rental"]["max_nodes"] = 3
    raw["scenarios"] = {"count": 10, "seed": 1, "level_sd": 0.3, "burst_probability": 0.3, "burst_scale": 1.0,
                        "slo_share": 0.8}
    raw["penalties"] = {"unserved_output_usd_per_million_tokens": 1.0}
    outcome = solve_instance(tmp_instance(raw))
    schedule = outcome.plan.schedule
    missed = schedule.groupby("scenario")["unserved_output_tokens"].sum() > 1e-6
    assert missed.sum() <= 2


def test_break_even_is_where_the_margin_crosses_zero():
    sweep = pd.DataFrame({"output_tokens_per_day": [1e9, 1e10, 1e11], "cost_profit_margin": [-1.0, 1.0, 2.0]})
    assert break_even_volume(sweep) == pytest.approx(10 ** 9.5)
    assert break_even_volume(sweep.iloc[1:]) is None


def two_scenarios(tmp_instance) -> Path:
    """Decode demand per hour: 1 unit in scenario 0, 3 units in scenario 1 (0.36 M output tokens
    per 1-node unit-hour), 2 units in the demand table (the mean); two hours; owned nodes at
    $1 an hour, nothing to rent; the SLO in every scenario."""
    raw = tiny_instance([(0, 0, 720_000)] * 2, owned={"usd_per_gpu_hour": 1.0})
    raw["scenarios"] = {"file": "scenarios.csv", "slo_share": 1.0}
    path = tmp_instance(raw)
    rows = ["scenario,period,served_model,input_tokens,input_cache_hit_tokens,output_tokens"]
    rows += [f"{s},{t},toy,0,0,{units * 360_000}" for s, units in ((0, 1), (1, 3)) for t in range(2)]
    (path.parent / "scenarios.csv").write_text("\n".join(rows) + "\n")
    return path


def test_reseller_study_by_hand(tmp_instance):
    """The fleet must serve 3 units (scenario 1): 3 nodes x 2 h x $1 = $6. The demand needs
    (1 + 1 + 3 + 3) / 4 = 2 nodes at full use: provisioning ratio 3 / 2 = 1.5. Planned for the
    mean (2 units) the fleet is 2, which cannot hold scenario 1. With misses priced ($1,000 per M
    unserved output tokens): the stochastic plan keeps 3 nodes ($6); the mean-demand fleet costs
    2 x 2 x $1 + 1/2 x 2 h x 0.36 M x $1,000 = $364: the value of the stochastic solution is
    $358. Out of sample (the same scenario file) everything is served, and without failures
    every unit is up."""
    r = study(api.load(two_scenarios(tmp_instance)), failure_draws=20).record
    assert r["cost_usd_per_day"] == pytest.approx(6.0)
    assert r["provisioning"]["leased_fleet"] == 3
    assert r["provisioning"]["full_use_nodes"] == pytest.approx(2.0)
    assert r["provisioning"]["provisioning_ratio"] == pytest.approx(1.5)
    assert r["mean_demand_plan"]["leased_fleet"] == 2
    assert r["mean_demand_plan"]["holds_the_slo_share"] is False
    assert r["stochastic_plan_with_misses_priced"]["expected_cost_usd"] == pytest.approx(6.0)
    assert r["mean_demand_plan"]["expected_cost_with_misses_priced_usd"] == pytest.approx(364.0)
    assert r["value_of_the_stochastic_solution_usd"] == pytest.approx(358.0)
    assert r["out_of_sample"]["served_output_share"] == pytest.approx(1.0)
    assert r["out_of_sample"]["availability_measured"] == 1.0


def test_measured_availability_matches_the_binomial(tmp_instance):
    """Two 1-node units needed, three planned, each up with a = 1 - p, p = 0.05 x 2 / (1 + 0.1):
    the hour holds when at least two are up, P(Bin(3, a) >= 2) = 3 a^2 (1 - a) + a^3. 40,000
    simulated days of failures (studies/simulation/fleet_outages, one instant each) land within four
    standard errors of it."""
    from planner.studies.reseller import measured_availability

    raw = tiny_instance([(0, 0, 720_000)], owned={"usd_per_gpu_hour": 1.0})
    raw["failures"] = {"node_failures_per_hour": 0.05, "repair_hours": 2.0, "availability_target": 0.9}
    data = api.validate_instance(tmp_instance(raw))
    units = pd.DataFrame({"served_model": ["toy"], "node_type": ["gpu"], "role": ["decode"], "period": [0],
                          "units": [3]})
    unserved = pd.DataFrame({"served_model": ["toy"], "role": ["decode"], "period": [0], "unserved_share": [0.0]})
    a = 1 - 0.1 / 1.1
    exact = 3 * a**2 * (1 - a) + a**3
    measured = measured_availability(data, units, unserved, draws=4_000, seed=7, samples_per_period=1)
    assert measured.availability == pytest.approx(exact, abs=4 * (exact * (1 - exact) / 4_000) ** 0.5)


@pytest.mark.slow
def test_reseller_study_on_the_shipped_instance():
    """The shipped study runs end to end, the same on one worker and on two processes; its
    out-of-sample check uses the stated seed; whole units and redundancy keep the fleet above
    what the demand needs at full use."""
    inputs = api.load(RESELLER, ["scenarios.count=5"])
    r = study(inputs, oos_scenarios=5, failure_draws=50).record
    assert r["out_of_sample"]["seed"] == 2025 + 1000
    assert r["provisioning"]["provisioning_ratio"] > 1.0
    assert study(inputs, oos_scenarios=5, failure_draws=50, workers=2).record == r


@pytest.mark.slow
def test_reseller_command_writes_the_scale_chart(tmp_path):
    out = tmp_path / "reseller"
    result = CliRunner().invoke(main, ["reseller", str(RESELLER), "--set", "scenarios.count=4", "--oos-scenarios", "4",
                                       "--volumes", "1e9,1e11", "--out", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    assert "provisioning ratio" in result.output and "break-even" in result.output
    record = json.loads((out / "reseller.json").read_text())
    assert len(record["scale"]["points"]) == 2
    assert (out / "scale.png").stat().st_size > 0
    sweep = pd.read_csv(out / "scale.csv")
    assert sweep["provisioning_ratio"].iloc[0] > sweep["provisioning_ratio"].iloc[1]


def test_wilson_interval_and_scenarios_needed_by_hand():
    """18 of 20 scenarios: p = 0.9, z = 1.96; centre (0.9 + 1.96^2/40) / (1 + 1.96^2/20) = 0.8355,
    half-width 1.96 sqrt(0.9 x 0.1 / 20 + 1.96^2 / 1600) / 1.1921 = 0.1366: [0.699, 0.972]
    (Agresti and Coull's table). Telling 0.9 within +-0.05 needs 1.96^2 x 0.09 / 0.0025 = 138.3,
    so 139 scenarios (the rule of three asks only 3 / 0.1 = 30); 0.99 needs 3 / 0.01 = 300 (the
    normal approximation would say 16)."""
    from planner.studies.reseller import scenarios_for_share, wilson_interval

    low, high = wilson_interval(18, 20)
    assert (low, high) == pytest.approx((0.6990, 0.9721), abs=1e-4)
    assert scenarios_for_share(0.9, 0.05) == 139
    assert scenarios_for_share(0.99, 0.05) == 300


def test_the_scenario_share_in_and_out_of_sample_by_hand(tmp_instance):
    """The two-scenario plan of test_reseller_study_by_hand serves both scenarios in every hour:
    2 of 2 in sample and out of sample (the same file), promised 1.0, held."""
    r = study(api.load(two_scenarios(tmp_instance)), failure_draws=20).record
    for share in (r["slo_share_in_sample"], r["out_of_sample"]["slo_share"]):
        assert share["share"] == 1.0 and share["scenarios"] == 2 and share["held"] is True


def test_full_use_nodes_follow_the_deployments_the_plan_chose(tmp_instance):
    """Decode of 340 tokens/s on 1-node units of type a (100 tokens/s) and b (250 tokens/s): on
    a alone the demand needs 3.4 nodes at full use, on b alone 1.36. A plan with one unit of each
    gives a 100/350 and b 250/350 of the capacity: 340 x (100/350) / 100 + 340 x (250/350) / 250
    = 0.971 + 0.971 = 1.943 nodes."""
    from planner.studies.reseller import full_use_nodes

    from .test_slo_plans import two_type_instance

    raw, profiles = two_type_instance(340)
    data = api.planning_data(api.load(tmp_instance(raw, profiles)))
    assert full_use_nodes(data) == pytest.approx(3.4)
    units = pd.DataFrame({"served_model": ["toy", "toy"], "node_type": ["a", "b"], "role": ["decode", "decode"],
                          "period": [0, 0], "units": [1, 1]})
    assert full_use_nodes(data, units) == pytest.approx(2 * 340 / 350)


def test_the_published_day_on_planners_definition():
    """DeepSeek's day needs 209.7 nodes at full use at its heaviest-hour capacities (the reference
    instance's optimistic calibration): 608 B input tokens / (73.7 k x 1.0911 x 86,400 s) + 168 B
    output / (14.8 k x 1.0750 x 86,400 s); its peak of 278 is 1.33 times that, not 278 / 226.75."""
    from planner.io.reference import load_reference
    from planner.physics.published import full_use_nodes

    needed = full_use_nodes(load_reference(ROOT / "reference" / "deepseek-2025-02-28.yaml"))
    assert needed == pytest.approx(209.73, abs=0.01)
    assert 278 / needed == pytest.approx(1.3255, abs=1e-4)


def test_the_slo_share_frontier_by_hand(tmp_instance):
    """The two-scenario instance at shares none and 1.0: the fleet keeps 3 nodes either way
    (misses at $1,000 per M output tokens cost more than a node), $6 a day, both scenarios met."""
    from planner.studies.reseller import slo_share_frontier

    frame = slo_share_frontier(api.load(two_scenarios(tmp_instance)), [None, 1.0])
    assert frame["leased_fleet"].tolist() == [3, 3]
    assert frame["cost_usd_per_day"].tolist() == pytest.approx([6.0, 6.0])
    assert frame["scenarios_meeting_the_slo"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("value, piece", [("1.5", "'1.5': a share of scenarios must be in (0, 1]"),
                                          ("x", "'x': expected numbers")])
def test_a_bad_slo_share_is_one_line(value, piece):
    result = CliRunner().invoke(main, ["reseller", str(RESELLER), "--slo-share", value])
    assert result.exit_code == 2 and piece in result.output and "Traceback" not in result.output


def test_the_volume_below_which_a_ratio_holds_by_hand():
    """Ratios 8 at 1 B, 2 at 10 B: log-linear, 10^(9 + (log 5 - log 8) / (log 2 - log 8)) =
    10^(9 + 0.339) = 2.18 B below which the ratio is 5 or more. No point at 5: None; every point
    at 5 or more: the largest volume."""
    from planner.studies.claims import crossing_volume

    sweep = pd.DataFrame({"output_tokens_per_day": [1e9, 1e10], "provisioning_ratio": [8.0, 2.0]})
    assert crossing_volume(sweep, 5.0) == pytest.approx(10 ** (9 + (0.69897 - 0.90309) / (0.30103 - 0.90309)), rel=1e-4)
    assert crossing_volume(sweep, 9.0) is None
    assert crossing_volume(sweep, 1.5) == pytest.approx(1e10)


def test_a_cost_claim_by_hand(tmp_instance):
    """The two-scenario instance read at its own volume (its 2-hour horizon's expected output,
    times 12 for a day): the plan of test_reseller_study_by_hand, $6 over its 2 hours (3 nodes x
    2 h x $1), $72 a day. A month at 7 CNY per USD: 30 x 7 x $72 = ¥15,120; a claimed ¥151,200
    is 10 times that, so the claim needs nodes doing 10 % of the throughput."""
    from planner.io.schema.published import PublishedClaim
    from planner.studies.claims import cost_claim

    inputs = api.load(two_scenarios(tmp_instance))
    day = float(api.planning_data(inputs).demand_tokens["output_tokens"].sum()) / 2 * 12  # 2-hour horizon x 12
    claim = PublishedClaim(claim="test", output_tokens_per_day=day, monthly_machine_cost_cny=151_200.0,
                           monthly_revenue_cny=1.0, sources=["a test"])
    r = cost_claim(inputs, claim, 7.0, None)
    assert r["planner"]["monthly_machine_cost_cny"] == pytest.approx(30 * 7 * 72.0)
    assert r["throughput_share_for_the_claimed_cost"] == pytest.approx(0.1)


def test_claims_command_writes_its_files(tmp_instance, tmp_path):
    """planner claims on the two-scenario instance with a ratio claim and a cost claim: claims.md
    and claims.json, one record per claim; a claim file stating no figure is refused."""
    path = two_scenarios(tmp_instance)
    ratio = tmp_path / "ratio-claim.yaml"
    ratio.write_text('claim: "5 x"\nprovisioning_ratio: 5\nsources: ["a test"]\n')
    cost = tmp_path / "cost-claim.yaml"
    cost.write_text('claim: "dear"\noutput_tokens_per_day: 1.0e7\nmonthly_machine_cost_cny: 1.0e6\n'
                    'sources: ["a test"]\n')
    out = tmp_path / "claims"
    result = CliRunner().invoke(main, ["claims", str(path), "--claim", str(ratio), "--claim", str(cost),
                                       "--volumes", "1e7,1e8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads((out / "claims.json").read_text())
    assert [c["claim"] for c in record["claims"]] == ["5 x", "dear"]
    assert "Verdict" in (out / "claims.md").read_text()
    empty = tmp_path / "empty-claim.yaml"
    empty.write_text('claim: "nothing"\nsources: ["a test"]\n')
    refused = CliRunner().invoke(main, ["claims", str(path), "--claim", str(empty)])
    assert refused.exit_code == 2 and "a claim states provisioning_ratio" in refused.output
