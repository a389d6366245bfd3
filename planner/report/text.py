"""Text: the printed tables of every command, from typed results and summary records."""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
from tabulate import tabulate

from ..model.diagnosis import Diagnosis
from ..physics.data import PlanningData
from ..results.result import PlanResult


def text_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    return tabulate(rows, headers=header, tablefmt="simple", colalign=("left",) + ("right",) * (len(header) - 1),
                    disable_numparse=True)


def markdown_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    return tabulate(rows, headers=header, tablefmt="github", disable_numparse=True)


def usd(x: float | None) -> str:
    return "-" if x is None else f"${x:,.0f}"


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:,.1f} %"


def nodes(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------------------------------------
# A plan (from its typed result)
# ---------------------------------------------------------------------------------------------
def comparison_rows(result: PlanResult) -> list[tuple[str, str, str]]:
    """(figure, plan, published) rows; the published column is empty without a reference."""
    t = result.totals
    p = result.comparison.figures if result.comparison is not None else None
    rows = [
        ("mean nodes in service", nodes(t.nodes.mean), nodes(p and p.nodes_mean)),
        ("peak nodes", nodes(t.nodes.peak), nodes(p and p.nodes_peak)),
        ("cost per day", usd(t.cost_usd.total), usd(p and p.cost_usd)),
        ("revenue per day", usd(t.revenue_usd.total), usd(p and p.revenue_usd)),
        ("cost-profit margin", pct(t.margin.cost_profit), pct(p and p.cost_profit_margin)),
        ("gross margin", pct(t.margin.gross), pct(p and p.gross_margin)),
    ]
    if t.training is not None:
        rows += [
            ("training node-hours", nodes(t.training.node_hours), nodes(p and p.training_node_hours)),
            ("share of fleet hours training", pct(t.training.share_of_fleet_hours),
             pct(p and p.training_share_of_fleet_hours)),
            ("value of training", usd(t.training.value_usd), "-"),
        ]
    return rows


def headline(result: PlanResult) -> str:
    r = result.result
    gap_text = f", gap {100 * r.mip_gap:.3g} %" if r.mip_gap is not None else ""
    return (f"{result.data.name}: {r.status}{gap_text}; "
            f"built in {r.build_s:.2f} s, solved in {r.solve_s:.2f} s")


def unserved_line(result: PlanResult) -> str:
    u = result.totals.unserved_tokens
    line = (f"unserved: {u.input:,.0f} input tokens ({pct(u.input_share)}), "
            f"{u.output:,.0f} output tokens ({pct(u.output_share)})")
    short = result.ttft_shortfall
    if short is not None and short.periods:
        line += f"; TTFT target missed in {short.periods} period(s): {short.by_served_model}"
    return line


def table_columns(result: PlanResult, first: str) -> tuple[list[tuple[str, ...]], tuple[str, ...]]:
    """The comparison rows and header; without a reference, the published column is left out."""
    rows = comparison_rows(result)
    if result.comparison is not None:
        return rows, (first, "plan", "published")
    return [row[:2] for row in rows], (first, "plan")


def fleet_line(result: PlanResult) -> str:
    fleet = result.totals.fleet
    owned = ", ".join(f"{g} {n:g}" for g, n in fleet.owned.items() if n) or "none"
    rented = ", ".join(f"{g} {n:g}" for g, n in fleet.rented_peak.items() if n) or "none"
    reserved = ", ".join(f"{g} {n:g}" for g, n in fleet.reserved_peak.items() if n)
    return f"fleet: owned {owned}; " + (f"reserved at peak {reserved}; " if reserved else "") + f"rented at peak {rented}"


def printed_summary(result: PlanResult) -> str:
    """What `planner solve` prints of a plan."""
    rows, header = table_columns(result, "")
    return "\n".join([headline(result), text_table(rows, header), unserved_line(result), fleet_line(result)])


def validated(label: str, data: PlanningData) -> str:
    """What `planner validate` prints of a valid instance."""
    tokens = {c: float(v.sum()) / data.scenarios for c, v in data.demand_tokens.items()}
    scenarios = f" x {data.scenarios} scenarios (tokens: their mean)" if data.scenarios > 1 else ""
    return (f"{label}: valid. {data.horizon_periods} periods of {data.period_hours:g} h from "
            f"{data.period_starts[0].isoformat()}{scenarios}; "
            f"served models {', '.join(data.served_models)}; node types {', '.join(data.node_type_names)}; "
            f"{tokens['input_tokens']:,.0f} input tokens ({tokens['input_cache_hit_tokens']:,.0f} cache hits), "
            f"{tokens['output_tokens']:,.0f} output tokens.")


def diagnosis_message(diagnosis: Diagnosis) -> str:
    """One paragraph for the terminal: what cannot hold, where, and what binds."""
    if diagnosis.status != "diagnosed":
        return diagnosis.reason or "no diagnosis"
    parts = []
    rows = diagnosis.shortfalls
    if rows:
        periods = sorted({r.start for r in rows})
        worst = max(rows, key=lambda r: r.tokens_short)
        limits = sorted({limit for r in rows for limit in r.limits_binding})
        parts.append(f"demand cannot be served in {len(periods)} period(s) from {periods[0]} to {periods[-1]}; "
                     f"worst {worst.start}: {worst.tokens_short:,.0f} {worst.role} tokens of "
                     f"{worst.served_model} short (about {worst.nodes_short:g} nodes)"
                     + (f"; binding: {', '.join(limits)}" if limits else ""))
    if diagnosis.ttft_missed:
        parts.append(f"the TTFT target cannot hold in {len(diagnosis.ttft_missed)} period(s)")
    if diagnosis.required_jobs_not_placed:
        parts.append(f"required jobs that cannot be placed: {', '.join(diagnosis.required_jobs_not_placed)}")
    return "; ".join(parts) or "the limits conflict, but the minimum-violation plan violates none (numerical)"


# ---------------------------------------------------------------------------------------------
# Studies
# ---------------------------------------------------------------------------------------------
def reproduce_text(reproduction) -> str:
    """`planner reproduce`: the published arithmetic, the calibration, the day side by side (every
    published figure read from the reference file)."""
    f = reproduction.reference.figures
    a = reproduction.arithmetic
    fleet, economics, tokens, rates = f["fleet"], f["economics"], f["tokens"], f["throughput_per_node"]
    gpus, rate = f["hardware"]["gpus_per_node"], f["hardware"]["rental_usd_per_gpu_hour"]
    parts = ["Published arithmetic, recomputed from the disclosure's tokens, throughputs and prices", text_table([
        (f"cost: {fleet['average_nodes']:g} nodes x {gpus} GPUs x ${rate:g} x 24 h", f"${a['daily_cost_usd']:,.0f}",
         usd(economics["daily_cost_usd"])),
        ("revenue: tokens at R1 list prices", f"${a['theoretical_revenue_usd']:,.0f}",
         f"{usd(economics['theoretical_daily_revenue_usd'])} ({100 * a['revenue_error_vs_published']:+.3f} %)"),
        ("cost-profit margin (recomputed revenue)", f"{100 * a['cost_profit_margin']:.1f} %",
         f"{100 * economics['cost_profit_margin']:g} %"),
        ("cost-profit margin (published revenue)", f"{100 * a['cost_profit_margin_published_revenue']:.1f} %",
         f"{100 * economics['cost_profit_margin']:g} %"),
        (f"node-hours: {tokens['input_total'] / 1e9:g} B / {rates['prefill_input_tokens_per_s'] / 1e3:g} k + "
         f"{tokens['output_total'] / 1e9:g} B / {rates['decode_output_tokens_per_s'] / 1e3:g} k",
         f"{a['node_hours_from_throughput']:,.0f}",
         f"{a['node_hours_from_average']:,.0f} ({fleet['average_nodes']:g} x 24)"),
    ], ("figure", "recomputed", "published"))]
    parts += ["", "Capacity at full use over the published day average (heaviest hourly load per node)", text_table([
        (role, f"{v['recomputed']:.5f}", f"{v['instance']:.4f}") for role, v in reproduction.capacity_factors.items()
    ], ("role", "recomputed", "instance"))]
    comparison = reproduction.plan.comparison
    scored = comparison.evaluation.totals if comparison.evaluation is not None else None
    plan = reproduction.plan.totals
    p = comparison.figures

    def both(read, pattern: str) -> tuple[str, str]:
        return tuple("-" if t is None else pattern.format(read(t)) for t in (scored, plan))

    rows = [
        ("mean nodes in service", f"{p.nodes_mean:.2f}", *both(lambda t: t.nodes.mean, "{:.2f}")),
        ("peak nodes", f"{p.nodes_peak:.0f}", *both(lambda t: t.nodes.peak, "{:.0f}")),
        ("cost per day", usd(p.cost_usd), *both(lambda t: t.cost_usd.total, "${:,.0f}")),
        ("revenue per day", usd(p.revenue_usd), *both(lambda t: t.revenue_usd.total, "${:,.0f}")),
        ("cost-profit margin", f"{100 * p.cost_profit_margin:g} %", *both(lambda t: 100 * t.margin.cost_profit, "{:.1f} %")),
        ("unserved output tokens", "-", *both(lambda t: t.unserved_tokens.output, "{:,.0f}")),
    ]
    parts += ["", "The day: published figures, the published schedule scored by planner, the optimized plan",
              text_table(rows, ("figure", "published", "published schedule", "optimized"))]
    ends = reproduction.band
    band_rows = [(name, f"{e.prefill_capacity_factor:.4f} / {e.decode_capacity_factor:.4f}", nodes(e.nodes_mean),
                  nodes(e.nodes_peak), usd(e.cost_usd), pct(e.cost_profit_margin), nodes(e.greedy_nodes_mean),
                  usd(e.greedy_cost_usd)) for name, e in ends.items()]
    parts += ["", "The optimized day as a band between two calibrations of capacity at full use (the published "
                  "peak is fixed by the optimistic one)",
              text_table(band_rows, ("calibration", "factors prefill / decode", "mean nodes", "peak", "cost per day",
                                     "cost-profit", "greedy mean nodes", "greedy cost"))]
    return "\n".join(parts)


FRONTIER_DISPLAY = {
    "decode_tokens_per_s_per_user": "tok/s/user", "ttft_s": "TTFT s", "status": "status", "cost_usd": "$/day",
    "nodes_mean": "mean nodes", "nodes_peak": "peak", "usd_per_million_output_tokens": "$/M out",
    "unserved_output_share": "unserved", "usd_per_day_per_extra_token_per_s": "+$/day per tok/s",
    "usd_per_million_output_tokens_per_extra_token_per_s": "+$/M per tok/s",
    "ttft_missed_periods": "TTFT missed", "kv_binding_periods": "KV binds",
}


def frontier_text(frame: pd.DataFrame) -> str:
    """The frontier as a printed table, then one line per unattainable point."""
    def cell(column: str, value: Any) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return "-"
        if column in ("cost_usd", "usd_per_day_per_extra_token_per_s"):
            return f"{value:,.0f}"
        if column == "unserved_output_share":
            return f"{100 * value:.2f} %"
        if column == "usd_per_million_output_tokens_per_extra_token_per_s":
            return f"{value:.4f}"
        return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)

    columns = list(FRONTIER_DISPLAY)
    rows = [tuple(cell(c, getattr(r, c)) for c in columns) for r in frame.itertuples(index=False)]
    lines = [text_table(rows, tuple(FRONTIER_DISPLAY[c] for c in columns))]
    lines += [f"unattainable at {speeds}: {note}" for note, speeds in _unattainable_groups(frame)]
    return "\n".join(lines)


