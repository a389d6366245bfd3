"""Trustworthy under bad input, hard limits and faults: fuzzing, infeasible plans, time limits,
Ctrl-C, outputs."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import threading
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cli import main

from .conftest import REFERENCE_INSTANCE, ROOT

MIXED = ROOT / "instances" / "mixed-fleet.yaml"


def one_error_line(result) -> str:
    text = result.output + result.stderr
    assert "Traceback" not in text, text
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- fuzzing ---------------------------------------------------------------------------------
BAD_VALUES = [None, "x", "", float("nan"), float("inf"), -float("inf"), -1, 0, 1e300, 1e-300, [], {}, True,
              "2025-13-45", "25:99"]


def paths(node, prefix=()):
    """Every (path, value) in a nested mapping/list."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key), value
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*prefix, i), value
            yield from paths(value, (*prefix, i))


def set_at(node, path, value):
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def drop_at(node, path):
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]


@st.composite
def instance_mutations(draw):
    raw = yaml.safe_load(REFERENCE_INSTANCE.read_text())
    where = draw(st.sampled_from(list(paths(raw))))[0]
    kind = draw(st.sampled_from(["drop", "rename", "value"]))
    return raw, where, kind, draw(st.sampled_from(BAD_VALUES))


def copy_shipped(folder: Path) -> Path:
    """The reference instance with its demand CSV, models and reference in a private folder."""
    shutil.copytree(ROOT / "models", folder / "models")
    shutil.copytree(ROOT / "reference", folder / "reference")
    (folder / "instances").mkdir()
    shutil.copy(REFERENCE_INSTANCE, folder / "instances")
    shutil.copy(REFERENCE_INSTANCE.with_name("deepseek-2025-02-28-demand.csv"), folder / "instances")
    return folder / "instances" / REFERENCE_INSTANCE.name


def check_outcome(result, files: list[Path]) -> None:
    """Plan (0), no plan (1) or one clear line naming a file or --set (2); never a traceback."""
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output, result.stderr, result.exc_info)
    if result.exit_code == 2:
        line = one_error_line(result)
        assert line.startswith("error: ")
        assert any(f.name in line or str(f) in line for f in files) or "--set" in line, line
    assert "Traceback" not in result.output + result.stderr


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(instance_mutations())
def test_fuzz_the_instance_file(tmp_path_factory, mutation):
    raw, where, kind, value = mutation
    folder = tmp_path_factory.mktemp("fuzz")
    path = copy_shipped(folder)
    if kind == "drop":
        drop_at(raw, where)
    elif kind == "rename" and isinstance(where[-1], str):
        node = raw
        for part in where[:-1]:
            node = node[part]
        node[where[-1] + "_x"] = node.pop(where[-1])
    else:
        set_at(raw, where, value)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    result = CliRunner().invoke(main, ["validate", str(path)])
    check_outcome(result, [path, path.with_name("deepseek-2025-02-28-demand.csv"), folder / "models",
                           folder / "reference"])


