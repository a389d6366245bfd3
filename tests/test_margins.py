"""Real margins: the waterfall from the published 545 %, marginal cost from duals, break-even."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from planner.cli import main
from planner import api
from planner.api import validate_instance as load_instance
from planner.io.schema.margins import Ownership
from planner.model.duals import marginal_costs
from planner.studies.margins import ownership_usd_per_node_hour, study
from planner.model.solve import solve

from .conftest import REFERENCE_INSTANCE, ROOT, tiny_instance, tiny_profile


@pytest.fixture(scope="module")
def reference_study():
    return study(api.load(REFERENCE_INSTANCE)).record


def test_the_waterfall_starts_at_the_published_545_percent(reference_study):
    """First step of the published schedule: $562,027 of revenue against $87,072 of GPU rent."""
    first = reference_study["waterfall"]["published schedule"][0]
    assert first["revenue_usd"] == pytest.approx(562_027)
    assert first["cost_usd"] == pytest.approx(87_072)
    assert first["cost_profit_margin"] == pytest.approx((562_027 - 87_072) / 87_072)
    assert round(100 * first["cost_profit_margin"]) == 545


def test_each_step_applies_one_assumption(reference_study):
    """With half the tokens at V3's list and 30 % paid, revenue is 0.3 x (0.5 x R1 + 0.5 x V3)
    revenue; V3's list on the day's tokens is 342 B x 0.07 + 266 B x 0.27 + 168 B x 1.10 =
    $280,560 against R1's $562,100 (both scaled by 562,027 / 562,100)."""
    steps = {st["step"]: st for st in reference_study["waterfall"]["published schedule"]}
    scale = 562_027 / 562_100
    assert steps["model mix"]["revenue_usd"] == pytest.approx(scale * (0.5 * 562_100 + 0.5 * 280_560))
    assert steps["paid share"]["revenue_usd"] == pytest.approx(0.3 * steps["model mix"]["revenue_usd"])
    assert steps["paid share"]["cost_usd"] == steps["model mix"]["cost_usd"] == pytest.approx(87_072)
    last = reference_study["waterfall"]["published schedule"][-1]
    assert last["step"] == "people"  # ownership comes first among the costs (issue 16)
    assert last["cost_profit_margin"] == pytest.approx((last["revenue_usd"] - last["cost_usd"]) / last["cost_usd"])


def test_the_articles_gross_margins(reference_study):
    """All traffic paid at list, GPU rent only: R1 (562,027 - 87,072) / 562,027 = 84.5 % and V3
    (280,521 - 87,072) / 280,521 = 69.0 %: the articles' "about 85 % and 70 %"."""
    lists = reference_study["gross_margin_by_price_list"]["published schedule"]
    assert lists["instance list (R1 on the reference day)"]["gross_margin"] == pytest.approx(0.845, abs=0.001)
    assert lists["V3 list"]["gross_margin"] == pytest.approx(0.690, abs=0.001)


def test_ownership_capital_recovery_by_hand():
    """$300,000 over 4 years at 10 %: 300,000 x 0.1 / (1 - 1.1^-4) = $94,641 a year = $10.80 an hour."""
    rate = ownership_usd_per_node_hour(Ownership(capex_usd_per_node=300_000, lifetime_years=4,
                                                 cost_of_capital=0.1, assumption=True))
    assert rate == pytest.approx(94_641.24 / 8760, rel=1e-5)


def tiny_duals(tmp_instance, rows, **node):
    path = tmp_instance(tiny_instance(rows, **node))
    data = load_instance(path)
    return data, marginal_costs(data, solve(data).tables).table


def test_duals_equal_the_hand_derived_marginal_cost(tmp_instance):
    """Rented nodes at $1 per node-hour serve 3.6 M input tokens (prefill) or 0.36 M output
    tokens (decode) an hour: one more million tokens costs $1 / 3.6 = $0.278 in prefill and
    $1 / 0.36 = $2.78 in decode, in every hour."""
    _, costs = tiny_duals(tmp_instance, [(5_000_000, 0, 500_000), (9_000_000, 0, 800_000)],
                          rental={"usd_per_gpu_hour": 1.0})
    by_role = costs.groupby("role")["usd_per_million_tokens"]
    assert by_role.min()["prefill"] == pytest.approx(1 / 3.6) == by_role.max()["prefill"]
    assert by_role.min()["decode"] == pytest.approx(1 / 0.36) == by_role.max()["decode"]


def test_spare_owned_capacity_costs_nothing_at_the_margin(tmp_instance):
    """10 owned nodes (a fixed cost) and demand for 2: the next token uses an idle node: $0."""
    _, costs = tiny_duals(tmp_instance, [(0, 0, 500_000)],
                          owned={"usd_per_gpu_hour": 1.0, "min_nodes": 10, "max_nodes": 10})
    assert costs.loc[costs["role"] == "decode", "usd_per_million_tokens"].item() == pytest.approx(0.0, abs=1e-9)


