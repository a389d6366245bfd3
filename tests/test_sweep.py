"""Sweeps: the result store survives a kill, failures stay in their case, Dask gives the same table."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from planner.cli import main
from planner.studies.sweep import load_sweep, run_case, run_sweep

from .conftest import ROOT

TIMINGS = ["solver.wall_s"]


def write_spec(folder: Path, grid: dict, base: str = "deepseek-2025-02-28.yaml", **extra) -> Path:
    spec = {"name": "test", "base": str(ROOT / "instances" / base), "grid": grid, **extra}
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "cases").glob("*.json"))]


@pytest.mark.slow
def test_a_killed_sweep_resumes_with_nothing_lost_or_duplicated(tmp_path):
    """Ten mixed-fleet cases, each stopped after one branch-and-bound node (a limit on work, not
    time); the sweep is killed (SIGKILL, the whole process group) once three are stored, then
    resumed."""
    spec = write_spec(tmp_path, {"solver.mip_gap": [1e-6 * (k + 1) for k in range(10)]}, base="mixed-fleet.yaml",
                      set=["solver.node_limit=1"])
    out = tmp_path / "store"
    command = [sys.executable, "-m", "planner.cli", "sweep", str(spec), "--out", str(out)]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list((out / "cases").glob("*.json"))) < 3 and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = {r["case"]: r for r in records(out)}
    assert 3 <= len(before) < 10, "the kill should land mid-way"
    for path in (out / "cases").glob("*.json"):  # a kill leaves temporary files at most, never half a record
        assert json.loads(path.read_text())["status"] == "ok", path
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--resume"])
    assert result.exit_code == 0, result.output + result.stderr
    after = records(out)
    assert len(after) == 10 and len({r["case"] for r in after}) == 10
    for record in after:
        if record["case"] in before:
            assert record == before[record["case"]], "a finished case was run again"
    table = pd.read_csv(out / "cases.csv")
    assert len(table) == 10 and table["case"].is_unique and (table["run"] == "ok").all()


@pytest.mark.slow
def test_a_finished_store_needs_resume_or_overwrite(tmp_path):
    spec = write_spec(tmp_path, {"demand.scale": [0.5, 1.0]})
    out = tmp_path / "store"
    assert CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out)]).exit_code == 0
    again = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out)])
    assert again.exit_code == 2 and "--resume" in again.stderr
    assert CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--overwrite"]).exit_code == 0


def test_resume_and_overwrite_together_are_refused_before_anything_is_deleted(tmp_path):
    """`--resume --overwrite` would delete the finished cases it was asked to keep (issue 19, 18)."""
    spec = write_spec(tmp_path, {"demand.scale": [0.5, 1.0]})
    out = tmp_path / "store"
    (out / "cases").mkdir(parents=True)
    kept = out / "cases" / "earlier.json"
    kept.write_text("{}")
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), "--resume", "--overwrite"])
    assert result.exit_code == 2 and "--resume" in result.stderr and "--overwrite" in result.stderr
    assert kept.exists()


def test_a_failing_case_is_recorded_and_the_others_go_on(tmp_path):
    spec = write_spec(tmp_path, {"served_models.deepseek-r1.prices_usd_per_million_tokens.output": [-1.0, 2.19]})
    table = run_sweep(load_sweep(spec), tmp_path / "store")
    assert table["run"].tolist() == ["failed", "ok"]
    assert "prices_usd_per_million_tokens.output" in table["error"].iloc[0]
    assert table["margin.cost_profit"].iloc[1] == pytest.approx(5.6993, abs=1e-3), table.T.to_string()


def dies_on_small_scale(inputs, updates: dict, solver: dict) -> dict:
    """A task whose worker process dies on one case (as a segfault would)."""
    if updates.get("demand.scale") == 0.25:
        os._exit(3)
    return run_case(inputs, updates, solver)


@pytest.mark.slow
def test_a_worker_that_dies_fails_its_case_only(tmp_path):
    spec = write_spec(tmp_path, {"demand.scale": [0.25, 0.5, 1.0, 2.0]})
    table = run_sweep(load_sweep(spec), tmp_path / "store", workers=2, task=dies_on_small_scale)
    runs = dict(zip(table["demand.scale"], table["run"]))
    assert runs == {0.25: "failed", 0.5: "ok", 1.0: "ok", 2.0: "ok"}
    assert "died" in table.loc[table["demand.scale"] == 0.25, "error"].item()


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_table(tmp_path):
    pytest.importorskip("dask.distributed")
    spec = write_spec(tmp_path, {"demand.scale": [0.1, 1.0, 3.0]})
    sweep = load_sweep(spec)
    local = run_sweep(sweep, tmp_path / "process", workers=2).drop(columns=TIMINGS)
    dask = run_sweep(sweep, tmp_path / "dask", workers=2, executor_kind="dask").drop(columns=TIMINGS)
    pd.testing.assert_frame_equal(local, dask)


def test_the_shipped_sweeps_load():
    for path in (ROOT / "sweeps").glob("*.yaml"):
        sweep = load_sweep(path)
        assert sweep.cases and sweep.spec.chart is not None


@pytest.mark.parametrize("name", ["/tmp/elsewhere", "../up", "a/b"])
def test_a_sweep_name_is_a_name_not_a_path(tmp_path, name):
    """A name that is a path would put the store (and, with --overwrite, the deletion of its
    cases/*.json) outside the results folder (issue 19, item 6): refused, naming the field."""
    spec = write_spec(tmp_path, {"demand.scale": [0.5]}, name=name)
    result = CliRunner().invoke(main, ["sweep", str(spec)])
    assert result.exit_code == 2 and "name" in result.stderr and name in result.stderr