@st.composite
def csv_mutations(draw):
    lines = REFERENCE_INSTANCE.with_name("deepseek-2025-02-28-demand.csv").read_text().splitlines()
    data = [i for i, line in enumerate(lines) if line and not line.startswith("#")][1:]
    kind = draw(st.sampled_from(["drop_row", "duplicate_row", "cell", "extra_column", "bytes", "empty", "header"]))
    row = draw(st.sampled_from(data))
    cell = draw(st.sampled_from(["", "nan", "inf", "-5", "1e400", "abc", "1.5", "99", "  7  "]))
    column = draw(st.integers(0, 4))
    return lines, kind, row, cell, column


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(csv_mutations())
def test_fuzz_the_demand_table(tmp_path_factory, mutation):
    lines, kind, row, cell, column = mutation
    folder = tmp_path_factory.mktemp("fuzzcsv")
    path = copy_shipped(folder)
    csv = path.with_name("deepseek-2025-02-28-demand.csv")
    lines = list(lines)
    if kind == "drop_row":
        del lines[row]
    elif kind == "duplicate_row":
        lines.insert(row, lines[row])
    elif kind == "cell":
        parts = lines[row].split(",")
        parts[column] = cell
        lines[row] = ",".join(parts)
    elif kind == "extra_column":
        lines[row] += ",1"
    elif kind == "header":
        header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        lines[header] = lines[header].replace("output_tokens", "out_tokens")
    if kind == "bytes":
        csv.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe,bad\n")
    elif kind == "empty":
        csv.write_text("")
    else:
        csv.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    check_outcome(result, [path, csv])


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["solver.mip_gap", "demand.scale", "horizon.periods", "served_models.deepseek-r1.slo.ttft_s",
                        "node_types.h800.rental.max_nodes", "penalties.unserved_output_usd_per_million_tokens",
                        "served_models.deepseek-r1.workload.mean_prompt_tokens", "failures.node_failures_per_hour"]),
       st.sampled_from(["0", "-1", "1e-12", "1e12", ".nan", ".inf", "abc", "null", "[1]", "3"]))
def test_fuzz_overrides_then_solve(key, value):
    """Overrides, then a real solve with a short time limit: a plan, no plan, or bad input."""
    result = CliRunner().invoke(main, ["solve", str(REFERENCE_INSTANCE), "--time-limit", "5", "--set", f"{key}={value}"])
    check_outcome(result, [REFERENCE_INSTANCE, REFERENCE_INSTANCE.with_name("deepseek-2025-02-28-demand.csv")])


# --- infeasible plans ------------------------------------------------------------------------
def test_infeasible_hard_limits_say_which_hours_and_limits(tmp_path):
    """Every token must be served but at most 250 nodes can be rented: the day's peak hours
    need 278. Exit 1; the message names the hours and the binding limit; diagnosis.json is
    written and nothing that looks like a plan."""
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["solve", str(REFERENCE_INSTANCE), "--out", str(out),
                                       "--set", "penalties.allow_unserved=false",
                                       "--set", "node_types.h800.rental.max_nodes=250"])
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "cannot be served in" in line and "h800 at 0 owned + 250 rented nodes" in line
    diagnosis = json.loads((out / "diagnosis.json").read_text())
    assert diagnosis["status"] == "diagnosed"
    worst = max(diagnosis["shortfalls"], key=lambda r: r["tokens_short"])
    assert worst["start"].startswith("2025-02-27T22:00")
    assert not (out / "summary.json").exists()


def test_infeasible_with_reserved_contracts_names_them(tmp_path):
    """As above with 200 rented and at most 30 nodes on a year's contract: the limits named are
    the three kinds of capacity; with no limit on the contract the plan is feasible."""
    year = "node_types.h800.reserved=[{name: year, term_hours: 8760, usd_per_gpu_hour: 1.6, assumption: true, "
    hard = ["--set", "penalties.allow_unserved=false", "--set", "node_types.h800.rental.max_nodes=200"]
    result = CliRunner().invoke(main, ["solve", str(REFERENCE_INSTANCE), "--out", str(tmp_path / "a"), *hard,
                                       "--set", year + "max_nodes: 30}]"])
    assert result.exit_code == 1
    assert "h800 at 0 owned + 30 reserved + 200 rented nodes" in one_error_line(result)
    result = CliRunner().invoke(main, ["solve", str(REFERENCE_INSTANCE), "--out", str(tmp_path / "b"), *hard,
                                       "--set", year + "max_nodes: null}]"])
    assert result.exit_code == 0, result.output


def test_a_required_job_that_cannot_fit_is_named(tmp_path):
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, [
        "solve", str(ROOT / "instances" / "overnight-training.yaml"), "--out", str(out),
        "--set", "penalties.allow_unserved=false",
        "--set", "training.jobs.3.required=true"])  # the 160-node run, which does not fit
    assert result.exit_code == 1
    assert "required jobs that cannot be placed: big-rl-run" in one_error_line(result)