def _unattainable_groups(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """One (reason, points) pair per distinct reason: "TTFT 1 s: the p95 ..." with the speeds
    it holds for ("16, 18 and 21 tokens/s"), in the frame's order."""
    groups: dict[str, list[str]] = {}
    for row in frame[frame["status"] == "unattainable"].itertuples(index=False):
        ttft = "none" if row.ttft_s is None or row.ttft_s != row.ttft_s else f"{row.ttft_s:g} s"
        speed = "-" if row.decode_tokens_per_s_per_user is None else f"{row.decode_tokens_per_s_per_user:g}"
        groups.setdefault(f"TTFT {ttft}: {row.note}", []).append(speed)
    return [(note, _spoken_list(speeds) + " tokens/s") for note, speeds in groups.items()]


def _spoken_list(items: Sequence[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _vss_text(r: dict) -> str:
    """"$5,038/day" with, when the solves' gaps leave room, the range they allow."""
    value, span = r.get("value_of_the_stochastic_solution_usd"), r.get("value_of_the_stochastic_solution_range_usd")
    money = lambda x: f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"  # noqa: E731
    if value is None:
        return "-"
    text = f"{money(value)}/day"
    if span and span[1] - span[0] > 1.0:
        text += f" (between {money(span[0])} and {money(span[1])} within the solves' gaps)"
    return text


def reseller_text(name: str, r: dict, ratios: Sequence[tuple[str, float]] = ()) -> str:
    """`planner reseller`: the study record (reseller.json) as a table; `ratios` are published
    provisioning ratios (label, value) to set beside the plan's."""
    p, oos, mean = r["provisioning"], r["out_of_sample"], r["mean_demand_plan"]
    rows = [
        ("leased fleet (nodes)", f"{p['leased_fleet']:g}"),
        ("nodes needed at full use (mean)", f"{p['full_use_nodes']:.1f}"),
        ("provisioning ratio", f"{p['provisioning_ratio']:.2f}"),
        *((f"  {label}", f"{value:.2f}") for label, value in ratios),
        ("  with mean burst nodes", f"{p['provisioning_ratio_with_burst']:.2f}"),
        ("cost per day (expected)", f"${r['cost_usd_per_day']:,.0f}"),
        ("cost per million output tokens", f"${r['usd_per_million_output_tokens']:.3f}"),
        ("cost-profit margin at list prices", f"{100 * r['margin']['cost_profit']:.1f} %"),
        ("fleet planned for the mean demand", f"{mean['leased_fleet']:g}"),
        ("value of the stochastic solution (misses priced)", _vss_text(r)),
        (f"out of sample ({oos['scenarios']} scenarios, seed {oos['seed']}): served output",
         f"{100 * (oos.get('served_output_share') or float('nan')):.3f} %"),
        ("  availability measured (simulated failures)",
         f"{100 * (oos.get('availability_measured') or float('nan')):.3f} %"),
        ("  failures that found the spare pool short, per day",
         f"{oos.get('swaps_refused_per_day') if oos.get('swaps_refused_per_day') is not None else float('nan'):.4f}"),
    ]
    for label, share in (("scenarios meeting the SLO in every hour, in sample", r.get("slo_share_in_sample")),
                         ("  out of sample (95 % interval)", oos.get("slo_share"))):
        if share:
            promised = "" if share["promised"] is None else \
                f"; promised {100 * share['promised']:g} %: {'held' if share['held'] else 'NOT held'}"
            rows.append((label, f"{100 * share['share']:.1f} % [{100 * share['low']:.1f}, {100 * share['high']:.1f}] "
                                f"of {share['scenarios']}{promised}"))
    if not mean["holds_the_slo_share"]:
        rows.append(("  the mean-demand fleet cannot hold the SLO share", "on these scenarios"))
    text = f"{name}: {r['scenarios']} scenarios, {r['status']}\n" + text_table(rows, ("", ""))
    frontier = r.get("slo_share_frontier")
    if frontier:
        cell = lambda pt, key, fmt: "-" if pt.get(key) is None or pt.get(key) != pt.get(key) else fmt.format(pt[key])  # noqa: E731
        points = [("none" if pt["slo_share"] is None or pt["slo_share"] != pt["slo_share"] else f"{pt['slo_share']:g}",
                   pt["status"],
                   cell(pt, "leased_fleet", "{:g}"), cell(pt, "provisioning_ratio", "{:.2f}"),
                   cell(pt, "cost_usd_per_day", "${:,.0f}"), cell(pt, "usd_per_million_output_tokens", "${:.3f}"),
                   cell(pt, "scenarios_meeting_the_slo", "{:.0%}"), cell(pt, "scenarios_needed", "{:g}"))
                  for pt in frontier]
        text += "\n\nShare of scenarios meeting the SLO\n" + text_table(points, (
            "share", "status", "fleet", "ratio", "$/day", "$/M out", "met in sample", "scenarios for +-5 %"))
    scale = r.get("scale")
    if scale:
        gap = lambda pt: "-" if pt.get("mip_gap") is None or pt["mip_gap"] != pt["mip_gap"] \
            else f"{100 * pt['mip_gap']:.2g} %"  # noqa: E731
        points = [(f"{pt['output_tokens_per_day'] / 1e9:g} B", pt["status"], gap(pt),
                   f"{pt.get('leased_fleet', float('nan')):g}", pt.get("leased_by_node_type") or "-",
                   f"{pt.get('provisioning_ratio', float('nan')):.2f}",
                   f"${pt.get('usd_per_million_output_tokens', float('nan')):.3f}",
                   f"{100 * pt.get('cost_profit_margin', float('nan')):.1f} %") for pt in scale["points"]]
        text += "\n\nScale\n" + text_table(points, ("output/day", "status", "gap", "fleet", "by node type", "ratio",
                                                      "$/M out", "margin"))
        be = scale["break_even_output_tokens_per_day"]
        text += "\nbreak-even: " + (f"{be / 1e9:.3g} B output tokens a day" if be else "no sign change in the sweep")
    return text


def margins_text(r: dict) -> str:
    """`planner margins`: the study record (margins.json) as tables."""
    parts = []
    for label, steps in r["waterfall"].items():
        list_price = r["list_output_price_usd_per_million"]
        rows = [(st["step"], f"${st['revenue_usd']:,.0f}", f"${st['cost_usd']:,.0f}",
                 f"{100 * st['cost_profit_margin']:.1f} %" if st["cost_profit_margin"] is not None else "-",
                 f"{100 * st['gross_margin']:.1f} %" if st["gross_margin"] is not None else "-",
                 "-" if st["break_even_output_price_factor"] is None
                 else "inputs cover it" if st["break_even_output_price_factor"] <= 0
                 else f"${st['break_even_output_price_factor'] * list_price:.2f}" if list_price is not None
                 else f"{st['break_even_output_price_factor']:.2f} x each list")
                for st in steps]
        parts.append(f"Waterfall, {label}\n" + text_table(
            rows, ("step", "revenue/day", "cost/day", "cost-profit", "gross", "break-even output list price")))
    rows = [(label, name, f"{100 * g['gross_margin']:.1f} %")
            for label, lists in r["gross_margin_by_price_list"].items() for name, g in lists.items()]
    parts.append("Gross margin with every token at one list, GPU rent only\n" +
                 text_table(rows, ("schedule", "prices", "gross margin")))
    rows = [(run.replace("_", " "), k, f"{v['min']:.3f}", f"{v['mean']:.3f}", f"{v['max']:.3f}")
            for run, by_key in r["marginal_cost_usd_per_million_tokens"].items() for k, v in by_key.items()]
    parts.append("Marginal cost, $ per million tokens (LP duals): short run = the plan's units fixed, "
                 "fleet fixed = units free within the plan's fleet, long run = the fleet free too\n" +
                 text_table(rows, ("run", "", "min", "mean", "max")))
    parts.append("break-even output list price: the list output price (and V3's, by the same factor) at which "
                 "the step's margin is zero, inputs at their list")
    volume = r["break_even_output_tokens_per_day"]
    if r["volume_sweep"] is not None:
        parts.append("break-even volume: " + (f"{volume / 1e9:.3g} B output tokens a day" if volume
                                               else "no sign change in the volume sweep"))
    return "\n\n".join(parts)


def sweep_text(table: pd.DataFrame, columns: Sequence[str]) -> str:
    """The aggregate table of a sweep, numbers shortened."""
    def cell(value) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return "-"
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
        return str(value)

    return text_table([tuple(cell(v) for v in row) for row in table[list(columns)].itertuples(index=False)],
                      tuple(columns))
