"""A result folder is a complete old result or a complete new one, never a mix; planner writes
only into folders of its own, one run at a time (issue 19, items 1-4)."""

from __future__ import annotations

import fcntl
import json
import os

import pytest
from click.testing import CliRunner

from planner import api
from planner.cli import main

from .conftest import tiny_instance, write_instance
from .test_bad_input import _error_line


def instance(tmp_path, hours: int = 1):
    raw = tiny_instance([(0, 0, 360_000)] * hours, rental={"usd_per_gpu_hour": 1.0})
    folder = tmp_path / "inputs"
    folder.mkdir(exist_ok=True)
    return write_instance(folder, raw)


def test_a_run_that_fails_while_writing_leaves_the_old_result_whole(tmp_path, monkeypatch):
    """An earlier one-hour result, then a two-hour run that fails while writing its chart (as a
    full disk or a kill would): the folder still holds the earlier result, every file of it and
    nothing of the new one."""
    out = tmp_path / "plan"
    api.solve_instance(instance(tmp_path, 1), out=out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken_chart(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("planner.report.files.plan_chart", broken_chart)
    with pytest.raises(OSError):
        api.solve_instance(instance(tmp_path, 2), out=out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plan")] == []  # no staging left


def test_a_run_without_a_plan_replaces_the_old_plan_whole(tmp_path):
    """--overwrite with a run whose hard limits conflict: the folder then holds its diagnosis
    alone, not the diagnosis beside the earlier plan (issue 19, item 3)."""
    out = tmp_path / "plan"
    path = instance(tmp_path, 1)
    api.solve_instance(path, out=out)
    result = CliRunner().invoke(main, ["solve", str(path), "--out", str(out), "--overwrite",
                                       "--set", "penalties.allow_unserved=false",
                                       "--set", "node_types.gpu.rental.max_nodes=0"])
    assert result.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["diagnosis.json"]
    assert json.loads((out / "diagnosis.json").read_text())["status"] == "diagnosed"


def test_a_folder_with_files_planner_does_not_write_is_refused(tmp_path):
    """`--out` at the inputs' own folder (the demand table, a user's notes) is refused before
    anything is solved or written, with or without --overwrite (issue 19, item 4)."""
    path = instance(tmp_path)
    inputs = path.parent
    before = {p.name: p.read_bytes() for p in inputs.rglob("*") if p.is_file()}
    for extra in ([], ["--overwrite"]):
        line = _error_line(CliRunner().invoke(main, ["solve", str(path), "--out", str(inputs), *extra]))
        assert "holds files planner does not write" in line and "demand.csv" in line
    assert {p.name: p.read_bytes() for p in inputs.rglob("*") if p.is_file()} == before


def test_a_folder_another_run_is_writing_is_refused(tmp_path):
    """Two runs into one --out: the second is refused while the first holds the folder's lock
    (taken here as another process would take it), and goes through once it is released
    (issue 19, item 2)."""
    path = instance(tmp_path)
    out = tmp_path / "plan"
    out.mkdir()
    fd = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        line = _error_line(CliRunner().invoke(main, ["solve", str(path), "--out", str(out)]))
        assert "another planner run is writing this folder" in line
    finally:
        os.close(fd)
    assert CliRunner().invoke(main, ["solve", str(path), "--out", str(out)]).exit_code == 0
    assert (out / "summary.json").exists()


def test_reference_demand_does_not_replace_a_file_unasked(tmp_path):
    """`reference-demand --out` at an existing file (here an instance YAML) is refused without
    --overwrite and the file kept (issue 19, item 6); with it, the table is written."""
    from .conftest import ROOT

    target = tmp_path / "instance.yaml"
    target.write_text("name: keep\n")
    args = ["reference-demand", str(ROOT / "reference" / "deepseek-2025-02-28.yaml"), "--out", str(target)]
    line = _error_line(CliRunner().invoke(main, args))
    assert "exists" in line and "--overwrite" in line
    assert target.read_text() == "name: keep\n"
    assert CliRunner().invoke(main, [*args, "--overwrite"]).exit_code == 0
    assert "period,served_model" in target.read_text()