# --- time limits and Ctrl-C ------------------------------------------------------------------
def test_a_solve_stopped_by_its_limit_returns_its_best_plan_and_says_so(tmp_path):
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["solve", str(MIXED), "--set", "solver.node_limit=1", "--mip-gap", "0",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "stopped at its limit" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "work_limit"
    assert summary["mip_gap"] > 0 and summary["bound_usd"] < summary["objective_usd"]


def test_no_plan_before_the_limit_exits_1_with_the_reason():
    result = CliRunner().invoke(main, ["solve", str(MIXED), "--time-limit", "0.001"])
    assert result.exit_code == 1
    assert "before finding a plan" in one_error_line(result)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_130_and_no_complete_looking_files(tmp_path):
    out = tmp_path / "plan"
    process = subprocess.Popen([sys.executable, "-m", "planner.cli", "solve", str(MIXED), "--mip-gap", "0",
                                "--verbose", "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    ready = process.stderr.readline().decode()  # "solving ...": the model is being built and solved
    assert ready.startswith("solving"), ready
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err.decode()
    assert "interrupted" in err.decode() and "Traceback" not in err.decode()
    assert not (out / "summary.json").exists()


# --- outputs ---------------------------------------------------------------------------------
def test_files_are_written_whole_and_with_the_usual_permissions(tmp_path):
    out = tmp_path / "plan"
    assert CliRunner().invoke(main, ["solve", str(REFERENCE_INSTANCE), "--out", str(out)]).exit_code == 0
    assert not list(out.glob(".*.tmp"))
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "summary.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert math.isfinite(json.loads((out / "summary.json").read_text())["cost_usd"]["total"])


@pytest.mark.slow
def test_dask_scheduler_started_by_the_tool_listens_on_loopback():
    pytest.importorskip("dask.distributed")
    from planner.studies.executors import dask_executor

    with dask_executor(1, None) as executor:
        address = executor._client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")


def test_yaml_is_loaded_safely(tmp_path):
    """A YAML tag that would build a Python object is refused as invalid YAML, not executed."""
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo hacked']\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert "not valid YAML" in one_error_line(result) and "hacked" not in result.output


@pytest.mark.slow
@pytest.mark.parametrize("delay_s", [0.5, 1.0, 2.0])
def test_ctrl_c_while_the_library_loads_exits_130_without_a_traceback(tmp_path, delay_s):
    """The handler is installed before any heavy import (pyomo, pandas, pydantic take a second
    or two to import), so a Ctrl-C at any of these moments ends the same way."""
    process = subprocess.Popen([sys.executable, "-m", "planner.cli", "solve", str(MIXED), "--mip-gap", "0",
                                "--out", str(tmp_path / "plan")], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    threading.Event().wait(delay_s)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err.decode()
    assert "Traceback" not in err.decode()
    assert not (tmp_path / "plan" / "summary.json").exists()


def test_an_interrupt_that_surfaces_as_another_error_exits_130(monkeypatch):
    """A Ctrl-C inside a C extension's import comes back as another error (highspy's "ImportError:
    initialization failed", seen on a loaded machine): after a Ctrl-C any error is the interrupt,
    one line and exit 130, no traceback (issue 19, item 17)."""
    import planner.cli as cli

    def interrupted_import(*args, **kwargs):
        cli._INTERRUPTED.set()
        raise ImportError("initialization failed")

    monkeypatch.setattr("planner.api.validate_instance", interrupted_import)
    result = CliRunner().invoke(main, ["validate", "x.yaml"])
    assert result.exit_code == 130
    assert "Traceback" not in result.output + result.stderr
    assert one_error_line(result) == "interrupted: nothing more was written"
