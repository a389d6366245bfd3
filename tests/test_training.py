"""Training windows: hand-derived jobs, gangs, harvests and switching, and the shipped night.

Fixture: 1-node decode units serving 100 output tokens/s (0.36 M per node-hour), an owned fleet
of exactly 4 nodes at $0, hourly periods from 00:00 UTC. `needs` gives the decode nodes each
hour's demand requires (demand = (n - 0.1) node-hours of work, so exactly n nodes).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from planner.api import solve_instance
from planner.cli import main

from .conftest import ROOT, tiny_instance


def night(needs: list[int], training: dict, fleet: int = 4) -> dict:
    rows = [(0, 0, round((n - 0.1) * 0.36e6)) if n else (0, 0, 0) for n in needs]
    raw = tiny_instance(rows, owned={"usd_per_gpu_hour": 0.0, "min_nodes": fleet, "max_nodes": fleet})
    raw["training"] = training
    return raw


def test_a_job_runs_in_the_only_window_it_fits(tmp_instance):
    """Free nodes per hour: 4 - [4, 4, 1, 1, 4, 3] = [0, 0, 3, 3, 0, 1]. A 2-node job of 2 hours
    fits only in hours 2-3; it is worth $100, so it runs there."""
    raw = night([4, 4, 1, 1, 4, 3], {"jobs": [{"name": "j", "gang_nodes": 2, "length_hours": 2, "value_usd": 100}]})
    outcome = solve_instance(tmp_instance(raw))
    jobs = outcome.result.tables["jobs"]
    assert jobs["done"].tolist() == [True]
    assert (jobs["first_period"].item(), jobs["last_period"].item()) == (2, 3)
    assert outcome.result.objective_usd == pytest.approx(-100.0)
    assert outcome.plan.schedule["training_nodes"].tolist() == [0, 0, 2, 2, 0, 0]
    assert outcome.summary["training"]["node_hours"] == 4


def test_a_gang_larger_than_the_free_nodes_is_left_out(tmp_instance):
    """The most nodes ever free is 3 (hours 2-3); a 4-node gang never fits beside serving. Running
    it anyway would leave 0.9 node-hours of demand (0.324 M tokens) unserved: $324 of penalty
    for $100 of value. Left out, value 0, serving untouched. (At a value above $324 the plan
    would trade the tokens for the job: the penalty is the price of service.)"""
    raw = night([4, 4, 1, 1, 4, 3], {"jobs": [{"name": "big", "gang_nodes": 4, "length_hours": 1, "value_usd": 100}]})
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.result.tables["jobs"]["done"].tolist() == [False]
    assert outcome.summary["training"]["value_usd"] == 0
    assert outcome.summary["unserved_tokens"]["output"] == 0


def test_a_required_gang_that_cannot_fit_is_no_plan(tmp_instance):
    """The same gang, required: serving and the job cannot both hold, and with unserved demand
    priced (not forbidden) the plan drops serving in the job's hour instead: 4 nodes train in
    an hour that needs 1, so 0.9 node-hours of work go unserved at $1,000 per M tokens."""
    raw = night([4, 4, 1, 1, 4, 3], {"jobs": [{"name": "gate", "gang_nodes": 4, "length_hours": 1,
                                                "required": True}]})
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.result.tables["jobs"]["done"].tolist() == [True]
    assert outcome.summary["unserved_tokens"]["output"] == pytest.approx(0.9 * 0.36e6, rel=1e-6)
    assert outcome.result.objective_usd == pytest.approx(0.9 * 0.36 * 1000)


def test_a_required_gang_larger_than_the_fleet_has_no_plan(tmp_instance):
    """A required 8-node gang on a 4-node fleet cannot run at all: exit 1 with the reason."""
    raw = night([1, 1], {"jobs": [{"name": "gate", "gang_nodes": 8, "length_hours": 1, "required": True}]})
    result = CliRunner().invoke(main, ["solve", str(tmp_instance(raw))])
    assert result.exit_code == 1, result.output + result.stderr
    assert "no plan" in result.stderr


@pytest.mark.parametrize("free_hours, harvested", [(2, 0), (6, 2 * 6)])
def test_switching_cost_makes_a_short_window_not_worth_it(tmp_instance, free_hours, harvested):
    """Harvest at $10 per node-hour; each node moved costs $25 each way ($50 a round trip).
    2 nodes free for 2 hours are worth 2 x 2 x 10 = $40 < $100 of moves: no harvest. Free for
    6 hours: 2 x 6 x 10 = $120 > $100: harvest all 12 node-hours (objective -$20)."""
    needs = [2] * free_hours + [4]
    raw = night(needs, {"switching": {"usd_per_node_switch": 25},
                        "harvest": {"gpu": {"usd_per_node_hour": 10, "min_window_hours": 1}}})
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.summary["training"]["node_hours"] == harvested
    assert outcome.result.objective_usd == pytest.approx(min(0.0, 100 - 10 * harvested))


def test_windows_shorter_than_the_minimum_are_not_opened(tmp_instance):
    """No switching cost, but windows of at least 3 hours: free nodes [2, 2, 0, 2, 2, 2] allow
    only the last three hours."""
    raw = night([2, 2, 4, 2, 2, 2], {"harvest": {"gpu": {"usd_per_node_hour": 10, "min_window_hours": 3}}})
    outcome = solve_instance(tmp_instance(raw))
    assert outcome.plan.schedule["training_nodes"].tolist() == [0, 0, 0, 2, 2, 2]


def test_switching_time_is_lost_in_the_period_of_the_move(tmp_instance):
    """30-minute moves: a 1.5-hour job needs 2 periods (1.5 h + 0.5 h lost). Needs [4, 2, 2, 3]:
    it runs in hours 1-2. In hour 3 its 2 nodes return and lose half the hour: the node balance
    counts 3 serving + 0.5 x 2 = 4 <= 4. If hour 3 needs all 4 nodes, 4 + 1 > 4: the job would
    cost 0.5 node-hours of unserved work ($180 of penalty) for $10 of value, so it is left out."""
    raw = night([4, 2, 2, 3], {"switching": {"minutes": 30},
                               "jobs": [{"name": "j", "gang_nodes": 2, "length_hours": 1.5, "value_usd": 10}]})
    outcome = solve_instance(tmp_instance(raw))
    jobs = outcome.result.tables["jobs"]
    assert (jobs["first_period"].item(), jobs["last_period"].item()) == (1, 2)
    blocked = night([4, 2, 2, 4], {"switching": {"minutes": 30},
                                   "jobs": [{"name": "j", "gang_nodes": 2, "length_hours": 1.5, "value_usd": 10}]})
    assert solve_instance(tmp_instance(blocked)).result.tables["jobs"]["done"].tolist() == [False]


def test_splittable_job_resumes_around_a_busy_hour(tmp_instance):
    """Free nodes [2, 2, 0, 2, 2]; a splittable 2-node job of 3 hours, 0 switch time, 30 minutes
    to reload a checkpoint per segment: two segments of 2 hours give 4 - 2 x 0.5 = 3 hours."""
    raw = night([2, 2, 4, 2, 2], {"jobs": [{"name": "s", "gang_nodes": 2, "length_hours": 3, "splittable": True,
                                            "checkpoint_minutes": 30, "value_usd": 50}]})
    outcome = solve_instance(tmp_instance(raw))
    segments = outcome.result.tables["jobs"]
    assert segments[["first_period", "last_period"]].values.tolist() == [[0, 1], [3, 4]]


def test_the_shipped_night_reuses_about_the_published_share(tmp_path):
    out = tmp_path / "night"
    result = CliRunner().invoke(main, ["solve", str(ROOT / "instances" / "overnight-training.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    summary = json.loads((out / "summary.json").read_text())
    training = summary["training"]
    assert 0.15 < training["share_of_fleet_hours"] < 0.25
    assert summary["unserved_tokens"]["output"] == 0
    jobs = pd.read_csv(out / "training.csv")
    assert jobs.loc[jobs["name"] == "nightly-eval", "status"].item() == "scheduled"
    assert jobs.loc[jobs["name"] == "big-rl-run", "status"].item() == "left out"
    assert summary["reference"]["published"]["training_share_of_fleet_hours"] == pytest.approx(1 - 226.75 / 278)
