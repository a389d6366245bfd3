"""`planner demand from-trace`: request logs read in chunks (planner/io/traces.py), aggregated in one
streaming pass (planner/studies/trace_demand.py), written beside the demand table.

Small traces are written by hand in tmp_path; their expected tables are derived in the docstrings.
The shared sample is one hour of the Azure LLM inference trace 2023 (coding), Azure Public Dataset,
CC-BY 4.0: Patel et al., "Splitwise: Efficient generative LLM inference using phase splitting",
ISCA 2024 (attribution and licence in traces/ beside the copy).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.errors import InputError
from planner.io.demand import read_demand_csv
from planner.io.prompts import read_prompt_lengths
from planner.io.traces import iter_trace_chunks, read_trace
from planner.studies.trace_demand import (TraceDemandOptions, apportion, histogram_quantiles, length_bins,
                                          trace_demand)

AZURE = Path(__file__).resolve().parents[1] / "traces" / "AzureLLMInferenceTrace_code.csv"
GENERIC = "timestamp,input_tokens,output_tokens"


def write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def stamp(seconds: float) -> str:
    """An ISO time `seconds` after 2024-01-01T00:00:00Z (an hour boundary)."""
    return (pd.Timestamp("2024-01-01T00:00:00Z") + pd.Timedelta(seconds=seconds)).isoformat()


def generic(rows: list[tuple], header: str = GENERIC) -> str:
    return header + "\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows)


def run(args: list[str]):
    result = CliRunner().invoke(main, args)
    assert "Traceback" not in result.output + result.stderr, result.output + result.stderr
    return result


def aggregate(path: Path, chunk_rows: int = 1_000_000, skip: bool = False, **options):
    """The trace aggregated; peak-to-mean in 60 s windows unless told (the hand examples use them)."""
    chunks = iter_trace_chunks(path, chunk_rows=chunk_rows, skip_bad_rows=skip)
    return trace_demand(chunks, TraceDemandOptions(**{"window_s": 60.0, **options}))


# -- reading -----------------------------------------------------------------------------------------

def test_the_shared_azure_trace_is_read_whole_and_its_tokens_kept():
    """Every data row of the file (8,819 rows; its README says 8,818 requests) is a request, and
    the token sums equal pandas' sums of the raw columns."""
    raw = pd.read_csv(AZURE)
    trace = read_trace(AZURE)
    assert trace.format == "azure" and trace.served_model is None and not trace.has_cached_column
    assert len(trace) == len(raw) == 8_819
    assert trace.input_tokens.sum() == raw["ContextTokens"].sum() == 18_059_974
    assert trace.output_tokens.sum() == raw["GeneratedTokens"].sum() == 245_896
    assert trace.start == pd.Timestamp("2023-11-16 18:17:03.97996")
    assert trace.time_s[0] == 0 and np.all(np.diff(trace.time_s) >= 0)
    assert trace.time_s[-1] == pytest.approx(3435.948056, abs=1e-6)


