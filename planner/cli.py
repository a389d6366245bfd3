"""Command line: a thin layer over planner.api. Exit 0 plan, 1 no plan, 2 bad input, 130 Ctrl-C."""

from __future__ import annotations

import math
import re
import signal
import sys
import threading
from pathlib import Path

import click

from . import api
from . import reference as ref
from .errors import InputError, PlanningError
from .files import write_atomic
from .report import text_table, to_json
from .solve import interrupt_handler, no_plan_reason
from .files import write_text_atomic

EXIT_NO_PLAN = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
DEFAULT_INSTANCE = "instances/deepseek-2025-02-28.yaml"


class PlannerGroup(click.Group):
    """Turns planner's own errors into one line on stderr and an exit code; never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's main, with usage errors (a bad option or argument) as one `error:` line, exit 2."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, interrupt_handler)
        try:
            returned = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = returned if isinstance(returned, int) else 0
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"error: {exc.format_message()}{hint}", err=True)
            code = EXIT_BAD_INPUT
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            code = exc.exit_code
        except click.Abort:
            click.echo("interrupted: nothing more was written", err=True)
            code = EXIT_INTERRUPTED
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(f"error: {exc.line()}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except PlanningError as exc:
            click.echo(f"no plan: {exc}", err=True)
            ctx.exit(EXIT_NO_PLAN)
        except KeyboardInterrupt:
            click.echo("interrupted: nothing more was written", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def set_option(function):
    return click.option(
        "--set", "overrides", multiple=True, metavar="PATH=VALUE",
        help="Override a field of the instance, e.g. --set solver.mip_gap=0.01 (repeatable; typed as YAML).",
    )(function)


def solver_flags(function):
    function = click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
                            help="Solver time limit in seconds (default: the instance's solver.time_limit_s).")(function)
    function = click.option("--mip-gap", type=click.FloatRange(0, 1), default=None,
                            help="Relative MIP gap at which the solver stops (default: solver.mip_gap).")(function)
    function = click.option("--threads", type=click.IntRange(1, 256), default=None,
                            help="Solver threads (default: solver.threads).")(function)
    return function


def output_flags(function):
    function = click.option("--out", type=click.Path(path_type=Path), default=None,
                            help="Folder for summary.json, schedule.csv, allocation.csv, plan.png and report.md.")(function)
    function = click.option("--overwrite", is_flag=True, help="Replace a previous result in --out.")(function)
    return function


instance_argument = click.argument("instance", type=click.Path(path_type=Path, dir_okay=False))


@click.group(name="planner", cls=PlannerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="planner")
def main() -> None:
    """planner: hourly capacity plans for GPU fleets that serve large language models."""


@main.command()
@instance_argument
@output_flags
@solver_flags
@set_option
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the table.")
def solve(instance: Path, out: Path | None, overwrite: bool, time_limit, mip_gap, threads, overrides,
          as_json: bool) -> None:
    """Solve INSTANCE and print the plan beside the published figures."""
    outcome = api.solve_instance(instance, overrides, out=out, overwrite=overwrite,
                                 time_limit_s=time_limit, mip_gap=mip_gap, threads=threads)
    from .report import printed_summary

    if outcome.plan is None:
        reason = no_plan_reason(outcome.result)
        if "diagnosis" in outcome.summary:
            from .diagnosis import message

            reason = f"{message(outcome.summary['diagnosis'])} ({reason})"
            if out is not None:
                reason += f"; the diagnosis is in {out / 'diagnosis.json'}"
        raise PlanningError(reason)
    click.echo(to_json(outcome.summary) if as_json else printed_summary(outcome.summary), nl=not as_json)
    if outcome.result.status != "optimal":
        click.echo(f"note: the solver stopped at its limit; the plan is within {_gap(outcome)} of optimal", err=True)
    if out is not None:
        click.echo(f"wrote {', '.join(p.name for p in outcome.paths)} to {out}")


def _gap(outcome: api.PlanOutcome) -> str:
    gap = outcome.result.mip_gap
    return "an unknown gap" if gap is None else f"{100 * gap:.3g} %"


@main.command()
@instance_argument
@set_option
def validate(instance: Path, overrides) -> None:
    """Check INSTANCE (and the files it names) without solving it."""
    data = api.validate_instance(instance, overrides)
    tokens = {c: float(v.sum()) / data.scenarios for c, v in data.demand_tokens.items()}
    scenarios = f" x {data.scenarios} scenarios (tokens: their mean)" if data.scenarios > 1 else ""
    click.echo(
        f"{instance}: valid. {data.horizon_periods} periods of {data.period_hours:g} h from {data.spec.horizon.start}"
        f"{scenarios}; "
        f"served models {', '.join(data.served_models)}; node types {', '.join(data.node_type_names)}; "
        f"{tokens['input_tokens']:,.0f} input tokens ({tokens['input_cache_hit_tokens']:,.0f} cache hits), "
        f"{tokens['output_tokens']:,.0f} output tokens."
    )


@main.command()
@click.option("--instance", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_INSTANCE,
              show_default=True, help="The reference-day instance.")
@output_flags
@solver_flags
@set_option
def reproduce(instance: Path, out: Path | None, overwrite: bool, time_limit, mip_gap, threads, overrides) -> None:
    """Recompute the published arithmetic and set the optimized day beside the published one."""
    r = api.reproduce(instance, overrides, out=out, overwrite=overwrite,
                      time_limit_s=time_limit, mip_gap=mip_gap, threads=threads)
    a = r.arithmetic
    click.echo("Published arithmetic, recomputed from the disclosure's tokens, throughputs and prices")
    click.echo(text_table([
        ("cost: 226.75 nodes x 8 GPUs x $2 x 24 h", f"${a['daily_cost_usd']:,.0f}", "$87,072"),
        ("revenue: tokens at R1 list prices", f"${a['theoretical_revenue_usd']:,.0f}",
         f"$562,027 ({100 * a['revenue_error_vs_published']:+.3f} %)"),
        ("cost-profit margin (recomputed revenue)", f"{100 * a['cost_profit_margin']:.1f} %", "545 %"),
        ("cost-profit margin (published revenue)", f"{100 * a['cost_profit_margin_published_revenue']:.1f} %", "545 %"),
        ("node-hours: 608 B / 73.7 k + 168 B / 14.8 k", f"{a['node_hours_from_throughput']:,.0f}",
         f"{a['node_hours_from_average']:,.0f} (226.75 x 24)"),
    ], ("figure", "recomputed", "published")))
    click.echo("\nCapacity at full use over the published day average (heaviest hourly load per node)")
    click.echo(text_table([
        (role, f"{f['recomputed']:.5f}", f"{f['instance']:.4f}") for role, f in r.capacity_factors.items()
    ], ("role", "recomputed", "instance")))
    scored = r.published.evaluation.totals if r.published.evaluation else None
    plan = r.plan.summary
    rows = [
        ("mean nodes in service", f"{226.75:.2f}", _fmt(scored, "nodes", "mean", "{:.2f}"),
         _fmt(plan, "nodes", "mean", "{:.2f}")),
        ("peak nodes", "278", _fmt(scored, "nodes", "peak", "{:.0f}"), _fmt(plan, "nodes", "peak", "{:.0f}")),
        ("cost per day", "$87,072", _fmt(scored, "cost_usd", "total", "${:,.0f}"),
         _fmt(plan, "cost_usd", "total", "${:,.0f}")),
        ("revenue per day", "$562,027", _fmt(scored, "revenue_usd", "total", "${:,.0f}"),
         _fmt(plan, "revenue_usd", "total", "${:,.0f}")),
        ("cost-profit margin", "545 %", _fmt(scored, "margin", "cost_profit", "{:.1%}"),
         _fmt(plan, "margin", "cost_profit", "{:.1%}")),
        ("unserved output tokens", "-", _fmt(scored, "unserved_tokens", "output", "{:,.0f}"),
         _fmt(plan, "unserved_tokens", "output", "{:,.0f}")),
    ]
    click.echo("\nThe day: published figures, the published schedule scored by planner, the optimized plan")
    click.echo(text_table(rows, ("figure", "published", "published schedule", "optimized")))
    if out is not None:
        record = {"arithmetic": a, "capacity_factors": r.capacity_factors,
                  "published_schedule_scored": scored, "plan": plan}
        write_text_atomic(Path(out) / "reproduce.json", to_json(record))
        click.echo(f"wrote reproduce.json and the plan's files to {out}")


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def _shares(specs) -> dict[str, float]:
    """('a=0.4', 'b=0.6') -> {'a': 0.4, 'b': 0.6}; a lone name has share 1."""
    shares = {}
    for spec in specs:
        name, _, share = spec.partition("=")
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_@+-]*", name):
            raise InputError("--served-model", "name", name, "must be a served-model name (letters, digits, _@+-)")
        try:
            shares[name] = float(share) if share else 1.0
        except ValueError:
            raise InputError("--served-model", name, share, "the share must be a number") from None
        if not math.isfinite(shares[name]) or shares[name] <= 0:
            raise InputError("--served-model", name, share, "the share must be a positive number")
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-9:
        raise InputError("--served-model", ",".join(shares), total, "shares must add up to 1")
    return shares


def _fmt(record, group: str, key: str, pattern: str) -> str:
    value = (record or {}).get(group, {}).get(key) if record else None
    return "-" if value is None else pattern.format(value)


@main.command()
@instance_argument
@click.option("--served-model", default=None, help="The served model whose SLO varies (default: the first).")
@click.option("--speeds", default="16,18,21,25,30,35,40", show_default=True,
              help="Promised decode speeds, tokens/s per user, comma-separated.")
@click.option("--ttft", "ttfts", default="none,2,1,0.5", show_default=True,
              help="TTFT targets in seconds at the instance's percentile, comma-separated; 'none' for no target.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder for frontier.csv and frontier.png.")
@click.option("--overwrite", is_flag=True, help="Replace a previous frontier in --out.")
@solver_flags
@set_option
def frontier(instance: Path, served_model, speeds: str, ttfts: str, out: Path | None, overwrite: bool,
             time_limit, mip_gap, threads, overrides) -> None:
    """Plan cost against promised decode speed and TTFT: what each token/s of speed costs."""
    from . import frontier as fr

    if out is not None:
        api.check_output_folder(out, overwrite, marker="frontier.csv")
    data = api.validate_instance(instance, overrides)
    model = served_model or data.served_models[0]
    speed_values = sorted({v for v in fr.parse_numbers(speeds, "--speeds") if v is not None})
    if not speed_values:
        raise InputError("--speeds", "", speeds, "give at least one speed")
    frame = fr.slo_frontier(instance, model, speed_values, list(dict.fromkeys(fr.parse_numbers(ttfts, "--ttft"))),
                            overrides,
                            time_limit_s=time_limit, mip_gap=mip_gap, threads=threads)
    click.echo(f"{data.name}: SLO frontier of {model}")
    click.echo(text_table(*fr.display_rows(frame)))
    for row in frame[frame["status"] == "unattainable"].itertuples(index=False):
        ttft = "none" if row.ttft_s is None or row.ttft_s != row.ttft_s else f"{row.ttft_s:g} s"
        click.echo(f"unattainable: {row.decode_tokens_per_s_per_user:g} tokens/s, TTFT {ttft}: {row.note}")
    if out is not None:
        from .report import write_frame

        write_frame(out / "frontier.csv", frame)
        fr.frontier_chart(out / "frontier.png", frame, f"{data.name}: cost against the SLO of {model}")
        click.echo(f"wrote frontier.csv and frontier.png to {out}")


@main.command()
@instance_argument
@click.option("--volumes", default="1e9,3e9,1e10,3e10,1e11,3e11,1e12", show_default=True,
              help="Daily output-token volumes of the scale sweep, comma-separated ('none' to skip it).")
@click.option("--oos-scenarios", type=click.IntRange(1, 5000), default=50, show_default=True,
              help="Fresh scenarios of the out-of-sample check.")
@click.option("--oos-seed", type=int, default=None, help="Their seed (default: the instance's seed + 1000).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for reseller.json, scale.csv, scale.png and the stochastic plan's files.")
@click.option("--overwrite", is_flag=True, help="Replace a previous study in --out.")
@solver_flags
@set_option
def reseller(instance: Path, volumes: str, oos_scenarios: int, oos_seed, out: Path | None, overwrite: bool,
             time_limit, mip_gap, threads, overrides) -> None:
    """Stable service for a reseller: fleet, provisioning ratio, margin, out-of-sample check, scale."""
    from . import reseller as rs
    from .frontier import parse_numbers
    from .report import write_frame, write_plan

    if out is not None:
        api.check_output_folder(out, overwrite, marker="reseller.json")
    volume_values = [] if volumes.strip().lower() == "none" else [v for v in parse_numbers(volumes, "--volumes") if v]
    solver = {"time_limit_s": time_limit, "mip_gap": mip_gap, "threads": threads}
    result = rs.study(instance, overrides, oos_seed=oos_seed, oos_scenarios=oos_scenarios, **solver)
    if result.plan.plan is None:
        raise PlanningError(no_plan_reason(result.plan.result))
    record = result.record
    sweep = rs.scale_sweep(instance, volume_values, overrides, **solver) if volume_values else None
    if sweep is not None:
        record["scale"] = {"break_even_output_tokens_per_day": rs.break_even_volume(sweep),
                           "points": sweep.to_dict(orient="records")}
    click.echo(reseller_text(result.plan.data.name, record))
    if out is not None:
        write_plan(out, result.plan.data, result.plan.summary, result.plan.plan, result.plan.result.tables,
                   result.plan.published_nodes)
        if sweep is not None:
            write_frame(out / "scale.csv", sweep)
            rs.scale_chart(out / "scale.png", sweep, record["scale"]["break_even_output_tokens_per_day"],
                           f"{result.plan.data.name}: fleet and margin against volume")
        write_text_atomic(out / "reseller.json", to_json(record))
        scale_files = "scale.csv, scale.png, " if sweep is not None else ""
        click.echo(f"wrote reseller.json, {scale_files}and the plan's files to {out}")


def reseller_text(name: str, r: dict) -> str:
    p, oos, mean = r["provisioning"], r["out_of_sample"], r["mean_demand_plan"]
    rows = [
        ("leased fleet (nodes)", f"{p['leased_fleet']:g}"),
        ("nodes needed at full use (mean)", f"{p['full_use_nodes']:.1f}"),
        ("provisioning ratio (published day: 1.23)", f"{p['provisioning_ratio']:.2f}"),
        ("  with mean burst nodes", f"{p['provisioning_ratio_with_burst']:.2f}"),
        ("cost per day (expected)", f"${r['cost_usd_per_day']:,.0f}"),
        ("cost per million output tokens", f"${r['usd_per_million_output_tokens']:.3f}"),
        ("cost-profit margin at list prices", f"{100 * r['margin']['cost_profit']:.1f} %"),
        ("fleet planned for the mean demand", f"{mean['leased_fleet']:g}"),
        ("value of the stochastic solution (misses priced)", f"${r['value_of_the_stochastic_solution_usd']:,.0f}/day"),
        (f"out of sample ({oos['scenarios']} scenarios, seed {oos['seed']}): served output",
         f"{100 * oos.get('served_output_share', float('nan')):.3f} %"),
        ("  availability measured (simulated failures)", f"{100 * oos.get('availability_measured', float('nan')):.2f} %"),
    ]
    if not mean["holds_the_slo_share"]:
        rows.append(("  the mean-demand fleet cannot hold the SLO share", "on these scenarios"))
    text = f"{name}: {r['scenarios']} scenarios, {r['status']}\n" + text_table(rows, ("", ""))
    scale = r.get("scale")
    if scale:
        points = [(f"{pt['output_tokens_per_day'] / 1e9:g} B", f"{pt.get('leased_fleet', float('nan')):g}",
                   f"{pt.get('provisioning_ratio', float('nan')):.2f}", f"${pt.get('usd_per_million_output_tokens', float('nan')):.3f}",
                   f"{100 * pt.get('cost_profit_margin', float('nan')):.1f} %") for pt in scale["points"]]
        text += "\n\nScale\n" + text_table(points, ("output/day", "fleet", "ratio", "$/M out", "margin"))
        be = scale["break_even_output_tokens_per_day"]
        text += "\nbreak-even: " + (f"{be / 1e9:.3g} B output tokens a day" if be else "no sign change in the sweep")
    return text


@main.command()
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Result store (default: results/sweeps/NAME).")
@click.option("--workers", type=click.IntRange(1, 512), default=1, show_default=True, help="Cases solved at once.")
@click.option("--executor", type=click.Choice(["process", "dask"]), default="process", show_default=True,
              help="A local process pool, or Dask distributed (pip install 'planner[dask]').")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a LocalCluster on loopback).")
@click.option("--resume", is_flag=True, help="Skip the cases already in the store.")
@click.option("--overwrite", is_flag=True, help="Remove the cases already in the store and run them all.")
@solver_flags
def sweep(spec: Path, out: Path | None, workers: int, executor: str, scheduler, resume: bool, overwrite: bool,
          time_limit, mip_gap, threads) -> None:
    """Run a grid of --set overrides of a base instance; one JSON per case, an aggregate table, a chart."""
    import time

    from tqdm import tqdm

    from . import sweep as sw

    plan = sw.load_sweep(spec)
    out = out or Path("results") / "sweeps" / plan.spec.name
    if out.exists() and not out.is_dir():
        raise InputError(out, "--out", str(out), "exists and is not a folder")
    started = time.perf_counter()
    with tqdm(total=len(plan.cases), desc=plan.spec.name, unit="case", disable=None) as bar:
        def show(state: sw.Progress) -> None:
            bar.n = state.done
            bar.set_postfix(failed=state.failed, refresh=False)
            bar.refresh()

        table = sw.run_sweep(plan, out, workers=workers, executor=executor, scheduler=scheduler, resume=resume,
                             overwrite=overwrite,
                             solver={"time_limit_s": time_limit, "mip_gap": mip_gap, "threads": threads},
                             progress=show)
    if plan.spec.chart is not None:
        sw.sweep_chart(out / "sweep.png", table, plan.spec.chart, plan.spec.name)
    skip = {"mip_gap", "solver.wall_s", "status"}
    shown = [c for c in (*plan.spec.grid, "run", *plan.spec.metrics) if c in table.columns and c not in skip]
    click.echo(text_table([tuple(_cell(v) for v in row) for row in table[shown].itertuples(index=False)],
                          tuple(shown)))
    failed = int((table["run"] == "failed").sum()) if len(table) else 0
    click.echo(f"{len(table)} cases in {out} ({failed} failed); "
               f"{sw.cases_per_minute(started, len(plan.cases)):.1f} cases per minute with {workers} worker(s)")


@main.command()
@instance_argument
@click.option("--volumes", default="1e9,3e9,1e10,3e10,1e11,3e11", show_default=True,
              help="Daily output-token volumes for the break-even volume, comma-separated ('none' to skip).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Folder for margins.json, waterfall.png, marginal_cost.csv and marginal_cost.png.")
@click.option("--overwrite", is_flag=True, help="Replace a previous study in --out.")
@solver_flags
@set_option
def margins(instance: Path, volumes: str, out: Path | None, overwrite: bool, time_limit, mip_gap, threads,
            overrides) -> None:
    """From the theoretical margin to a real one: the waterfall, gross margins, marginal cost, break-even."""
    from . import margins as mg
    from .frontier import parse_numbers
    from .report import write_frame

    if out is not None:
        api.check_output_folder(out, overwrite, marker="margins.json")
    volume_values = [] if volumes.strip().lower() == "none" else [v for v in parse_numbers(volumes, "--volumes") if v]
    result = mg.study(instance, overrides, volume_values, time_limit_s=time_limit, mip_gap=mip_gap, threads=threads)
    record = result["record"]
    click.echo(margins_text(record))
    if out is not None:
        write_text_atomic(out / "margins.json", to_json(record))
        mg.waterfall_chart(out / "waterfall.png", result["waterfalls"], f"{record['instance']}: from the theoretical margin to a real one")
        write_frame(out / "marginal_cost.csv", result["marginal_costs"])
        mg.marginal_cost_chart(out / "marginal_cost.png", result["data"], result["marginal_costs"], result["assumptions"],
                               f"{record['instance']}: marginal cost of a million tokens, hour by hour")
        click.echo(f"wrote margins.json, waterfall.png, marginal_cost.csv and marginal_cost.png to {out}")


def margins_text(r: dict) -> str:
    parts = []
    for label, steps in r["waterfall"].items():
        list_price = r["list_output_price_usd_per_million"]
        rows = [(st["step"], f"${st['revenue_usd']:,.0f}", f"${st['cost_usd']:,.0f}",
                 f"{100 * st['cost_profit_margin']:.1f} %" if st["cost_profit_margin"] is not None else "-",
                 f"{100 * st['gross_margin']:.1f} %" if st["gross_margin"] is not None else "-",
                 "-" if st["break_even_output_price_factor"] is None
                 else "inputs cover it" if st["break_even_output_price_factor"] <= 0
                 else f"${st['break_even_output_price_factor'] * list_price:.2f}")
                for st in steps]
        parts.append(f"Waterfall, {label}\n" + text_table(
            rows, ("step", "revenue/day", "cost/day", "cost-profit", "gross", "break-even output list price")))
    rows = [(label, name, f"{100 * g['gross_margin']:.1f} %")
            for label, lists in r["gross_margin_by_price_list"].items() for name, g in lists.items()]
    parts.append("Gross margin with every token at one list, GPU rent only\n" +
                 text_table(rows, ("schedule", "prices", "gross margin")))
    rows = [(k, f"{v['min']:.3f}", f"{v['mean']:.3f}", f"{v['max']:.3f}")
            for k, v in r["marginal_cost_usd_per_million_tokens"].items()]
    parts.append("Marginal cost, $ per million tokens (LP duals, fleet fixed, units relaxed)\n" +
                 text_table(rows, ("", "min", "mean", "max")))
    parts.append("break-even output list price: the list output price (and V3's, by the same factor) at which "
                 "the step's margin is zero, inputs at their list")
    volume = r["break_even_output_tokens_per_day"]
    if r["volume_sweep"] is not None:
        parts.append("break-even volume: " + (f"{volume / 1e9:.3g} B output tokens a day" if volume
                                               else "no sign change in the volume sweep"))
    return "\n\n".join(parts)


@main.command("reference-demand")
@click.argument("reference_yaml", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--served-model", "served_models", multiple=True, metavar="NAME[=SHARE]",
              help="A served model and its share of every token (repeatable; default deepseek-r1=1).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="CSV file to write.")
def reference_demand(reference_yaml: Path, served_models, out: Path) -> None:
    """Build a demand table from a published day: daily token totals in the shape of its income bars."""
    reference = ref.load_reference(reference_yaml)
    shares = _shares(served_models or ("deepseek-r1",))
    table = ref.demand_table(reference, shares)
    split = ", ".join(f"{m} {share:g}" for m, share in shares.items())
    header = (f"# Built by planner reference-demand from {reference_yaml.name} and its -hourly.csv.\n"
              "# Tokens per period: daily totals (disclosure text) in the shape of the income bars (chart).\n"
              f"# Share of every token by served model: {split}.\n")
    write_atomic(out, lambda tmp: tmp.write_text(header + table.to_csv(index=False), encoding="utf-8"))
    click.echo(f"wrote {len(table)} rows to {out}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