def test_a_price_at_marginal_cost_gives_zero_contribution(tmp_instance):
    """Serving 10 % more decode demand in the relaxed LP costs exactly the dual x the tokens
    added; priced at that marginal cost, the extra tokens add revenue equal to their cost."""
    rows = [(0, 0, 500_000)]
    data, costs = tiny_duals(tmp_instance, rows, rental={"usd_per_gpu_hour": 1.0})
    price = costs["usd_per_million_tokens"].item()

    def relaxed_cost(output_tokens: int) -> float:
        more = load_instance(tmp_instance(tiny_instance([(0, 0, output_tokens)], rental={"usd_per_gpu_hour": 1.0})))
        return marginal_costs(more, solve(more).tables).lp_objective_usd

    added_mtok = 0.05
    extra_cost = relaxed_cost(550_000) - relaxed_cost(500_000)
    contribution = price * added_mtok - extra_cost
    assert contribution == pytest.approx(0.0, abs=1e-9)


def test_margins_command_writes_its_files(tmp_path):
    out = tmp_path / "margins"
    result = CliRunner().invoke(main, ["margins", str(REFERENCE_INSTANCE), "--volumes", "1e9,1e10", "--out", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    assert "545.5 %" in result.output and "break-even volume" in result.output
    for name in ("margins.json", "waterfall.png", "marginal_cost.csv", "marginal_cost.png"):
        assert (out / name).stat().st_size > 0


def test_a_margin_figure_without_source_or_assumption_flag_is_bad_input(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(REFERENCE_INSTANCE), "--set", "margins.people.assumption=false"])
    assert result.exit_code == 2
    assert "margins.people" in result.stderr and "source" in result.stderr


def test_the_waterfall_prices_every_model_at_its_own_list():
    """Two served models (instances/mixed-fleet.yaml: 40 % deepseek-chat at V3's list, 60 %
    deepseek-reasoner at R1's): the waterfall's first step is the plan's own revenue, as `planner
    solve` reports it: $449,484 with every token served (this quick plan, stopped at the first
    branch-and-bound node, leaves a few unserved), not every token at the first model's list
    ($280,560)."""
    inputs = api.load(ROOT / "instances" / "mixed-fleet.yaml", ["solver.node_limit=1", "solver.formulation=free_starts"])
    plan = api.plan(inputs)
    first = study(inputs).waterfalls["optimized plan"][0]
    assert plan.totals.revenue_usd.total == pytest.approx(449_484, rel=1e-3)
    assert first.revenue_usd == pytest.approx(plan.totals.revenue_usd.total, rel=1e-12)


def owned_with_training(tmp_instance, **ownership):
    """Three owned nodes ($1 a node-hour) for two hours: one serves (0.36 M output tokens an hour
    at $10 per M), one trains (a harvest worth $2 a node-hour, at most one node), one is idle.
    Capital recovery $1 a node-hour (capex 4 x 8,760 over 4 years at 0 %); power 10 kW busy, 2 kW
    idle, PUE 1, $0.10 per kWh; bandwidth $2.40 per node-day."""
    raw = tiny_instance([(0, 0, 360_000)] * 2, owned={"usd_per_gpu_hour": 1.0, "min_nodes": 3, "max_nodes": 3},
                        prices={"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 10.0})
    raw["training"] = {"harvest": {"gpu": {"usd_per_node_hour": 2.0, "max_nodes": 1}}}
    raw["margins"] = {
        "power": {"kw_per_node_busy": 10.0, "kw_per_node_idle": 2.0, "pue": 1.0, "usd_per_kwh": 0.1,
                  "assumption": True},
        "bandwidth": {"usd_per_node_day": 2.4, "assumption": True},
    }
    if ownership is not None and ownership.get("capex_usd_per_node", 1) is not None:
        raw["margins"]["ownership"] = {"capex_usd_per_node": 4 * 8760.0, "lifetime_years": 4.0, "cost_of_capital": 0.0,
                                       "assumption": True, **ownership}
    return study(api.load(tmp_instance(raw))).waterfalls["optimized plan"]


def test_capital_is_charged_on_every_owned_node_hour(tmp_instance):
    """Ownership replaces the $6 of owned-fleet cost by capital on all 3 x 2 = 6 owned node-hours
    ($6, not the $2 of the serving hours); power by what each node-hour does: 2 serving x 10 kW +
    2 training x 10 kW (training runs flat out) + 2 idle x 2 kW = 44 kWh = $4.40; bandwidth on 6
    node-hours = 0.25 node-days x $2.40 = $0.60. Total $11."""
    steps = {st.name: st for st in owned_with_training(tmp_instance)}
    assert steps["theoretical revenue and GPU rent"].cost_usd == pytest.approx(6.0)
    assert steps["ownership"].cost_usd == pytest.approx(6.0)
    assert steps["power"].cost_usd == pytest.approx(6.0 + 4.4)
    assert steps["bandwidth"].cost_usd == pytest.approx(6.0 + 4.4 + 0.6)
    assert steps["bandwidth"].revenue_usd == pytest.approx(7.2)


def test_idle_and_training_hours_can_be_charged_to_training(tmp_instance):
    """With idle and training hours charged to training, the service pays the capital, power and
    bandwidth of its 2 serving node-hours only: $2 + 2 x 10 kW x $0.10 = $2 + $2 = $4, plus
    2/24 node-days x $2.40 = $0.20; the step names the $4 of capital moved to training."""
    steps = {st.name: st for st in owned_with_training(tmp_instance, idle_and_training_hours_to="training")}
    assert steps["ownership"].cost_usd == pytest.approx(2.0)
    assert "$4 of it on idle and training hours charged to training" in steps["ownership"].note
    assert steps["power"].cost_usd == pytest.approx(4.0)
    assert steps["bandwidth"].cost_usd == pytest.approx(4.2)


def test_an_all_in_rent_is_not_charged_power_or_bandwidth_again(tmp_instance):
    """Without ownership, the $6 of fleet cost is all-in: power and bandwidth add nothing."""
    steps = {st.name: st for st in owned_with_training(tmp_instance, capex_usd_per_node=None)}
    assert "ownership" not in steps
    assert steps["power"].cost_usd == steps["bandwidth"].cost_usd == pytest.approx(6.0)
    assert "included in the all-in rent" in steps["power"].note


def test_the_night_discount_has_a_factor_per_served_model(tmp_instance):
    """Two served models, one hour entirely inside the window: a sells 1 M output tokens at $2,
    b at $4 ($6). Model a's own factor 0.5 gives $1, b takes the default 0.25: $1; $2 in all."""
    raw = tiny_instance([(0, 0, 1_000_000)], rental={"usd_per_gpu_hour": 1.0}, served_model="a", profile="a@gpu",
                        prices={"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 2.0})
    b = {**raw["served_models"]["a"], "prices_usd_per_million_tokens": {"input_cache_hit": 0.0,
                                                                        "input_cache_miss": 0.0, "output": 4.0},
         "deployments": {"gpu": {"profile": "b@gpu"}}}
    raw["served_models"]["b"] = b
    raw["_demand_rows"] = [(0, "a", 0, 0, 1_000_000), (0, "b", 0, 0, 1_000_000)]
    raw["margins"] = {"night_discount": {"start": "00:00", "end": "01:00", "v3_price_factor": 0.5,
                                         "r1_price_factor": 0.25, "price_factor_by_served_model": {"a": 0.5},
                                         "assumption": True}}
    path = tmp_instance(raw, [tiny_profile(served_model="a"), tiny_profile(served_model="b")])
    steps = study(api.load(path)).waterfalls["optimized plan"]
    assert [st.revenue_usd for st in steps] == pytest.approx([6.0, 2.0])


def test_short_run_and_long_run_marginal_costs_by_hand(tmp_instance):
    """One hour of 0.5 M decode tokens, owned nodes at $1 a node-hour (0.36 M each), nothing to
    rent. With no cap the plan owns 2 nodes, part-filled: one more token is free in the short
    run and within the plan's fleet ($0), and in the long run, where the fleet grows, costs
    $1 / 0.36 = $2.78 per M. With one node at most, 0.14 M go unserved: one more token too, at
    the $1,000 penalty per M, whether the units or only the fleet are held."""
    def costs(**owned) -> dict[str, float]:
        raw = tiny_instance([(0, 0, 500_000)], owned={"usd_per_gpu_hour": 1.0, **owned})
        data = load_instance(tmp_instance(raw))
        tables = solve(data).tables
        return {run: marginal_costs(data, tables, run).table.query("role == 'decode'")["usd_per_million_tokens"].item()
                for run in ("short_run", "fleet_fixed", "long_run")}

    free = costs()
    assert free["short_run"] == pytest.approx(0.0, abs=1e-9)
    assert free["fleet_fixed"] == pytest.approx(0.0, abs=1e-9)
    assert free["long_run"] == pytest.approx(1 / 0.36)
    capped = costs(max_nodes=1)
    assert capped["short_run"] == pytest.approx(1000.0)
    assert capped["fleet_fixed"] == pytest.approx(1000.0)
