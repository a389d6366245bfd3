"""Request traces: a log of requests (arrival time, prompt tokens, generated tokens), read in
chunks so that memory stays bounded whatever the file's size.

Two formats, told apart by the header (column names exact, surrounding spaces ignored):

- **Azure** LLM inference trace: `TIMESTAMP,ContextTokens,GeneratedTokens`, e.g.
  `2023-11-16 18:17:03.9799600,4808,10`. The Azure Public Dataset's "Azure LLM inference trace
  2023" (CC-BY 4.0; Patel et al., "Splitwise: Efficient generative LLM inference using phase
  splitting", ISCA 2024) is in this format; a one-hour sample of its coding trace (8,818 requests)
  is traces/AzureLLMInferenceTrace_code.csv, attribution and licence in traces/README.md.
- **Generic**: `timestamp,input_tokens,output_tokens` in any order, plus optionally
  `cached_input_tokens` (the part of the prompt found in the KV cache) and `served_model`.

Timestamps are ISO 8601 date-times (`2024-05-01T12:00:00.25+02:00`; a missing offset is read as
UTC, and then no row may have one: offsets and no offsets are not mixed) or, when the first data
row's timestamp is a number, seconds (since 1970-01-01 UTC; a trace counted from 0 starts then).
Either way between 1677 and 2262 (nanoseconds since 1970 in 64 bits). Rows must be sorted by time.
Token counts are whole numbers from 0 to 2^62 - 1.

Every problem names the file, `data row N, <column>` (counted from 1 after the header; blank lines
are not counted), the value, and what is wrong. By default the first bad row raises InputError;
with `skip_bad_rows=True` bad rows (unsorted ones included) are skipped and counted by reason in
`TraceRequests.bad_rows`, never dropped silently.
"""

from __future__ import annotations

import csv
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from ..errors import NO_VALUE, Argument, InputError
from .files import opening

AZURE_COLUMNS = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
GENERIC_COLUMNS = ("timestamp", "input_tokens", "output_tokens")
GENERIC_OPTIONAL = ("cached_input_tokens", "served_model")
DEFAULT_CHUNK_ROWS = 1_000_000

#: Seconds beyond which a numeric timestamp does not fit in nanoseconds since 1970 (year 2262).
_MAX_SECONDS = 9.2e9
_MAX_NS = 9_200_000_000_000_000_000
#: Token counts must be below this (so that sums of a few stay exact in 64 bits).
MAX_TOKENS = 2**62
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
#: A UTC offset (or Z) ending an ISO 8601 date-time.
_OFFSET = re.compile(r"(?:[zZ]|[+-]\d\d:?\d\d)$")
_EXTRA = "\x00extra"
_EXPECTED = (f"expected {','.join(AZURE_COLUMNS)} (Azure) or {','.join(GENERIC_COLUMNS)}"
             f"[,{'][,'.join(GENERIC_OPTIONAL)}] (generic), in any order")


@dataclass(frozen=True, eq=False)
class TraceRequests:
    """Requests of a trace (or of one chunk of it), in arrival order.

    `time_s` counts seconds from the FIRST (kept) timestamp of the file, whatever the chunk.
    `cached_input_tokens` is zeros when the trace has no such column (`has_cached_column`).
    `served_model` is an object array of names, or None when the trace has no such column.
    `start` is the first timestamp (UTC when the trace gave offsets, naive otherwise; seconds are
    counted from 1970-01-01), None while no row has been kept. `bad_rows` counts the skipped rows
    by reason; `rows_read` counts every data row read, bad ones included.
    """

    time_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    cached_input_tokens: np.ndarray
    served_model: np.ndarray | None
    start: pd.Timestamp | None
    source: str
    format: str
    bad_rows: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0
    has_cached_column: bool = False
    time_kind: str = "iso"

    def subset(self, keep: np.ndarray) -> "TraceRequests":
        """The requests where `keep` holds (no bad rows or rows read: those were counted)."""
        return TraceRequests(
            time_s=self.time_s[keep], input_tokens=self.input_tokens[keep], output_tokens=self.output_tokens[keep],
            cached_input_tokens=self.cached_input_tokens[keep],
            served_model=None if self.served_model is None else self.served_model[keep], start=self.start,
            source=self.source, format=self.format, bad_rows={}, rows_read=0,
            has_cached_column=self.has_cached_column, time_kind=self.time_kind)

    def __len__(self) -> int:
        return len(self.time_s)


