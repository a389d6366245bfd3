"""Bad input through the real CLI: exit code 2 and one line on stderr naming file, field and value.

Each case builds a broken input in a temporary folder (from the tiny instance of conftest.py, or
from a copy of the shipped reference day) and returns the command-line arguments after the
command name, with the pieces the error line must name. Every case runs under `validate` and
`solve`; both must refuse the input the same way, before solving anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from planner.cli import main

from .conftest import REFERENCE_INSTANCE, ROOT, tiny_instance, tiny_profile, write_instance

COMMANDS = ("validate", "solve")
HEADER = "period,served_model,input_tokens,input_cache_hit_tokens,output_tokens"


# ---------------------------------------------------------------------------------------------
# Building broken inputs
# ---------------------------------------------------------------------------------------------
def _tiny(**kwargs: Any) -> dict[str, Any]:
    """Two periods of one served model 'toy' on node type 'gpu' (rented), valid as is."""
    kwargs.setdefault("rental", {"usd_per_gpu_hour": 1.0})
    return tiny_instance([(1000.0, 0.0, 100.0), (2000.0, 500.0, 200.0)], **kwargs)


def _set(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    node = raw
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value
    return raw


def _delete(raw: dict[str, Any], dotted: str) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    node = raw
    for part in parents:
        node = node[part]
    del node[last]
    return raw


def tiny_with(dotted: str, value: Any, **kwargs: Any) -> Callable[[Path], list[str]]:
    """The tiny instance with one field set to `value`."""
    def build(tmp: Path) -> list[str]:
        return [str(write_instance(tmp, _set(_tiny(**kwargs), dotted, value)))]
    return build


def tiny_without(dotted: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        return [str(write_instance(tmp, _delete(_tiny(), dotted)))]
    return build


def tiny_text(text: str | bytes) -> Callable[[Path], list[str]]:
    """A valid tiny instance folder whose instance.yaml is replaced by `text`."""
    def build(tmp: Path) -> list[str]:
        path = write_instance(tmp, _tiny())
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return [str(path)]
    return build


def tiny_edited(edit: Callable[[str], str], **kwargs: Any) -> Callable[[Path], list[str]]:
    """The tiny instance as written by write_instance, then its YAML text edited."""
    def build(tmp: Path) -> list[str]:
        path = write_instance(tmp, _tiny(**kwargs))
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
        return [str(path)]
    return build


def tiny_csv(*rows: str, header: str = HEADER) -> Callable[[Path], list[str]]:
    """The tiny instance with demand.csv replaced by `header` and `rows`."""
    def build(tmp: Path) -> list[str]:
        path = write_instance(tmp, _tiny())
        (tmp / "demand.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        return [str(path)]
    return build


def tiny_profile_with(dotted: str, value: Any) -> Callable[[Path], list[str]]:
    """The tiny instance whose profile models/toy@gpu.yaml has one field set to `value`."""
    def build(tmp: Path) -> list[str]:
        return [str(write_instance(tmp, _tiny(), [_set(tiny_profile(), dotted, value)]))]
    return build


def tiny_prompts(lines: list[str] | None, column: str = "prompt_tokens") -> Callable[[Path], list[str]]:
    """The tiny instance with an empirical prompt shape read from prompts.csv (None: no file)."""
    def build(tmp: Path) -> list[str]:
        raw = _tiny()
        raw["served_models"]["toy"]["workload"] = {"mean_prompt_tokens": 100, "prompt_tokens_distribution": "empirical",
                                                   "prompt_tokens_file": "prompts.csv",
                                                   "prompt_tokens_column": column}
        path = write_instance(tmp, raw)
        if lines is not None:
            (tmp / "prompts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return [str(path)]
    return build


def tiny_peaks(lines: list[str] | None, **demand: Any) -> Callable[[Path], list[str]]:
    """The tiny instance reading per-period peak-to-mean ratios from peaks.csv (None: no file)."""
    def build(tmp: Path) -> list[str]:
        raw = _tiny()
        raw["demand"].update({"peaks_file": "peaks.csv", **demand})
        path = write_instance(tmp, raw)
        if lines is not None:
            (tmp / "peaks.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return [str(path)]
    return build


def tiny_overrides(*overrides: str, **kwargs: Any) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        args = [str(write_instance(tmp, _tiny(**kwargs)))]
        for override in overrides:
            args += ["--set", override]
        return args
    return build


def shipped(edit: Callable[[str], str] = lambda text: text, edit_csv: Callable[[str], str] = lambda text: text,
            overrides: list[str] = ()) -> Callable[[Path], list[str]]:
    """A copy of the shipped reference day (YAML + CSV) in tmp, models and reference left in place."""
    def build(tmp: Path) -> list[str]:
        text = REFERENCE_INSTANCE.read_text(encoding="utf-8")
        text = text.replace("profiles_dir: ../models", f"profiles_dir: {ROOT / 'models'}")
        text = text.replace("reference: ../reference/", f"reference: {ROOT / 'reference'}/")
        path = tmp / REFERENCE_INSTANCE.name
        path.write_text(edit(text), encoding="utf-8")
        csv = REFERENCE_INSTANCE.with_name("deepseek-2025-02-28-demand.csv")
        (tmp / csv.name).write_text(edit_csv(csv.read_text(encoding="utf-8")), encoding="utf-8")
        return [str(path), *(arg for override in overrides for arg in ("--set", override))]
    return build


def _replace_once(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert text.count(old) == 1, f"{old!r} must occur once in the shipped file"
        return text.replace(old, new)
    return edit


def without_file(name: str) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        args = [str(write_instance(tmp, _tiny()))]
        (tmp / name).unlink()
        return args
    return build


def _missing_instance(tmp: Path) -> list[str]:
    return [str(tmp / "no-such-instance.yaml")]


def _window(name: str, start: str, end: str) -> dict[str, Any]:
    return {"name": name, "start": start, "end": end,
            "prices": {"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 0.0}}


# ---------------------------------------------------------------------------------------------
# The cases: (build, pieces the error line must contain). Pieces are the file name, the field
# and the offending value, as the line shows them.
# ---------------------------------------------------------------------------------------------
CASES = [
    # Files and YAML
    pytest.param(_missing_instance, ["no-such-instance.yaml", "file not found"], id="instance-file-missing"),
    pytest.param(tiny_text(b"name: caf\xe9\n"), ["instance.yaml", "line 1", "\\xe9", "UTF-8"], id="not-utf8"),
    pytest.param(tiny_text("name: tiny\nhorizon: [1, 2\n"), ["instance.yaml", "line 3", "not valid YAML"],
                 id="yaml-syntax"),
    pytest.param(tiny_text("- name\n- horizon\n"), ["instance.yaml", "(top level)", "['name', 'horizon']"],
                 id="yaml-top-level-list"),
    pytest.param(tiny_text("just a string\n"), ["instance.yaml", "(top level)", "'just a string'"],
                 id="yaml-top-level-scalar"),
    pytest.param(tiny_text(""), ["instance.yaml", "(top level)", "the file is empty"], id="yaml-empty-file"),
    pytest.param(shipped(_replace_once("  period_hours: 1.0\n", "  period_hours: 1.0\n  periods: 12\n")),
                 ["deepseek-2025-02-28.yaml", "line 18", "duplicate key", "'periods'"], id="yaml-duplicate-key"),
    # Schema: unknown keys, types, ranges
    pytest.param(shipped(_replace_once("profiles_dir:", "profile_dir:")),
                 ["deepseek-2025-02-28.yaml", "profile_dir", "models'", "unknown key"],
                 id="unknown-key-top-level"),
    pytest.param(tiny_with("horizon.period_hour", 1.0), ["instance.yaml", "horizon.period_hour", "1.0", "unknown key"],
                 id="unknown-key-nested"),
    pytest.param(shipped(_replace_once("prefill_capacity_factor:", "prefil_capacity_factor:")),
                 ["deepseek-2025-02-28.yaml", "served_models.deepseek-r1.deployments.h800.prefil_capacity_factor",
                  "1.0911", "unknown key"], id="unknown-key-deep"),
    pytest.param(tiny_with("horizon.periods", "24"), ["instance.yaml", "horizon.periods", "'24'"],
                 id="string-for-integer"),
    pytest.param(tiny_with("served_models.toy.prices_usd_per_million_tokens.output", "2.19 USD"),
                 ["instance.yaml", "served_models.toy.prices_usd_per_million_tokens.output", "'2.19 USD'"],
                 id="string-for-number"),
    pytest.param(tiny_with("horizon.periods", True), ["instance.yaml", "horizon.periods", "True"],
                 id="bool-for-integer"),
    pytest.param(tiny_with("node_types.gpu.rental.usd_per_gpu_hour", -2.0),
                 ["instance.yaml", "node_types.gpu.rental.usd_per_gpu_hour", "-2.0", "greater than or equal to 0"],
                 id="negative-price"),
    pytest.param(tiny_with("served_models.toy.prices_usd_per_million_tokens.output", float("nan")),
                 ["instance.yaml", "served_models.toy.prices_usd_per_million_tokens.output", "nan", "finite"],
                 id="nan"),
    pytest.param(tiny_with("penalties", {"unserved_output_usd_per_million_tokens": float("inf")}),
                 ["instance.yaml", "penalties.unserved_output_usd_per_million_tokens", "inf", "finite"],
                 id="infinity"),
    pytest.param(tiny_with("horizon.period_hours", 0), ["instance.yaml", "horizon.period_hours", "= 0", "greater than 0"],
                 id="zero-period-hours"),
    pytest.param(tiny_with("horizon.periods", 0), ["instance.yaml", "horizon.periods", "= 0"], id="zero-periods"),
    pytest.param(tiny_without("horizon.start"), ["instance.yaml", "horizon.start", "required field is missing"],
                 id="missing-required-field"),
    pytest.param(tiny_with("served_models", {}), ["instance.yaml", "served_models", "at least 1 item", "not 0"], id="no-served-models"),
    pytest.param(tiny_with("horizon.start", "2025-01-01T00:00:00"),
                 ["instance.yaml", "horizon.start", "'2025-01-01T00:00:00'", "UTC offset"], id="start-without-offset"),
    pytest.param(tiny_with("horizon.start", "tomorrow"), ["instance.yaml", "horizon.start", "'tomorrow'", "ISO 8601"],
                 id="start-not-a-date"),
    pytest.param(tiny_with("node_types.gpu.owned", {"usd_per_gpu_hour": 1.0, "min_nodes": 5, "max_nodes": 2}),
                 ["instance.yaml", "node_types.gpu.owned", "min_nodes", "5", "max_nodes", "2"],
                 id="owned-min-above-max"),
    pytest.param(tiny_with("served_models.toy.price_windows", [_window("night", "25:00", "08:00")]),
                 ["instance.yaml", "served_models.toy.price_windows.0.start", "'25:00'", "HH:MM"],
                 id="bad-clock-time"),
    pytest.param(tiny_edited(lambda text: text.replace("'25:00'", "25:00"),
                             price_windows=[_window("night", "25:00", "08:00")]),
                 ["instance.yaml", "served_models.toy.price_windows.0.start", "'25:00'", "HH:MM"],
                 id="bad-clock-time-unquoted"),
    pytest.param(tiny_with("served_models.toy.price_windows", [_window("night", "00:00", "08:00"),
                                                              _window("dawn", "06:00", "09:00")]),
                 ["instance.yaml", "served_models.toy.price_windows.1", "'dawn'", "overlaps"],
                 id="overlapping-price-windows"),
    pytest.param(tiny_with("served_models.toy.price_windows", [_window("early", "00:00", "00:40"),
                                                              _window("blip", "00:20", "00:30")]),
                 ["instance.yaml", "served_models.toy.price_windows.1", "'blip'", "overlaps", "00:20"],
                 id="overlapping-price-windows-within-one-period"),
    pytest.param(tiny_with("served_models.toy.price_windows", [_window("night", "22:00", "06:00"),
                                                              _window("dawn", "05:00", "07:00")]),
                 ["instance.yaml", "served_models.toy.price_windows.1", "'dawn'", "overlaps", "'night'"],
                 id="overlapping-price-windows-past-midnight"),
    pytest.param(tiny_with("solver", {"formulation": "fancy"}),
                 ["instance.yaml", "solver.formulation", "'fancy'", "unknown formulation"],
                 id="unknown-formulation"),
    pytest.param(tiny_with("name", "my instance"), ["instance.yaml", "name", "'my instance'"], id="bad-name"),
    # Cross-references: profiles, node types, files named by the instance
    pytest.param(tiny_with("served_models.toy.deployments.gpu.profile", "toy@tpu"),
                 ["instance.yaml", "served_models.toy.deployments.gpu.profile", "'toy@tpu'", "unknown profile"],
                 id="unknown-profile"),
    pytest.param(tiny_with("served_models.toy.deployments", {"tpu": {"profile": "toy@gpu"}}),
                 ["instance.yaml", "served_models.toy.deployments.tpu", "'tpu'", "unknown node type"],
                 id="unknown-node-type-in-deployments"),
    pytest.param(tiny_with("node_types.gpu.gpus_per_node", 8),
                 ["instance.yaml", "node_types.gpu.gpus_per_node", "= 8", "toy@gpu has 1 GPUs"],
                 id="gpus-per-node-mismatch"),
    pytest.param(tiny_profile_with("prefill.unit_node", 4), ["toy@gpu.yaml", "prefill.unit_node", "4", "unknown key"],
                 id="profile-unknown-key"),
    pytest.param(tiny_profile_with("decode.output_tokens_per_s_per_node", -100.0),
                 ["toy@gpu.yaml", "decode.output_tokens_per_s_per_node", "-100.0"], id="profile-negative-throughput"),
    pytest.param(tiny_profile_with("served_model", "other"), ["toy@gpu.yaml", "name", "'toy@gpu'", "'other@gpu'"],
                 id="profile-name-mismatch"),
    pytest.param(without_file("demand.csv"), ["instance.yaml", "demand.file", "'demand.csv'", "not found"],
                 id="demand-csv-missing"),
    pytest.param(tiny_with("reference", "nowhere.yaml"), ["instance.yaml", "reference", "'nowhere.yaml'", "not found"],
                 id="reference-missing"),
    # The demand CSV
    pytest.param(tiny_csv("0,toy,1000,0,100,7", "1,toy,2000,500,200,7",
                          header=HEADER + ",priority"), ["demand.csv", "header", "'priority'", "unknown column"],
                 id="csv-unknown-column"),
    pytest.param(tiny_csv("0,toy,1000,0", "1,toy,2000,500", header=HEADER.rsplit(",", 1)[0]),
                 ["demand.csv", "header", "'output_tokens'", "missing"], id="csv-missing-column"),
    pytest.param(tiny_csv("0,toy,1000,0,100,100", "1,toy,2000,500,200,200", header=HEADER + ",output_tokens"),
                 ["demand.csv", "header", "'output_tokens'", "duplicate column"], id="csv-duplicate-column"),
    pytest.param(tiny_csv("0,toy,1000,0,100", "1,toy,2k,500,200"),
                 ["demand.csv", "data row 2, input_tokens", "'2k'"], id="csv-non-numeric-tokens"),
    pytest.param(tiny_csv("0,toy,1000,0,-100", "1,toy,2000,500,200"),
                 ["demand.csv", "data row 1, output_tokens", "'-100'", ">= 0"], id="csv-negative-tokens"),
    pytest.param(tiny_csv("0,toy,1000,0,nan", "1,toy,2000,500,200"),
                 ["demand.csv", "data row 1, output_tokens", "'nan'", "finite"], id="csv-nan-tokens"),
    pytest.param(shipped(edit_csv=_replace_once("1,deepseek-r1,30880483041,17370271710,",
                                                "1,deepseek-r1,30880483041,37370271710,")),
                 ["deepseek-2025-02-28-demand.csv", "data row 2, input_cache_hit_tokens", "= '37370271710'",
                  "more than input_tokens (30880483041)"], id="csv-cache-hits-above-input"),
    pytest.param(tiny_csv("0,toy,1000,0,100", "0,toy,1000,0,100", "1,toy,2000,500,200"),
                 ["demand.csv", "data row 2, period", "= 0", "duplicate row", "'toy'"], id="csv-duplicate-row"),
    pytest.param(tiny_csv("0,toy,1000,0,100"), ["demand.csv", "period", "= 1", "no row", "'toy'"],
                 id="csv-missing-period"),
    pytest.param(tiny_csv("0,toy,1000,0,100", "1,toy,2000,500,200", "2,toy,2000,500,200"),
                 ["demand.csv", "data row 3, period", "= 2", "outside the horizon"], id="csv-period-outside-horizon"),
    pytest.param(tiny_csv("0,toy,1000,0,100", "1.5,toy,2000,500,200"),
                 ["demand.csv", "data row 2, period", "'1.5'", "whole number"], id="csv-fractional-period"),
    pytest.param(tiny_csv("0,toy,1000,0,100", "1,llama,2000,500,200"),
                 ["demand.csv", "data row 2, served_model", "'llama'", "unknown served model"],
                 id="csv-unknown-served-model"),
    pytest.param(tiny_csv(), ["demand.csv", "(rows)", "no rows"], id="csv-header-only"),
    pytest.param(tiny_csv(header=""), ["demand.csv", "header", "the file is empty"], id="csv-empty-file"),
    pytest.param(tiny_csv("0,toy,1000,0,100,5", "1,toy,2000,500,200"),
                 ["demand.csv", "line 2", "saw 6", "not a readable CSV"], id="csv-ragged-row"),
    # per-period peaks from a trace's statistics (issue 14)
    pytest.param(tiny_peaks(None), ["instance.yaml", "demand.peaks_file", "peaks.csv", "file not found"],
                 id="peaks-file-missing"),
    pytest.param(tiny_peaks(["period,served_model,peak_to_mean_ratio", "0,toy,2", "1,toy,0.5"]),
                 ["peaks.csv", "data row 2, peak_to_mean_ratio", "0.5", "from 1 to 1000"], id="peaks-below-one"),
    pytest.param(tiny_peaks(["period,served_model,peak_to_mean_ratio", "0,toy,2", "1,toy,lots"]),
                 ["peaks.csv", "data row 2, peak_to_mean_ratio", "lots"], id="peaks-not-a-number"),
    pytest.param(tiny_peaks(["period,served_model,peak_to_mean_ratio", "0,toy,2"]),
                 ["peaks.csv", "period", "no row for served model 'toy'"], id="peaks-period-missing"),
    pytest.param(tiny_peaks(["period,served_model,ratio", "0,toy,2", "1,toy,2"]),
                 ["peaks.csv", "header", "peak_to_mean_ratio", "required column"], id="peaks-column-missing"),
    pytest.param(tiny_peaks(["period,served_model,peak_to_mean_ratio", "0,toy,2", "1,toy,2"], peak_to_mean_ratio=1.5),
                 ["instance.yaml", "demand", "peak_to_mean_ratio or peaks_file, not both"], id="peaks-twice"),
    # workload, decode memory, peaks and tails (issue 13)
    pytest.param(tiny_prompts(None), ["instance.yaml", "served_models.toy.workload.prompt_tokens_file", "prompts.csv",
                                      "file not found"], id="prompts-file-missing"),
    pytest.param(tiny_prompts(["tokens", *["5"] * 200], column="prompt_tokens"),
                 ["prompts.csv", "header", "prompt_tokens", "no such column"], id="prompts-column-missing"),
    pytest.param(tiny_prompts(["prompt_tokens", "5", "abc", *["5"] * 200]),
                 ["prompts.csv", "data row 2, prompt_tokens", "abc", "> 0"], id="prompts-not-a-number"),
    pytest.param(tiny_prompts(["prompt_tokens", *["5"] * 20]), ["prompts.csv", "prompt_tokens", "20", "at least 100"],
                 id="prompts-too-few"),
    pytest.param(tiny_with("served_models.toy.workload", {"mean_prompt_tokens": 100,
                                                         "prompt_tokens_distribution": "empirical"}),
                 ["served_models.toy.workload", "prompt_tokens_file"], id="empirical-without-a-file"),
    pytest.param(tiny_with("demand.peak_to_mean_ratio", 0.5), ["demand.peak_to_mean_ratio", "0.5", "greater than or equal to 1"],
                 id="peak-ratio-below-one"),
    pytest.param(tiny_with("served_models.toy.slo", {"decode_speed_percentile": 0.99}),
                 ["served_models.toy.slo", "decode_speed_percentile needs decode_tokens_per_s_per_user"],
                 id="tpot-percentile-without-a-speed"),
    pytest.param(tiny_profile_with("decode.memory", {"hbm_gb_per_gpu": 80, "weights_gb_per_gpu": 70,
                                                     "reserved_gb_per_gpu": 20, "kv_bytes_per_token": 70272,
                                                     "assumption": True}),
                 ["toy@gpu.yaml", "decode.memory", "leave no room for a KV cache"], id="memory-without-room"),
    # --set overrides: the line names `--set KEY`
    pytest.param(tiny_overrides("solver.mip_gap"), ["--set solver.mip_gap", "expected"], id="set-without-equals"),
    pytest.param(tiny_overrides("solver.mip_gapp=0.1"), ["--set solver.mip_gapp", "= 0.1", "unknown key"],
                 id="set-unknown-key"),
    pytest.param(tiny_overrides("solvr.mip_gap=0.1"), ["--set solvr.mip_gap", "solvr", "unknown key"],
                 id="set-unknown-section"),
    pytest.param(tiny_overrides("horizon.periods=many"), ["--set horizon.periods", "'many'", "integer"],
                 id="set-wrong-type"),
    pytest.param(tiny_overrides("solver.mip_gap=2"), ["--set solver.mip_gap", "= 2", "less than or equal to 1"],
                 id="set-out-of-range"),
    pytest.param(tiny_overrides("solver.mip_gap=[0.1"), ["--set solver.mip_gap", "'[0.1'", "YAML"],
                 id="set-value-not-yaml"),
    pytest.param(tiny_overrides("served_models.toy.price_windows.3.start=01:00",
                                price_windows=[_window("night", "00:00", "08:00")]),
                 ["--set served_models.toy.price_windows.3.start", "'3'", "expected 0 to 0"], id="set-bad-list-index"),
    pytest.param(shipped(overrides=["sources.x=more"]), ["--set sources.x", "'x'", "expected 0 to 2"],
                 id="set-list-index-not-a-number"),
    pytest.param(tiny_overrides("horizon.start.hour=3"), ["--set horizon.start.hour", "horizon.start", "'2025-01-01T00:00:00+00:00'", "not a mapping"],
                 id="set-through-a-scalar"),
    pytest.param(tiny_overrides("solver..mip_gap=0.1"), ["--set solver..mip_gap", "dotted"], id="set-empty-path-part"),
]


def _error_line(result) -> str:
    """The one line the CLI printed on stderr, after checking everything the contract asks."""
    output = result.output + result.stderr
    assert "Traceback" not in output, output
    assert result.exit_code == 2, (result.exit_code, output, result.exc_info)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("build, pieces", CASES)
def test_bad_input_gets_one_line_naming_file_field_and_value(tmp_path, command, build, pieces):
    args = build(tmp_path)
    result = CliRunner().invoke(main, [command, *args])
    line = _error_line(result)
    for piece in pieces:
        assert piece in line, f"{piece!r} not in {line!r}"


def test_output_folder_with_a_previous_result_needs_overwrite(tmp_path):
    out = tmp_path / "plan"
    out.mkdir()
    (out / "summary.json").write_text("{}", encoding="utf-8")
    instance = write_instance(tmp_path, _tiny())
    result = CliRunner().invoke(main, ["solve", str(instance), "--out", str(out)])
    line = _error_line(result)
    for piece in ("plan", "--out", "previous result", "--overwrite"):
        assert piece in line, f"{piece!r} not in {line!r}"
    assert (out / "summary.json").read_text(encoding="utf-8") == "{}"
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_output_folder_that_is_a_file(tmp_path):
    out = tmp_path / "plan.txt"
    out.write_text("keep me", encoding="utf-8")
    instance = write_instance(tmp_path, _tiny())
    result = CliRunner().invoke(main, ["solve", str(instance), "--out", str(out)])
    line = _error_line(result)
    assert "plan.txt" in line and "--out" in line and "not a folder" in line
    assert out.read_text(encoding="utf-8") == "keep me"


def test_the_valid_tiny_instance_and_shipped_copy_pass(tmp_path):
    """The cases above break one thing each: the unbroken inputs they start from are valid."""
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    result = CliRunner().invoke(main, ["validate", str(write_instance(tiny, _tiny()))])
    assert result.exit_code == 0, result.output
    copy = tmp_path / "copy"
    copy.mkdir()
    result = CliRunner().invoke(main, ["validate", *shipped()(copy)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout and result.stderr == ""


def test_unquoted_date_times_and_clock_times_read_as_written(tmp_path):
    """YAML 1.1 would read them as a datetime and as base-60 integers (22:00 -> 1320)."""
    raw = _tiny(price_windows=[_window("night", "22:00", "06:30")])
    instance = write_instance(tmp_path, raw)
    text = instance.read_text(encoding="utf-8").replace("'", "")
    for unquoted in ("start: 2025-01-01T00:00:00+00:00", "start: 22:00", "end: 06:30"):
        assert unquoted in text
    instance.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(instance)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args, pieces", [
    pytest.param(["solve", "x.yaml", "--mip-gap", "2"], ["--mip-gap", "2.0", "planner solve --help"], id="option-out-of-range"),
    pytest.param(["solve", "x.yaml", "--colour"], ["--colour", "No such option"], id="unknown-option"),
    pytest.param(["solve"], ["INSTANCE", "Missing argument"], id="missing-argument"),
    pytest.param(["solv"], ["solv", "No such command"], id="unknown-command"),
    # NaN passes every comparison and inf a range without a maximum: both refused (issue 19, 14).
    *(pytest.param(["solve", "x.yaml", option, value], [option, value], id=f"{option}-{value}")
      for option in ("--time-limit", "--mip-gap") for value in ("nan", "inf")),
    pytest.param(["claims", "x.yaml", "--claim", "c.yaml", "--cny-per-usd", "nan"],
                 ["--cny-per-usd", "nan", "not a finite number"], id="claims-nan"),
])
def test_usage_errors_are_one_line_too(args, pieces):
    line = _error_line(CliRunner().invoke(main, args))
    for piece in pieces:
        assert piece in line, f"{piece!r} not in {line!r}"


def bad_reference(edit_yaml: Callable[[str], str] = lambda t: t,
                  edit_nodes: Callable[[str], str] = lambda t: t) -> Callable[[Path], list[str]]:
    """The shipped instance pointing at an edited copy of the reference files."""
    def build(tmp: Path) -> list[str]:
        folder = tmp / "ref"
        folder.mkdir()
        for source in (ROOT / "reference").glob("deepseek-2025-02-28*"):  # the published day, not the claims
            text = source.read_text(encoding="utf-8")
            text = edit_yaml(text) if source.suffix == ".yaml" else text
            text = edit_nodes(text) if source.name.endswith("-nodes.csv") else text
            (folder / source.name).write_text(text, encoding="utf-8")
        return shipped(overrides=[f"reference={folder / 'deepseek-2025-02-28.yaml'}"])(tmp)
    return build


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("build, pieces", [
    pytest.param(bad_reference(edit_yaml=_replace_once("  peak_nodes: 278", "  peak_nodes: -5")),
                 ["deepseek-2025-02-28.yaml", "fleet.peak_nodes", "-5", "greater than 0"], id="reference-negative"),
    pytest.param(bad_reference(edit_yaml=_replace_once("  average_nodes: 226.75\n", "")),
                 ["deepseek-2025-02-28.yaml", "fleet.average_nodes", "missing"], id="reference-missing-field"),
    pytest.param(bad_reference(edit_nodes=_replace_once("03:30,06:30,68", "03:30,6h30,68")),
                 ["deepseek-2025-02-28-nodes.csv", "data row 7, to", "6h30", "clock"], id="reference-bad-clock"),
    pytest.param(tiny_overrides("node_types.gpu.owned.min_nodes=5"),
                 ["--set node_types.gpu.owned.min_nodes", "owned.usd_per_gpu_hour", "missing"],
                 id="set-creates-an-incomplete-section"),
])
def test_bad_reference_and_created_sections(tmp_path, command, build, pieces):
    line = _error_line(CliRunner().invoke(main, [command, *build(tmp_path)]))
    for piece in pieces:
        assert piece in line, f"{piece!r} not in {line!r}"


def _job(**fields: Any) -> dict[str, Any]:
    return {"jobs": [{"name": "j", "gang_nodes": 4, "length_hours": 1, **fields}], "granule_nodes": 2}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("build, pieces", [
    pytest.param(tiny_with("training", _job(gang_nodes=3)),
                 ["instance.yaml", "training.jobs.0.gang_nodes", "= 3", "multiple of training.granule_nodes (2)"],
                 id="training-gang-not-a-multiple-of-the-granule"),
    pytest.param(tiny_with("training", _job(node_type="tpu")),
                 ["instance.yaml", "training.jobs.0.node_type", "'tpu'", "unknown node type"], id="training-unknown-node-type"),
    pytest.param(tiny_with("training", _job(deadline="2030-01-01T00:00:00+00:00")),
                 ["instance.yaml", "training.jobs.0.deadline", "2030-01-01", "outside the horizon"],
                 id="training-deadline-outside-the-horizon"),
    pytest.param(tiny_with("training", _job(length_hours=5)),
                 ["instance.yaml", "training.jobs.0", "'j'", "needs 5 periods", "window holds 2"],
                 id="training-job-longer-than-its-window"),
    pytest.param(tiny_with("training", _job(earliest_start="midnight")),
                 ["instance.yaml", "training.jobs.0.earliest_start", "'midnight'", "ISO 8601"],
                 id="training-bad-date-time"),
    pytest.param(tiny_with("training", {"jobs": [{"name": "j", "gang_nodes": 1, "length_hours": 1}] * 2}),
                 ["instance.yaml", "training", "unique"], id="training-duplicate-job-names"),
    pytest.param(tiny_with("training", {"harvest": {"tpu": {"usd_per_node_hour": 1}}}),
                 ["instance.yaml", "training.harvest.tpu", "unknown node type"], id="training-harvest-unknown-node-type"),
    pytest.param(tiny_with("training", {"harvest": {"gpu": {"usd_per_node_hour": 1, "min_window_hours": 9, "max_nodes": 4}}}),
                 ["instance.yaml", "training.harvest.gpu.min_window_hours", "= 9", "longer than the horizon"],
                 id="training-harvest-window-longer-than-the-horizon"),
    pytest.param(tiny_with("training", {"switching": {"minutes": -5}}),
                 ["instance.yaml", "training.switching.minutes", "-5", "greater than or equal to 0"],
                 id="training-negative-switch-time"),
])
def test_bad_training_section(tmp_path, command, build, pieces):
    line = _error_line(CliRunner().invoke(main, [command, *build(tmp_path)]))
    for piece in pieces:
        assert piece in line, f"{piece!r} not in {line!r}"


def test_an_unbounded_harvest_is_bad_input(tmp_path):
    build = tiny_with("training", {"harvest": {"gpu": {"usd_per_node_hour": 20}}})
    line = _error_line(CliRunner().invoke(main, ["validate", *build(tmp_path)]))
    assert "training.harvest.gpu.max_nodes" in line and "without bound" in line
