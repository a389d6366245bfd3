"""End to end through the CLI on the shipped reference day."""

from __future__ import annotations

import json

from click.testing import CliRunner

from planner.cli import main

from .conftest import REFERENCE_INSTANCE


def test_solve_reference_day_writes_every_file_and_prints_the_comparison(tmp_path):
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["solve", str(REFERENCE_INSTANCE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "226.75" in result.output and "published" in result.output
    for name in ("summary.json", "schedule.csv", "allocation.csv", "plan.png", "report.md"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    for key in ("status", "mip_gap", "fleet", "reference", "unserved_tokens"):
        assert key in summary
    assert summary["nodes"]["mean"] < 226.75
    assert summary["nodes"]["peak"] <= 278
    assert summary["unserved_tokens"]["output"] == 0


def test_solves_with_different_thread_counts_in_one_process(tmp_path):
    """HiGHS keeps one thread scheduler per process; planner resets it before every solve."""
    from planner.api import solve_instance

    for threads in (1, 2, 1):
        outcome = solve_instance(REFERENCE_INSTANCE, threads=threads)
        assert outcome.result.status == "optimal", threads


def test_json_with_out_prints_the_json_alone_and_no_negative_rent(tmp_path):
    """`--json --out`: stdout parses as JSON (the "wrote" line goes to stderr); the reference
    day owns nothing, so its rental cost is the whole cost, not a rounding away from it
    (issue 19, item 18)."""
    result = CliRunner().invoke(main, ["solve", str(REFERENCE_INSTANCE), "--json", "--out", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert "wrote" in result.stderr
    assert summary["cost_usd"]["rental"] >= 0
    assert summary["cost_usd"]["rental"] == summary["cost_usd"]["total"]


def test_a_plan_stopped_by_the_clock_says_it_may_not_repeat(tmp_path):
    """summary.json's `reproducible`: true for a plan solved to its gap, false for the same plan
    marked as stopped at the time limit (where such a stop falls depends on the machine; issue
    19, item 9)."""
    import dataclasses

    from planner.api import solve_instance

    outcome = solve_instance(REFERENCE_INSTANCE)
    assert outcome.result.status == "optimal" and outcome.summary["reproducible"] is True
    clocked = dataclasses.replace(outcome, result=dataclasses.replace(outcome.result, status="time_limit"))
    assert clocked.summary["reproducible"] is False