@dataclass(frozen=True)
class _Layout:
    format: str
    timestamp: str
    input: str
    output: str
    cached: str | None
    served_model: str | None
    columns: tuple[str, ...]


def trace_layout(path: Path) -> _Layout:
    """The format and column names of the trace at `path`, from its header line."""
    with opening(path):
        with open(path, "rb") as handle:  # the first line only: a bad byte further on is a data row's
            raw = handle.readline()
    try:
        line = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, "header", raw[exc.start:exc.start + 1], "not UTF-8 text") from None
    if not line.strip():
        raise InputError(path, "header", NO_VALUE, f"the file is empty; {_EXPECTED}")
    columns = tuple(c.strip() for c in next(csv.reader([line.rstrip("\r\n")])))
    header = ",".join(columns)
    if sorted(columns) == sorted(AZURE_COLUMNS):
        return _Layout("azure", *AZURE_COLUMNS, None, None, columns)
    known = set(GENERIC_COLUMNS) | set(GENERIC_OPTIONAL)
    if set(GENERIC_COLUMNS) <= set(columns) <= known and len(set(columns)) == len(columns):
        return _Layout("generic", *GENERIC_COLUMNS, "cached_input_tokens" if "cached_input_tokens" in columns else None,
                       "served_model" if "served_model" in columns else None, columns)
    raise InputError(path, "header", header, _EXPECTED)


def iter_trace_chunks(path: Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                      skip_bad_rows: bool = False) -> Iterator[TraceRequests]:
    """Yield the trace at `path` in validated chunks of up to `chunk_rows` data rows.

    Each chunk's `time_s` counts from the file's first kept timestamp; its `bad_rows` and
    `rows_read` are the chunk's own. Raises InputError on the first bad row (unless
    `skip_bad_rows`), and at the end when the file has no (good) rows.
    """
    if chunk_rows < 1:
        raise InputError(Argument("chunk_rows"), "", chunk_rows, "must be at least 1")
    path = Path(path)
    layout = trace_layout(path)
    state = _State()
    # One more column than the header: a row with one field too many fills it (and is refused with
    # its row number); more than one too many is the parser's error (a line number).
    # index_col=False: a first row with two fields too many does not make pandas take the first
    # column for an index (shifting every column); that row alone is bad.
    dtypes = {layout.timestamp: str, _EXTRA: str} | ({layout.served_model: str} if layout.served_model else {})
    try:
        reader = pd.read_csv(path, chunksize=chunk_rows, header=None, skiprows=1, names=[*layout.columns, _EXTRA],
                             dtype=dtypes, na_filter=False, skipinitialspace=True, encoding="utf-8-sig",
                             index_col=False, on_bad_lines="warn" if skip_bad_rows else "error")
    except pd.errors.ParserError as exc:
        raise _parser_error(path, exc, state) from None
    except UnicodeDecodeError:
        raise _not_utf8(path, state) from None
    total_bad: dict[str, int] = {}
    with reader:
        while True:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                try:
                    frame = next(reader)
                except StopIteration:
                    break
                except pd.errors.ParserError as exc:
                    raise _parser_error(path, exc, state) from None
                except UnicodeDecodeError:
                    raise _not_utf8(path, state) from None
            # rows the parser dropped (more than one field too many): read, bad and counted
            long_rows = sum(1 for w in caught if "Skipping line" in str(w.message))
            chunk = _validate(path, layout, frame, state, skip_bad_rows, long_rows)
            for reason, count in chunk.bad_rows.items():
                total_bad[reason] = total_bad.get(reason, 0) + count
            yield chunk
    if state.rows == 0 and not total_bad:
        raise InputError(path, "(rows)", NO_VALUE, "the trace has a header but no rows")
    if state.first_ns is None:
        raise InputError(path, "(rows)", NO_VALUE,
                         f"no good rows: {state.rows} read, every one skipped ({bad_rows_text(total_bad)})")