def test_chunks_count_time_from_the_first_timestamp_of_the_file(tmp_path):
    path = write(tmp_path, generic([(stamp(10), 5, 1), (stamp(12.5), 6, 2), (stamp(20), 7, 3)]))
    chunks = list(iter_trace_chunks(path, chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 1]
    assert chunks[1].time_s.tolist() == [10.0]
    assert chunks[1].start == pd.Timestamp(stamp(10))
    window = read_trace(path, start_s=2.5, end_s=10.0)
    assert window.time_s.tolist() == [2.5] and window.input_tokens.tolist() == [6]


def test_numeric_timestamps_are_seconds(tmp_path):
    path = write(tmp_path, generic([(0.5, 5, 1), (61, 6, 2)]))
    trace = read_trace(path)
    assert trace.time_s.tolist() == [0.0, 60.5]
    assert trace.start == pd.Timestamp("1970-01-01T00:00:00.5")


# -- aggregation, by hand ------------------------------------------------------------------------------

def test_tokens_are_conserved_exactly_per_period_and_model(tmp_path):
    """Periods of 10 minutes from 00:00 (the first request, 00:01, floored). Model a: 100+50 input
    (cached 40+0), 10+5 output in period 0; 70 (cached 70), 7 in period 2. Model b: 30, 3 in period
    1 only; so a has a zero row in period 1 and b zero rows in periods 0 and 2."""
    header = GENERIC + ",cached_input_tokens,served_model"
    rows = [(stamp(60), 100, 10, 40, "a"), (stamp(300), 50, 5, 0, "a"), (stamp(700), 30, 3, 0, "b"),
            (stamp(1300), 70, 7, 70, "a")]
    result = aggregate(write(tmp_path, generic(rows, header)), period_minutes=10)
    assert result.demand.values.tolist() == [
        [0, "a", 150, 40, 15], [0, "b", 0, 0, 0],
        [1, "a", 0, 0, 0], [1, "b", 30, 0, 3],
        [2, "a", 70, 70, 7], [2, "b", 0, 0, 0]]
    assert result.stats["requests"].tolist() == [2, 0, 0, 1, 1, 0]
    assert result.stats["cache_hit_share"].iloc[0] == pytest.approx(40 / 150)
    assert result.summary["totals"] == {"requests": 4, "input_tokens": 250, "input_cache_hit_tokens": 110,
                                        "output_tokens": 25}
    assert result.summary["first_period_start"] == "2024-01-01T00:00:00+00:00"


def test_peak_to_mean_by_hand(tmp_path):
    """A 10-minute period [0, 600) holding 12 requests: at 0 s; 6 in the window [60, 120) s; one
    each at 150, 250, 350, 450 and 550 s. A 13th request at 700 s (period 1) ends the trace, so
    period 0 is covered whole. Largest 60 s window: 6 arrivals; mean per window 12 × 60 / 600 =
    1.2; ratio 6 / 1.2 = 5. Period 1 is covered from 600 s to the last request at 700 s: one
    arrival against the period's mean, 1 / (1 × 60 / 600) = 10."""
    times = [0, 65, 70, 75, 80, 85, 90, 150, 250, 350, 450, 550, 700]
    result = aggregate(write(tmp_path, generic([(stamp(t), 10, 1) for t in times])), period_minutes=10)
    assert result.stats["requests"].tolist() == [12, 1]
    assert result.stats["covered_s"].tolist() == [600, 100]
    assert result.stats["peak_to_mean_ratio"].tolist() == pytest.approx([5.0, 10.0])
    assert result.stats["arrival_rate_per_s"].tolist() == pytest.approx([12 / 600, 1 / 100])
    assert result.summary["peak_to_mean_ratio"]["max"] == pytest.approx(10.0)
    assert result.summary["suggested_instance"]["demand"]["peaks_file"] == "demand.stats.csv"
    # a first period covered in part: the trace starts at 300 s, so [300, 600) is covered; 3 arrivals
    # in [300, 360) and 3 spread after: 3 / (6 × 60 / 600) = 5, against the period's mean
    late = [300, 310, 320, 400, 500, 599]
    result = aggregate(write(tmp_path, generic([(stamp(t), 10, 1) for t in late]), "late.csv"), period_minutes=10)
    assert result.stats["covered_s"].tolist() == [299]
    assert result.stats["peak_to_mean_ratio"].iloc[0] == pytest.approx(5.0)


def test_quantiles_within_the_bin_width_and_exact_means(tmp_path):
    """Random lengths against numpy's inverted-CDF quantiles: equal below 200 tokens (a bin each),
    within 0.5 % above; means and SCVs exact. Spread over 3 periods and read in chunks of 777 rows,
    so that periods cross chunks."""
    rng = np.random.default_rng(7)
    n = 6000
    prompts = np.maximum(1, rng.lognormal(7, 1.2, n)).astype(int)
    outputs = rng.integers(0, 150, n)
    times = np.sort(rng.uniform(0, 3 * 3600, n))
    path = write(tmp_path, generic(list(zip(times.round(3), prompts, outputs))))
    result = aggregate(path, chunk_rows=777)
    period = (times // 3600).astype(int)
    for p in range(3):
        row = result.stats.iloc[p]
        for q in (50, 90, 99):
            exact = np.quantile(prompts[period == p], q / 100, method="inverted_cdf")
            assert abs(row[f"prompt_tokens_p{q}"] - exact) <= 0.005 * exact
            assert row[f"output_tokens_p{q}"] == np.quantile(outputs[period == p], q / 100, method="inverted_cdf")
        assert row["prompt_tokens_mean"] == pytest.approx(prompts[period == p].mean(), rel=1e-12)
        x = prompts[period == p]
        assert row["prompt_tokens_scv"] == pytest.approx(x.var() / x.mean() ** 2, rel=1e-9)
    overall = result.summary["prompt_tokens"]
    assert overall["scv"] == pytest.approx(prompts.var() / prompts.mean() ** 2, rel=1e-9)
    assert abs(overall["p99"] - np.quantile(prompts, 0.99, method="inverted_cdf")) <= 0.005 * overall["p99"]


def test_histogram_helpers():
    assert length_bins(np.array([0, 1, 199, 200, 201, 202, 1000])).tolist() == [0, 1, 199, 200, 201, 201, 522]
    groups, bins, counts = np.array([0, 0, 1]), np.array([3, 5, 7]), np.array([1, 1, 4])
    assert histogram_quantiles((groups, bins, counts))[:, 0].tolist() == [3.0, 7.0]  # median of {3, 5}: 3
    assert apportion(np.array([0.5, 0.5, 1.0])).tolist() == [1, 0, 1]
    assert apportion(np.array([20.8, 20.8, 0.4])).tolist() == [21, 21, 0]


def test_the_result_does_not_depend_on_the_chunk_size(tmp_path):
    rng = np.random.default_rng(3)
    n = 2000
    times = np.sort(rng.uniform(0, 7200, n)).round(3)
    rows = list(zip(times, rng.integers(0, 5000, n), rng.integers(1, 300, n)))
    path = write(tmp_path, generic(rows))
    small, whole = aggregate(path, chunk_rows=101, period_minutes=15), aggregate(path, period_minutes=15)
    pd.testing.assert_frame_equal(small.demand, whole.demand)
    pd.testing.assert_frame_equal(small.stats, whole.stats)
    pd.testing.assert_frame_equal(small.prompts, whole.prompts)
    # zero-length prompts are not in the sample, and are counted
    zeros = sum(1 for r in rows if r[1] == 0)
    assert len(whole.prompts) == n - zeros and whole.summary["prompts_sample"]["zero_length_prompts_skipped"] == zeros


def test_scale_to_by_hand(tmp_path):
    """Requests at 0 s (100 in, 10 out), 1,800 s (200, 20) and 3,600 s (300, 30): 60 output tokens over
    a 3,600 s span are 1,440 a day. --scale-to 1000: factor 1000/1440. Output: period 0 holds 30,
    period 1 30: 20.83 each, total 41.67 -> 42: the floors 20 + 20 and one more each. Input 300
    each: 208.33 each, total 416.67 -> 417: the floors 208 + 208 and one more to the first (equal
    remainders, the earlier first): 209, 208."""
    path = write(tmp_path, generic([(stamp(0), 100, 10), (stamp(1800), 200, 20), (stamp(3600), 300, 30)]))
    result = aggregate(path, scale_to=1000)
    assert result.demand["output_tokens"].tolist() == [21, 21]
    assert result.demand["input_tokens"].tolist() == [209, 208]
    assert result.summary["scaling"]["factor"] == pytest.approx(1000 / 1440)
    assert result.stats["arrival_rate_per_s"].iloc[0] == pytest.approx(2 / 3600 * 1000 / 1440)
    assert "× 0.694444" in "\n".join(result.header)


def test_shape_from_by_hand(tmp_path):
    """Shape: two served models over 4 periods, output tokens (a) 1000, 0, 1000, 0 and (b) 0, 1000,
    1000, 0: shares 1/4, 1/4, 1/2, 0. Trace: 600 input (300 cached), 60 output tokens.
    Without --scale-to the total is the shape's 4,000 output tokens: factor 4000/60; output 1000,
    1000, 2000, 0; hits and misses 20,000 each, so input 10,000, 10,000, 20,000, 0.
    With --scale-to 8000 (a day) over 4 one-hour periods (1/6 day): 1,333.33 output tokens,
    333.33, 333.33, 666.67 -> 333, 333, 667."""
    shape = write(tmp_path, "period,served_model,input_tokens,input_cache_hit_tokens,output_tokens\n"
                  "0,a,1,0,1000\n0,b,1,0,0\n1,a,1,0,0\n1,b,1,0,1000\n2,a,1,0,1000\n2,b,1,0,1000\n"
                  "3,a,0,0,0\n3,b,0,0,0\n", "shape.csv")
    trace = write(tmp_path, generic([(stamp(0), 200, 10, 100), (stamp(10), 400, 50, 200)],
                                    GENERIC + ",cached_input_tokens"))
    out = tmp_path / "out" / "demand.csv"
    assert run(["demand", "from-trace", str(trace), "--out", str(out), "--shape-from", str(shape)]).exit_code == 0
    table = pd.read_csv(out, comment="#")
    assert table["output_tokens"].tolist() == [1000, 1000, 2000, 0]
    assert table["input_tokens"].tolist() == [10000, 10000, 20000, 0]
    assert table["input_cache_hit_tokens"].tolist() == [5000, 5000, 10000, 0]
    stats = pd.read_csv(tmp_path / "out" / "demand.stats.csv")
    assert stats["prompt_tokens_mean"].tolist() == [300.0] * 4
    assert stats["arrival_rate_per_s"].tolist() == pytest.approx([2 * 4000 / 60 * s / 3600 for s in (.25, .25, .5, 0)],
                                                         rel=1e-5)  # written with 6 digits
    assert run(["demand", "from-trace", str(trace), "--out", str(out), "--shape-from", str(shape),
                "--scale-to", "8000", "--overwrite"]).exit_code == 0
    assert pd.read_csv(out, comment="#")["output_tokens"].tolist() == [333, 333, 667, 0]
    summary = json.loads((tmp_path / "out" / "demand.trace.json").read_text())
    assert summary["shape"]["days"] == pytest.approx(1 / 6) and summary["scaling"] is None


def test_served_model_selection(tmp_path):
    header = GENERIC + ",served_model"
    path = write(tmp_path, generic([(stamp(0), 10, 1, "a"), (stamp(1), 20, 2, "b"), (stamp(2), 30, 3, "b")], header))
    result = aggregate(path, served_model="b")
    assert result.demand.values.tolist() == [[0, "b", 50, 0, 5]]
    assert result.summary["left_out"]["requests"] == 1
    assert "1 request(s) of other served models left out" in "\n".join(result.header)
    named = aggregate(write(tmp_path, generic([(stamp(0), 10, 1)]), "plain.csv"), served_model="chat")
    assert named.demand["served_model"].tolist() == ["chat"]
    with pytest.raises(InputError, match="no request of the trace is for this served model"):
        aggregate(path, served_model="c")


# -- the command ---------------------------------------------------------------------------------------

def test_the_command_on_the_shared_trace(tmp_path):
    out = tmp_path / "azure.csv"
    result = run(["demand", "from-trace", str(AZURE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "8,819" in result.output and "largest peak-to-mean" in result.output
    tokens = read_demand_csv(out, ["default"], 2)
    raw = pd.read_csv(AZURE)
    assert tokens["input_tokens"].sum() == raw["ContextTokens"].sum()
    assert tokens["output_tokens"].sum() == raw["GeneratedTokens"].sum()
    assert (tokens["input_cache_hit_tokens"] == 0).all()
    lengths = read_prompt_lengths(tmp_path / "azure.prompts.csv", "prompt_tokens")
    assert len(lengths) == 8_819
    summary = json.loads((tmp_path / "azure.trace.json").read_text())
    assert summary["periods"] == 2 and summary["requests"] == 8_819
    assert summary["suggested_instance"]["served_models"]["default"]["workload"]["prompt_tokens_file"] == \
        "azure.prompts.csv"
    stats = pd.read_csv(tmp_path / "azure.stats.csv")
    assert stats["requests"].sum() == 8_819 and stats["cache_hit_share"].isna().all()
    # five-minute periods: 18:15 to 19:15, twelve of them
    result = run(["demand", "from-trace", str(AZURE), "--out", str(tmp_path / "five.csv"), "--period-minutes", "5"])
    assert result.exit_code == 0
    assert read_demand_csv(tmp_path / "five.csv", ["default"], 12)["output_tokens"].sum() == 245_896


def _error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


BAD = [
    ("unsorted", generic([(stamp(10), 1, 1), (stamp(5), 1, 1)]),
     ["data row 2, timestamp", "'2024-01-01T00:00:05+00:00'", "earlier than the row before", "--skip-bad-rows"]),
    ("negative", generic([(stamp(0), 1, 1), (stamp(1), -5, 1)]),
     ["data row 2, input_tokens", "'-5'", "a negative number of tokens"]),
    ("text", generic([(stamp(0), 1, "many")]), ["data row 1, output_tokens", "'many'", "not a number of tokens"]),
    ("fraction", generic([(stamp(0), 1.5, 1)]), ["data row 1, input_tokens", "'1.5'", "not a whole number"]),
    ("cached", generic([(stamp(0), 10, 1, 11)], GENERIC + ",cached_input_tokens"),
     ["data row 1, cached_input_tokens", "'11'", "more than input_tokens (10)"]),
    ("timestamp", generic([(stamp(0), 1, 1), ("yesterday", 1, 1)]),
     ["data row 2, timestamp", "'yesterday'", "not an ISO 8601 date-time"]),
    ("empty", "", ["header", "the file is empty"]),
    ("no rows", GENERIC + "\n", ["(rows)", "no rows"]),
    ("header", "time,prompt,output\n1,2,3\n",
     ["header = 'time,prompt,output'", "TIMESTAMP,ContextTokens,GeneratedTokens (Azure)", "(generic)"]),
    ("a field more", generic([(stamp(0), 1, 1, 7)]), ["data row 1 = '7'", "more fields than the header's 3"]),
    ("fields", generic([(stamp(0), 1, 1), (stamp(1), 1, 1, 7, 8)]), ["line 3", "5 fields where the header has 3"]),
]


@pytest.mark.parametrize("name, text, pieces", BAD, ids=[b[0] for b in BAD])
def test_bad_traces_exit_2_naming_file_field_and_value_and_write_nothing(tmp_path, name, text, pieces):
    trace = write(tmp_path, text)
    out = tmp_path / "out" / "demand.csv"
    line = _error(run(["demand", "from-trace", str(trace), "--out", str(out)]))
    assert str(trace) in line
    for piece in pieces:
        assert piece in line, (piece, line)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_skip_bad_rows_skips_and_counts_them(tmp_path):
    """Rows 2 (unsorted), 3 (text), 4 (negative), 6 (cached > input) are skipped; 1 and 5 kept."""
    rows = [(stamp(10), 10, 1, 0), (stamp(5), 10, 1, 0), (stamp(20), "x", 1, 0), (stamp(30), -1, 1, 0),
            (stamp(40), 20, 2, 5), (stamp(50), 5, 1, 6)]
    trace = write(tmp_path, generic(rows, GENERIC + ",cached_input_tokens"))
    out = tmp_path / "demand.csv"
    result = run(["demand", "from-trace", str(trace), "--out", str(out), "--skip-bad-rows"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads((tmp_path / "demand.trace.json").read_text())
    assert summary["bad_rows"] == {"cached_input_tokens: more than input_tokens": 1, "input_tokens: negative": 1,
                                   "input_tokens: not a number": 1, "unsorted: earlier than the row before": 1}
    assert summary["rows"] == 6 and summary["requests"] == 2
    assert read_demand_csv(out, ["default"], 1)["input_tokens"].tolist() == [[30]]
    assert "bad rows skipped: 1 " in out.read_text()


def test_out_needs_overwrite_and_bad_options_exit_2(tmp_path):
    trace = write(tmp_path, generic([(stamp(0), 10, 1), (stamp(60), 10, 1)]))
    out = tmp_path / "d.csv"
    assert run(["demand", "from-trace", str(trace), "--out", str(out)]).exit_code == 0
    line = _error(run(["demand", "from-trace", str(trace), "--out", str(out)]))
    assert "--out" in line and "--overwrite" in line
    assert run(["demand", "from-trace", str(trace), "--out", str(out), "--overwrite"]).exit_code == 0
    line = _error(run(["demand", "from-trace", str(trace), "--out", str(tmp_path / "e.csv"), "--window-s", "7"]))
    assert "--window-s = 7.0: must divide the period (3600 s) into whole windows" in line
    shape = write(tmp_path, "period,served_model,input_tokens,input_cache_hit_tokens,output_tokens\n0,a,1,2,1\n",
                  "shape.csv")
    line = _error(run(["demand", "from-trace", str(trace), "--out", str(tmp_path / "f.csv"), "--shape-from",
                       str(shape)]))
    assert "shape.csv: data row 1, input_cache_hit_tokens = '2': more than input_tokens (1)" in line
    assert not (tmp_path / "e.csv").exists() and not (tmp_path / "f.csv").exists()


def test_spaces_around_values_and_blank_lines_are_tolerated(tmp_path):
    path = write(tmp_path, "timestamp , input_tokens,output_tokens ,served_model\n"
                           " 2024-01-01T00:00:00Z , 5 , 1 , chat \n\n2024-01-01T00:00:01Z,6,2,chat\n")
    trace = read_trace(path)
    assert trace.input_tokens.tolist() == [5, 6] and trace.served_model.tolist() == ["chat", "chat"]
    assert trace.time_s.tolist() == [0.0, 1.0] and trace.rows_read == 2


def test_skipped_long_rows_are_counted(tmp_path):
    path = write(tmp_path, generic([(stamp(0), 1, 1), (stamp(1), 2, 2, 9), (stamp(2), 3, 3, 9, 9), (stamp(3), 4, 4)]))
    trace = read_trace(path, skip_bad_rows=True)
    assert trace.input_tokens.tolist() == [1, 4]
    assert trace.bad_rows == {"too many fields": 2}
    assert trace.rows_read == 4  # the row the parser drops (5 fields) is read too


def test_azure_peak_to_mean_matches_a_direct_count():
    """The largest minute of each hour over the hour's arrivals per minute (an hour's arrivals over
    its 60 minutes, the mean rate the plan uses), counted with pandas on the raw file."""
    raw = pd.read_csv(AZURE, parse_dates=["TIMESTAMP"])["TIMESTAMP"]
    result = aggregate(AZURE, chunk_rows=1000)
    expected = []
    for p, (hour, times) in enumerate(raw.groupby(raw.dt.floor("h"))):
        expected.append(times.dt.floor("60s").value_counts().max() / (len(times) * 60 / 3600))
        assert result.stats["peak_to_mean_ratio"].iloc[p] == pytest.approx(expected[-1], rel=1e-9)
    assert result.summary["peak_to_mean_ratio"]["max"] == pytest.approx(max(expected), rel=1e-9)


# -- red-team defects ----------------------------------------------------------------------------------

BIG = 2**62 - 1  # 4,611,686,018,427,387,903: the largest token count a row may hold


@pytest.mark.parametrize("value, other", [
    (2**62, 1),                      # read as int64
    (2**63, 1),                      # past int64: read as uint64 (was "a negative number of tokens")
    (10**23, 1),                     # past uint64: read as Python objects
    (2**62, "x"),                    # a text column (another row is not a number)
    ("4.611686018427387904e18", 1),  # a float column
], ids=["int64", "uint64", "object", "text", "float"])
def test_token_counts_of_2_62_or_more_are_refused_on_every_path(tmp_path, value, other):
    """Whatever dtype pandas gives the column, a count of 2^62 or more is "too many tokens", never
    written (2^62 as int64 was accepted; 2^63 as uint64 turned negative)."""
    path = write(tmp_path, generic([(stamp(0), value, 1), (stamp(1), other, 1)]))
    with pytest.raises(InputError, match=r"data row 1, input_tokens = .*too many tokens \(2\^62 or more\)"):
        read_trace(path)
    trace = read_trace(path, skip_bad_rows=True) if other == 1 else None
    if trace is not None:
        assert trace.bad_rows == {"input_tokens: too large": 1} and trace.input_tokens.tolist() == [1]


def test_large_token_counts_are_kept_exactly(tmp_path):
    """2^62 - 1 is accepted and kept to the token: in a text column (row 2 is 'x', skipped) where a
    float would round it to 2^62, and in the table where the join with an empty period would make
    floats of the sums. Periods of 60 min: 2^62 - 1 + 0 in period 0, nothing in period 1, 1 in
    period 2."""
    path = write(tmp_path, generic([(stamp(0), BIG, 1), (stamp(1), "x", 1), (stamp(2), 0, 1), (stamp(7201), 1, 1)]))
    trace = read_trace(path, skip_bad_rows=True)
    assert trace.input_tokens.tolist() == [BIG, 0, 1]
    result = aggregate(path, skip=True)
    assert result.demand["input_tokens"].tolist() == [BIG, 0, 1]
    assert result.summary["totals"]["input_tokens"] == BIG + 1 == result.summary["written_totals"]["input_tokens"]


def test_token_totals_of_2_63_or_more_are_refused(tmp_path):
    """Two rows of 2^62 - 1 add up to 2^63 - 2, which int64 holds: written exactly. Three add up to
    3 × 4,611,686,018,427,387,903 = 13,835,058,055,282,163,709 >= 2^63: refused (was written
    negative), whatever the chunk size."""
    two = write(tmp_path, generic([(stamp(0), BIG, 1), (stamp(1), BIG, 1)]), "two.csv")
    assert aggregate(two).demand["input_tokens"].tolist() == [2 * BIG]
    three = write(tmp_path, generic([(stamp(0), BIG, 1), (stamp(1), BIG, 1), (stamp(2), BIG, 1)]))
    for chunk_rows in (1, 2, 10):
        with pytest.raises(InputError, match="input_tokens = 13835058055282163709: the trace's tokens add up to "
                                             "2\\^63 or more"):
            aggregate(three, chunk_rows=chunk_rows)
    line = _error(run(["demand", "from-trace", str(three), "--out", str(tmp_path / "d.csv")]))
    assert "input_tokens = 13835058055282163709" in line and not (tmp_path / "d.csv").exists()


def test_scale_to_or_shape_that_would_not_fit_is_refused(tmp_path):
    """Trace: 1,000 input and 10 output tokens at 0 s and at 3,600 s: 20 output tokens in an hour,
    480 a day. --scale-to 1e19: factor 1e19 / 480 = 2.083e16, input 2,000 × it = 4.17e19 >= 2^62
    (4.61e18): refused, as 1e300 is (both were written as negative tokens). --scale-to 1e17: input
    2,000 × 1e17 / 480 = 4.17e17, fits. A shape of 1e300 output tokens (factor 1e300 / 20 = 5e298)
    is refused naming the shape file's output_tokens."""
    trace = write(tmp_path, generic([(stamp(0), 1000, 10), (stamp(3600), 1000, 10)]))
    for scale in ("1e19", "1e300"):
        line = _error(run(["demand", "from-trace", str(trace), "--out", str(tmp_path / "d.csv"), "--scale-to", scale]))
        assert line.startswith(f"error: --scale-to = {float(scale)!r}") and "input_tokens (2,000)" in line
        assert "2^62 or more" in line
    assert not list(tmp_path.glob("d.*"))
    assert run(["demand", "from-trace", str(trace), "--out", str(tmp_path / "d.csv"), "--scale-to", "1e17"]).exit_code == 0
    assert read_demand_csv(tmp_path / "d.csv", ["default"], 2)["input_tokens"].sum() == round(2000 * 1e17 / 480)
    shape = write(tmp_path, "period,served_model,input_tokens,input_cache_hit_tokens,output_tokens\n"
                            "0,a,1,0,1e300\n1,a,1,0,1\n", "shape.csv")
    line = _error(run(["demand", "from-trace", str(trace), "--out", str(tmp_path / "e.csv"), "--shape-from",
                       str(shape)]))
    assert f"{shape}: output_tokens = 1e+300:" in line and "2^62 or more" in line
    line = _error(run(["demand", "from-trace", str(trace), "--out", str(tmp_path / "e.csv"), "--shape-from",
                       str(shape), "--scale-to", "1e30"]))
    assert line.startswith("error: --scale-to = 1e+30:")
    assert not list(tmp_path.glob("e.*"))


TRACEBACKS = [
    ("open quote", '"2024-05-01T12:00:00Z,100,10\n', ["line 2", "a quote (\") opens a field that is never closed"]),
    ("year 1", "2024-05-01T12:00:00,1,1\n0001-01-01T00:00:00,1,1\n",
     ["data row 2, timestamp = '0001-01-01T00:00:00'", "outside the years 1677 to 2262"]),
    ("year 3000", "2024-05-01T12:00:00Z,1,1\n3000-01-01T00:00:00Z,1,1\n",
     ["data row 2, timestamp = '3000-01-01T00:00:00Z'", "outside the years 1677 to 2262"]),
    ("year 9999", "9999-12-31T23:59:59,1,1\n", ["data row 1, timestamp = '9999-12-31T23:59:59'", "outside the years"]),
    ("mixed offsets", "2024-05-01T10:00:00,1,1\n2024-05-01T12:00:05+02:00,1,1\n",
     ["data row 2, timestamp = '2024-05-01T12:00:05+02:00'", "has a UTC offset unlike the first (data row 1, "
      "'2024-05-01T10:00:00')", "--skip-bad-rows"]),
    ("mixed offsets, naive later", "2024-05-01T10:00:00Z,1,1\n2024-05-01T12:00:05+02:00,1,1\n2024-05-01T12:00:06,1,1\n",
     ["data row 3, timestamp = '2024-05-01T12:00:06'", "has no UTC offset unlike the first"]),
    ("two fields more first", "2024-05-01T10:00:00Z,1,1,7,8\n2024-05-01T10:00:01Z,2,2\n",
     ["data row 1 = '7'", "more fields than the header's 3"]),
    ("too few fields", "2024-05-01T10:00:00Z,1,1\n2024-05-01T10:00:01Z,2\n",
     ["data row 2: 2 fields where the header has 3", "--skip-bad-rows"]),
]


@pytest.mark.parametrize("name, rows, pieces", TRACEBACKS, ids=[t[0] for t in TRACEBACKS])
def test_former_tracebacks_and_misleading_errors_are_one_line(tmp_path, name, rows, pieces):
    """Each raised a traceback (an open quote: ParserError; years outside 1677-2262:
    OutOfBoundsDatetime) or named the wrong thing (a first row with two fields more shifted every
    column; a short row was 'not a number of tokens'; a naive and an offset time were mixed)."""
    trace = write(tmp_path, GENERIC + "\n" + rows)
    line = _error(run(["demand", "from-trace", str(trace), "--out", str(tmp_path / "d.csv")]))
    assert line.startswith(f"error: {trace}: ")
    for piece in pieces:
        assert piece in line, (piece, line)
    assert "skip_bad_rows" not in line and not list(tmp_path.glob("d*"))


def test_skip_bad_rows_skips_times_out_of_range_and_mixed_offsets(tmp_path):
    """Rows 2 (year 1), 3 (year 3000) and 5 (an offset in a naive trace) are skipped and counted; rows
    1, 4 and 6 kept, and the header's note (no UTC offset) is the kept rows' truth."""
    rows = ["2024-05-01T10:00:00,1,1", "0001-01-01T00:00:00,2,2", "3000-01-01T00:00:00,3,3",
            "2024-05-01T10:00:10,4,4", "2024-05-01T12:00:20+02:00,5,5", "2024-05-01T10:00:30,6,6"]
    trace = read_trace(write(tmp_path, GENERIC + "\n" + "\n".join(rows) + "\n"), skip_bad_rows=True)
    assert trace.input_tokens.tolist() == [1, 4, 6] and trace.rows_read == 6
    assert trace.bad_rows == {"timestamp: out of range": 2, "timestamp: UTC offset unlike the first row's": 1}
    assert trace.start == pd.Timestamp("2024-05-01T10:00:00") and trace.start.tz is None
    # offsets that differ from one another are fine when every row has one: both are 10:00 UTC
    aware = read_trace(write(tmp_path, GENERIC + "\n2024-05-01T10:00:00Z,1,1\n2024-05-01T12:00:00+02:00,2,2\n",
                             "aware.csv"))
    assert aware.time_s.tolist() == [0.0, 0.0] and str(aware.start.tz) == "UTC"


def test_a_first_row_with_two_fields_more_is_the_only_bad_row(tmp_path):
    """pandas took the first column of such a file for an index and shifted every column, so that
    the good rows were refused; now row 1 alone is bad (4 read, 1 skipped, 3 kept as written)."""
    rows = [(stamp(0), 1, 1, 7, 8), (stamp(1), 2, 20), (stamp(2), 3, 30), (stamp(3), 4, 40)]
    trace = read_trace(write(tmp_path, generic(rows)), skip_bad_rows=True)
    assert trace.input_tokens.tolist() == [2, 3, 4] and trace.output_tokens.tolist() == [20, 30, 40]
    assert trace.rows_read == 4 and trace.bad_rows == {"too many fields": 1}


def test_a_row_with_too_many_fields_dropped_by_the_parser_is_counted_read(tmp_path):
    """4 data rows, the third with 5 fields (the parser drops it): 4 read, 1 skipped, 3 kept."""
    rows = [(stamp(0), 1, 1), (stamp(1), 2, 2), (stamp(2), 3, 3, 9, 9), (stamp(3), 4, 4)]
    trace = write(tmp_path, generic(rows))
    result = run(["demand", "from-trace", str(trace), "--out", str(tmp_path / "d.csv"), "--skip-bad-rows"])
    assert result.exit_code == 0
    summary = json.loads((tmp_path / "d.trace.json").read_text())
    assert (summary["rows"], summary["requests"], summary["bad_rows"]) == (4, 3, {"too many fields": 1})
    assert "Rows read: 4; requests kept: 3" in (tmp_path / "d.csv").read_text()


def test_a_byte_that_is_not_utf8_is_placed_in_its_row(tmp_path):
    """A bad byte in data row 2 (line 3) was reported as the header's."""
    path = tmp_path / "trace.csv"
    path.write_bytes((GENERIC + "\n" + stamp(0) + ",1,1\n" + stamp(1) + ",1,").encode() + b"\xff\n")
    with pytest.raises(InputError, match=r"line 3, column 29 = b'\\xff': not UTF-8 text"):
        read_trace(path)


def test_out_where_no_file_can_be_written_is_refused_before_the_trace_is_read(tmp_path):
    """A file in the way of --out's folder (FileExistsError from mkdir) and a folder that takes no
    file (/proc: FileNotFoundError from mkstemp) were tracebacks after the whole trace was read; the
    trace here does not exist, so the --out line shows they are checked first."""
    (tmp_path / "afile").write_text("x")
    missing = tmp_path / "no-such-trace.csv"
    line = _error(run(["demand", "from-trace", str(missing), "--out", str(tmp_path / "afile" / "d.csv")]))
    assert line == f"error: --out = '{tmp_path / 'afile' / 'd.csv'}': {tmp_path / 'afile'} is a file, not a folder"
    line = _error(run(["demand", "from-trace", str(missing), "--out", str(tmp_path / "afile" / "x" / "d.csv")]))
    assert "is a file, not a folder" in line
    if Path("/proc/self").exists():
        line = _error(run(["demand", "from-trace", str(missing), "--out", "/proc/d.csv"]))
        assert line.startswith("error: --out = '/proc/d.csv': cannot write in the folder /proc")


def _four(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_four_files_are_replaced_as_a_set_or_not_at_all(tmp_path, monkeypatch):
    """A write failing midway (here the stats file, the second written: 'File too large') used to
    leave the new prompts file beside the old others, with an OSError traceback. Now the old set
    stays whole, no temporary file is left, and one line names the file."""
    out = tmp_path / "run" / "d.csv"
    first = write(tmp_path, generic([(stamp(0), 10, 1), (stamp(60), 10, 1)]))
    assert run(["demand", "from-trace", str(first), "--out", str(out)]).exit_code == 0
    before = _four(out.parent)
    assert sorted(before) == ["d.csv", "d.prompts.csv", "d.stats.csv", "d.trace.json"]
    second = write(tmp_path, generic([(stamp(0), 99, 9), (stamp(60), 99, 9)]), "second.csv")
    to_csv = pd.DataFrame.to_csv

    def failing(self, path=None, *args, **kwargs):
        if path is not None and ".d.stats.csv." in str(path):
            raise OSError(27, "File too large")
        return to_csv(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing)
    line = _error(run(["demand", "from-trace", str(second), "--out", str(out), "--overwrite"]))
    assert line == f"error: {out.parent / 'd.stats.csv'}: cannot be written (File too large); no file of the set " \
                   "was replaced"
    assert _four(out.parent) == before
    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    assert run(["demand", "from-trace", str(second), "--out", str(out), "--overwrite"]).exit_code == 0
    after = _four(out.parent)
    assert sorted(after) == sorted(before) and all(after[k] != before[k] for k in ("d.csv", "d.trace.json"))


def test_a_file_size_limit_leaves_the_previous_set_whole(tmp_path):
    """The red team's case, in a child process with a 20 KiB file size limit (ulimit -f 20): the
    Azure sample's prompts file (about 90 KB) cannot be written; the previous (small) set stays."""
    resource = pytest.importorskip("resource")
    import subprocess
    import sys

    out = tmp_path / "d.csv"
    small = write(tmp_path, generic([(stamp(0), 10, 1), (stamp(60), 10, 1)]))
    assert run(["demand", "from-trace", str(small), "--out", str(out)]).exit_code == 0
    before = _four(tmp_path)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20 * 1024, 20 * 1024))

    done = subprocess.run([sys.executable, "-m", "planner.cli", "demand", "from-trace", str(AZURE), "--out", str(out),
                           "--overwrite"], capture_output=True, text=True, preexec_fn=limit,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"error: {tmp_path / 'd.prompts.csv'}: cannot be written (File too "
                                                "large); no file of the set was replaced"]
    assert _four(tmp_path) == before