def read_trace(path: Path, *, start_s: float | None = None, end_s: float | None = None,
               skip_bad_rows: bool = False, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> TraceRequests:
    """The requests with start_s <= time_s < end_s (seconds from the trace's first timestamp; None:
    no bound), read chunk by chunk so that only the selected window is held in memory. Rows after
    the first one at or beyond `end_s` are not read (nor checked, nor counted in `bad_rows`)."""
    parts: list[TraceRequests] = []
    bad: dict[str, int] = {}
    rows = 0
    last = None
    for chunk in iter_trace_chunks(path, chunk_rows=chunk_rows, skip_bad_rows=skip_bad_rows):
        last = chunk
        rows += chunk.rows_read
        for reason, count in chunk.bad_rows.items():
            bad[reason] = bad.get(reason, 0) + count
        keep = np.ones(len(chunk), dtype=bool)
        if start_s is not None:
            keep &= chunk.time_s >= start_s
        if end_s is not None:
            keep &= chunk.time_s < end_s
        if keep.any():
            parts.append(chunk.subset(keep))
        if end_s is not None and len(chunk) and chunk.time_s[-1] >= end_s:
            break
    assert last is not None  # iter_trace_chunks raises on a file without rows
    empty = last.subset(np.zeros(len(last), dtype=bool))
    parts = parts or [empty]
    models = None if last.served_model is None else np.concatenate([p.served_model for p in parts])
    start = next((p.start for p in parts if p.start is not None), last.start)
    return TraceRequests(
        time_s=np.concatenate([p.time_s for p in parts]),
        input_tokens=np.concatenate([p.input_tokens for p in parts]),
        output_tokens=np.concatenate([p.output_tokens for p in parts]),
        cached_input_tokens=np.concatenate([p.cached_input_tokens for p in parts]),
        served_model=models, start=start, source=last.source, format=last.format, bad_rows=bad,
        rows_read=rows, has_cached_column=last.has_cached_column, time_kind=last.time_kind)


def bad_rows_text(bad_rows: dict[str, int]) -> str:
    """'3 unsorted, 1 input_tokens: negative' style: the counts by reason, largest first."""
    if not bad_rows:
        return "none"
    return ", ".join(f"{count:,} {reason}" for reason, count in sorted(bad_rows.items(), key=lambda kv: -kv[1]))


# ---------------------------------------------------------------------------------------------
# One chunk
# ---------------------------------------------------------------------------------------------
class _State:
    """What one chunk hands to the next: rows read, the time mode, the first and last kept times."""

    def __init__(self) -> None:
        self.rows = 0
        self.time_kind: str | None = None
        self.tz_aware = False
        self.offset_row: int | None = None  # the row whose timestamp decided tz_aware
        self.offset_text = ""
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.last_text = ""
        self.last_row = 0


def _parser_error(path: Path, exc: Exception, state: _State) -> InputError:
    message = str(exc).splitlines()[0]
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        expected, line, saw = found.groups()
        return InputError(path, f"line {line}", NO_VALUE,
                          f"{saw} fields where the header has {int(expected) - 1} (or pass `skip_bad_rows`)")
    found = re.search(r"EOF inside string starting at row (\d+)", message)
    if found:  # pandas counts the file's lines from 0
        return InputError(path, f"line {int(found.group(1)) + 1}", NO_VALUE,
                          "a quote (\") opens a field that is never closed before the end of the file")
    return InputError(path, f"after data row {state.rows}", NO_VALUE, f"not a readable CSV table: {message}")


def _not_utf8(path: Path, state: _State) -> InputError:
    """Where the first byte that is not UTF-8 is (line by line: a character never spans a newline)."""
    try:
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return InputError(path, f"line {number}, column {exc.start + 1}", line[exc.start:exc.start + 1],
                                      "not UTF-8 text")
    except OSError:
        pass
    return InputError(path, f"after data row {state.rows}", NO_VALUE, "not UTF-8 text")


def _texts(column: pd.Series) -> np.ndarray:
    """The column's text, stripped (through its distinct values: a served-model column has few)."""
    codes, uniques = pd.factorize(column.astype(str))
    return np.array([u.strip() for u in uniques] + [""], dtype=object)[codes]


def _tokens(column: pd.Series, name: str) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Whole token counts (0 to MAX_TOKENS - 1) as int64 (0 where bad) and the (reason, mask) of
    the bad ones. Integer columns are checked as read (int64 or, past 2^63, uint64); other columns
    through their text, large whole numbers parsed exactly."""
    if pd.api.types.is_integer_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        if pd.api.types.is_unsigned_integer_dtype(column.dtype):
            raw = column.to_numpy(dtype=np.uint64)
            negative = np.zeros(len(raw), dtype=bool)
            too_large = raw >= np.uint64(MAX_TOKENS)
        else:
            raw = column.to_numpy(dtype=np.int64)
            negative = raw < 0
            too_large = raw >= MAX_TOKENS
        values = np.where(negative | too_large, 0, raw).astype(np.int64)
        return values, [(f"{name}: negative", negative), (f"{name}: too large", too_large)]
    texts = None
    if pd.api.types.is_float_dtype(column.dtype):
        numbers = column.to_numpy(dtype=float)
    else:
        texts = column.astype(str).str.strip()
        numbers = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=float)
    text = ~np.isfinite(numbers)
    negative = ~text & (numbers < 0)
    fraction = ~text & ~negative & (numbers != np.floor(numbers))
    too_large = ~text & ~negative & ~fraction & (numbers >= float(MAX_TOKENS))
    good = ~(text | negative | fraction | too_large)
    values = np.where(good, numbers, 0).astype(np.int64)
    if texts is not None:  # beyond 2^53 a float is not exact: the text's own whole number
        for i in np.flatnonzero((good | too_large) & (numbers >= 2.0**53)):
            try:
                exact = int(texts.iloc[i])
            except ValueError:  # 1e17 and the like: the float is the number written
                continue
            too_large[i] = exact >= MAX_TOKENS
            good[i] = not too_large[i]
            values[i] = exact if good[i] else 0
    return values, [(f"{name}: not a number", text), (f"{name}: negative", negative),
                    (f"{name}: not a whole number", fraction), (f"{name}: too large", too_large)]


_PROBLEM = {"not a number": "not a number of tokens", "negative": "a negative number of tokens",
            "not a whole number": "not a whole number of tokens", "too large": "too many tokens (2^62 or more)"}


def _timestamps(texts: np.ndarray, state: _State, row0: int) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Nanoseconds since 1970 (int64, 0 where bad) and the (reason, mask) of the bad timestamps:
    not parsed, out of range (1677 to 2262), a UTC offset where the first one has none or the
    reverse."""
    n = len(texts)
    if state.time_kind is None and n:
        try:
            float(str(texts[0]).strip())
            state.time_kind = "seconds"
        except ValueError:
            state.time_kind = "iso"
    no = np.zeros(n, dtype=bool)
    if state.time_kind == "seconds":
        seconds = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(seconds)
        far = ~bad & (np.abs(seconds) > _MAX_SECONDS)
        ns = np.rint(np.where(bad | far, 0, seconds) * 1e9).astype(np.int64)
        return ns, [("timestamp: does not parse", bad), ("timestamp: out of range", far),
                    ("timestamp: UTC offset unlike the first row's", no)]
    ns, bad, far, offset = _iso(texts)
    if bad.any():  # a second try without surrounding spaces (rare: only for the rows that failed)
        retry = np.flatnonzero(bad)
        ns[retry], bad[retry], far[retry], offset[retry] = _iso(np.array([str(texts[i]).strip() for i in retry],
                                                                       dtype=object))
    good = ~bad & ~far
    if state.offset_row is None and good.any():
        first = int(np.flatnonzero(good)[0])
        state.tz_aware = bool(offset[first])
        state.offset_row, state.offset_text = row0 + first + 1, str(texts[first]).strip()
    mixed = good & (offset != state.tz_aware)
    return ns, [("timestamp: does not parse", bad), ("timestamp: out of range", far),
                ("timestamp: UTC offset unlike the first row's", mixed)]


def _iso(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ISO 8601 date-times as nanoseconds since 1970 (int64, 0 where bad) and three masks: does not
    parse, outside 1677-2262, has a UTC offset."""
    series = pd.Series(texts, dtype=object)
    try:  # one parse tells when every row has an offset or none has (the usual case)
        parsed = pd.to_datetime(series, format="ISO8601", errors="coerce")
        aware = parsed.dt.tz is not None
        offset = np.full(len(texts), aware)
        if aware:
            parsed = parsed.dt.tz_convert("UTC")
    except (ValueError, TypeError):  # mixed: "Mixed timezones detected"
        parsed = pd.to_datetime(series, format="ISO8601", errors="coerce", utc=True)
        offset = np.array([bool(_OFFSET.search(str(t).strip())) for t in texts], dtype=bool)
    bad = parsed.isna().to_numpy().copy()
    unit = parsed.dt.unit
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_localize(None)
    values = parsed.to_numpy(dtype=f"datetime64[{unit}]").view(np.int64)
    values = np.where(bad, 0, values)
    per = _NS_PER_UNIT[unit]
    far = ~bad & (np.abs(values) > _MAX_NS // per)
    ns = np.where(far, 0, values) * per
    return ns.astype(np.int64), bad, far, offset


def _validate(path: Path, layout: _Layout, frame: pd.DataFrame, state: _State, skip: bool,
              dropped: int = 0) -> TraceRequests:
    """Check a chunk's rows; `dropped` rows (too long) the parser skipped are counted read and bad."""
    n = len(frame)
    row0 = state.rows
    stamp_text = frame[layout.timestamp].to_numpy(dtype=object)
    ns, problems = _timestamps(stamp_text, state, row0)
    checks: list[tuple[str, str, np.ndarray]] = [(layout.timestamp, reason, mask) for reason, mask in problems]
    inputs, problems = _tokens(frame[layout.input], layout.input)
    checks += [(layout.input, reason, mask) for reason, mask in problems]
    outputs, problems = _tokens(frame[layout.output], layout.output)
    checks += [(layout.output, reason, mask) for reason, mask in problems]
    if layout.cached is not None:
        cached, problems = _tokens(frame[layout.cached], layout.cached)
        checks += [(layout.cached, reason, mask) for reason, mask in problems]
        checks.append((layout.cached, f"{layout.cached}: more than {layout.input}", cached > inputs))
    else:
        cached = np.zeros(n, dtype=np.int64)
    models = None
    if layout.served_model is not None:
        models = _texts(frame[layout.served_model])
        checks.append((layout.served_model, "served_model: empty", models == ""))
    extra = frame[_EXTRA].to_numpy(dtype=object) != ""
    checks.append((_EXTRA, "too many fields", extra))
    other_bad = np.zeros(n, dtype=bool)
    for _, _, mask in checks:
        other_bad |= mask
    # Unsorted: earlier than the latest time kept before it (the row before, when none is skipped).
    kept_ns = np.where(other_bad, np.iinfo(np.int64).min, ns)
    before = np.maximum.accumulate(np.concatenate([[state.last_ns if state.last_ns is not None
                                                    else np.iinfo(np.int64).min], kept_ns]))[:-1]
    unsorted = ~other_bad & (ns < before)
    checks.append((layout.timestamp, "unsorted: earlier than the row before", unsorted))
    bad = other_bad | unsorted
    if bad.any() and not skip:
        i = int(np.flatnonzero(bad)[0])
        column, reason = next((c, r) for c, r, mask in checks if mask[i])
        raise _row_error(path, layout, frame, i, row0, column, reason, stamp_text, inputs, state)
    counts: dict[str, int] = {"too many fields": dropped} if dropped else {}
    if bad.any():  # skipping: a row bad in two ways is counted once, under its first reason
        first_reason = np.full(n, -1)
        for k, (_, _, mask) in enumerate(checks):
            first_reason[(first_reason < 0) & mask] = k
        for k in np.unique(first_reason[first_reason >= 0]):
            reason = checks[int(k)][1]
            counts[reason] = counts.get(reason, 0) + int((first_reason == k).sum())
    good = ~bad
    state.rows += n + dropped
    if good.any():
        last = int(np.flatnonzero(good)[-1])
        if state.first_ns is None:
            state.first_ns = int(ns[good][0])
        state.last_ns, state.last_text, state.last_row = int(ns[last]), str(stamp_text[last]).strip(), row0 + last + 1
    return TraceRequests(
        time_s=(ns[good] - (state.first_ns or 0)) / 1e9,
        input_tokens=inputs[good], output_tokens=outputs[good], cached_input_tokens=cached[good],
        served_model=None if models is None else models[good], start=_start(state), source=str(path),
        format=layout.format, bad_rows=counts, rows_read=n + dropped, has_cached_column=layout.cached is not None,
        time_kind=state.time_kind or "iso")


def _start(state: _State) -> pd.Timestamp | None:
    if state.first_ns is None:
        return None
    start = pd.Timestamp(state.first_ns, unit="ns", tz="UTC")
    return start if state.tz_aware else start.tz_localize(None)


def _row_error(path: Path, layout: _Layout, frame: pd.DataFrame, i: int, row0: int, column: str, reason: str,
               stamp_text: np.ndarray, inputs: np.ndarray, state: _State) -> InputError:
    row = row0 + i + 1
    where = f"data row {row}, {column}"
    value = str(frame[column].iloc[i]).strip()
    if column == _EXTRA:
        return InputError(path, f"data row {row}", value,
                          f"more fields than the header's {len(layout.columns)} (or pass `skip_bad_rows`)")
    if value == "":
        fields = _fields_of_row(path, row)
        if fields is not None and fields < len(layout.columns):
            return InputError(path, f"data row {row}", NO_VALUE,
                              f"{fields} field{'s' if fields != 1 else ''} where the header has {len(layout.columns)}"
                              " (or pass `skip_bad_rows`)")
    if reason == "timestamp: out of range":
        problem = ("more than 9.2e9 seconds from 1970 (outside 1678 to 2261)" if state.time_kind == "seconds"
                   else "outside the years 1677 to 2262 (the range of nanosecond times)")
    elif reason.startswith("timestamp: UTC offset"):
        problem = (f"{'has a UTC offset' if not state.tz_aware else 'has no UTC offset'} unlike the first "
                   f"(data row {state.offset_row}, {state.offset_text!r}); a trace's timestamps all have one or none "
                   "(or pass `skip_bad_rows` to skip such rows)")
    elif reason == "timestamp: does not parse":
        problem = ("not a number of seconds (the first row's timestamp is a number)" if state.time_kind == "seconds"
                   else "not an ISO 8601 date-time (e.g. 2023-11-16 18:17:03.98 or 2024-05-01T12:00:00+02:00)")
    elif reason.startswith("unsorted"):
        if i > 0:
            before_row, before_text = row0 + i, str(stamp_text[i - 1]).strip()
        else:
            before_row, before_text = state.last_row, state.last_text
        problem = (f"earlier than the row before (data row {before_row}, {before_text!r}); the trace must be "
                   "sorted by time (or pass `skip_bad_rows` to skip such rows)")
    elif reason.endswith(f"more than {layout.input}"):
        problem = f"more than {layout.input} ({inputs[i]})"
    elif reason == "served_model: empty":
        problem = "an empty served model name"
    else:
        problem = _PROBLEM[reason.split(": ", 1)[1]]
    return InputError(path, where, value, problem)


def _fields_of_row(path: Path, row: int) -> int | None:
    """How many fields data row `row` has (blank lines not counted), read again with the csv
    module: only for an error's message, when a field is empty (a row may be short)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            count = 0
            for fields in reader:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                count += 1
                if count == row:
                    return len(fields)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None
