"""Command line: parse, call the library, print what its report functions render.

Exit 0 plan, 1 no plan, 2 bad input, 130 Ctrl-C. The SIGINT handler is installed before any
heavy import (the library is imported inside the commands), so that Ctrl-C at any moment exits
with 130 and one line, never a traceback.
"""

from __future__ import annotations

import signal
import sys
import threading

_INTERRUPTED = threading.Event()


def _on_interrupt(signum, frame) -> None:
    """Ctrl-C: remember it (HiGHS swallows the KeyboardInterrupt inside its solve and returns
    'error'; the command checks this flag after the library returns) and stop Python code now."""
    _INTERRUPTED.set()
    raise KeyboardInterrupt


if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGINT, _on_interrupt)

import math  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402

EXIT_NO_PLAN = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
DEFAULT_INSTANCE = "instances/deepseek-2025-02-28.yaml"

#: How the library's arguments are called here, in error messages.
FLAGS = {"overrides": "--set", "out": "--out", "result_dir": "RESULT_DIR", "warmup_s": "--warmup-s", "scenario": "--scenario", "overwrite": "--overwrite", "resume": "--resume",
         "served_model": "--served-model", "executor": "--executor", "time_limit_s": "--time-limit",
         "mip_gap": "--mip-gap", "threads": "--threads", "updates": "vary",
         "skip_bad_rows": "--skip-bad-rows", "scale_to": "--scale-to", "window_s": "--window-s",
         "period_minutes": "--period-minutes", "chunk_rows": "--chunk-rows"}


class FiniteRange(click.FloatRange):
    """A float range that also refuses NaN and infinities (NaN passes every comparison; inf passes
    a range without a maximum)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class NoPlan(Exception):
    """A command ends without a plan: exit 1 with this reason."""


class PlannerGroup(click.Group):
    """Turns planner's own errors into one line on stderr and an exit code; never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's main, with usage errors (a bad option or argument) as one `error:` line, exit 2."""
        _INTERRUPTED.clear()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, _on_interrupt)
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
        except (click.Abort, KeyboardInterrupt):
            click.echo("interrupted: nothing more was written", err=True)
            code = EXIT_INTERRUPTED
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context):
        from .errors import InputError, PlanningError

        try:
            returned = super().invoke(ctx)
            _stop_if_interrupted()
            return returned
        except InputError as exc:
            _stop_if_interrupted()
            click.echo(f"error: {exc.line(FLAGS)}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except (PlanningError, NoPlan) as exc:
            _stop_if_interrupted()
            click.echo(f"no plan: {exc}", err=True)
            ctx.exit(EXIT_NO_PLAN)
        except KeyboardInterrupt:
            click.echo("interrupted: nothing more was written", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception:
            # A Ctrl-C inside a C extension's import or call can surface as another error (highspy's
            # "ImportError: initialization failed"): after a Ctrl-C, any error is the interrupt.
            if not _INTERRUPTED.is_set():
                raise
            click.echo("interrupted: nothing more was written", err=True)
            ctx.exit(EXIT_INTERRUPTED)


def _library_loaded() -> None:
    """Called once a command has imported the library: the objects of every imported module are
    moved out of the garbage collector's way (gc.freeze), so that its full collections, which
    otherwise walk all of pandas, pyomo and matplotlib, stay short (a tenth of a second on the
    reference day)."""
    import gc

    gc.freeze()


def _stop_if_interrupted() -> None:
    """After a Ctrl-C that HiGHS swallowed, stop as if it had reached Python."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


def set_option(function):
    return click.option(
        "--set", "overrides", multiple=True, metavar="PATH=VALUE",
        help="Override a field of the instance, e.g. --set solver.mip_gap=0.01 (repeatable; typed as YAML).",
    )(function)


def solver_flags(function):
    function = click.option("--time-limit", type=FiniteRange(min=0, min_open=True), default=None,
                            help="Solver time limit in seconds (default: the instance's solver.time_limit_s).")(function)
    function = click.option("--mip-gap", type=FiniteRange(0, 1), default=None,
                            help="Relative MIP gap at which the solver stops (default: solver.mip_gap).")(function)
    function = click.option("--threads", type=click.IntRange(1, 256), default=None,
                            help="Solver threads (default: solver.threads).")(function)
    return function


def solver_of(time_limit, mip_gap, threads) -> dict:
    return {"time_limit_s": time_limit, "mip_gap": mip_gap, "threads": threads}


def executor_flags(function):
    function = click.option("--workers", type=click.IntRange(1, 512), default=1, show_default=True,
                            help="Points solved at once.")(function)
    function = click.option("--executor", "executor_kind", type=click.Choice(["process", "dask"]), default="process",
                            show_default=True,
                            help="A local process pool, or Dask distributed (pip install 'planner[dask]').")(function)
    function = click.option("--scheduler", default=None, metavar="ADDRESS",
                            help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a LocalCluster on loopback).")(function)
    return function


def out_option(help_text: str):
    def decorate(function):
        function = click.option("--out", type=click.Path(path_type=Path), default=None, help=help_text)(function)
        return click.option("--overwrite", is_flag=True, help="Replace a previous result in --out.")(function)
    return decorate


instance_argument = click.argument("instance", type=click.Path(path_type=Path, dir_okay=False))


def progress_bar(label: str):
    """A tqdm bar on stderr (only on a terminal) as a study's progress callback; stops the study
    on Ctrl-C."""
    from tqdm import tqdm

    bar = tqdm(desc=label, unit="plan", disable=None, leave=False)

    def update(done: int, total: int) -> None:
        _stop_if_interrupted()
        bar.total = total
        bar.n = done
        bar.refresh()
    return bar, update


def numbers(text: str, option: str) -> list[float | None]:
    """'15,21,30' -> [15.0, 21.0, 30.0]; 'none' stands for no target."""
    from .errors import InputError

    values: list[float | None] = []
    for part in text.split(","):
        part = part.strip()
        if part.lower() in ("none", "null", "-"):
            values.append(None)
            continue
        try:
            value = float(part)
        except ValueError:
            raise InputError(option, "", part, "expected numbers separated by commas, or 'none'") from None
        if not math.isfinite(value) or value <= 0:
            raise InputError(option, "", part, "must be a positive number")
        values.append(value)
    return values


def _shares_of(text: str) -> list[float | None]:
    """--slo-share: shares in (0, 1], or none; each once, in the order given."""
    from .errors import InputError

    out: list[float | None] = []
    for value in numbers(text, "--slo-share") if text.strip() else []:
        if value is not None and not 0 < value <= 1:
            raise InputError("--slo-share", "", f"{value:g}", "a share of scenarios must be in (0, 1]")
        if value not in out:
            out.append(value)
    return out


def volumes_of(text: str) -> list[float]:
    return [] if text.strip().lower() == "none" else [v for v in numbers(text, "--volumes") if v]


@click.group(name="planner", cls=PlannerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="planner")
def main() -> None:
    """planner: hourly capacity plans for GPU fleets that serve large language models."""


@main.command()
@instance_argument
@out_option("Folder for summary.json, schedule.csv, allocation.csv, plan.png and report.md.")
@solver_flags
@set_option
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the table.")
@click.option("-v", "--verbose", is_flag=True, help="Say on stderr what is being done, as it starts.")
def solve(instance: Path, out: Path | None, overwrite: bool, time_limit, mip_gap, threads, overrides,
          as_json: bool, verbose: bool) -> None:
    """Solve INSTANCE and print the plan beside the published figures."""
    import time

    started = time.perf_counter()
    from . import api
    from .report.charts import pyplot
    from .report.files import check_output_folder, to_json
    from .report.text import diagnosis_message, printed_summary

    if out is not None:
        check_output_folder(out, overwrite)
        pyplot()  # the chart's library, imported before the freeze below
    _library_loaded()
    data = api.validate_instance(instance, overrides)
    if verbose:
        click.echo(f"solving {data.name}: {data.periods} periods, {len(data.deployments)} deployment(s)", err=True)
    result = api.plan(data, started=started, **solver_of(time_limit, mip_gap, threads))
    _stop_if_interrupted()
    written = api.write_results(out, result) if out is not None else []
    if not result.has_plan:
        reason = result.result.no_plan_reason()
        if result.diagnosis is not None:
            reason = f"{diagnosis_message(result.diagnosis)} ({reason})"
            if out is not None:
                reason += f"; the diagnosis is in {out / 'diagnosis.json'}"
        raise NoPlan(reason)
    click.echo(to_json(result.summary) if as_json else printed_summary(result), nl=not as_json)
    if result.result.status == "gap_not_reached":
        click.echo(f"note: HiGHS reported convergence, but the plan is {100 * result.result.mip_gap:.3g} % from its "
                   "bound, more than the asked gap: the model may be badly scaled (check the volumes and prices)",
                   err=True)
    elif result.result.status != "optimal":
        gap = result.result.mip_gap
        shown = "an unknown gap" if gap is None else f"{100 * gap:.3g} %"
        click.echo(f"note: the solver stopped at its limit; the plan is within {shown} of optimal", err=True)
        if result.result.status == "time_limit":
            click.echo("note: a time limit stops where the machine's speed lets it: another run may give another "
                       "plan (solver.node_limit stops at the same one anywhere)", err=True)
    if out is not None:  # on stderr under --json: stdout is the JSON alone
        click.echo(f"wrote {', '.join(p.name for p in written)} to {out}", err=as_json)


@main.command()
@instance_argument
@set_option
def validate(instance: Path, overrides) -> None:
    """Check INSTANCE (and the files it names) without solving it."""
    from . import api
    from .report.text import validated

    click.echo(validated(str(instance), api.validate_instance(instance, overrides)))


@main.command()
@click.option("--instance", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_INSTANCE,
              show_default=True, help="The reference-day instance.")
@out_option("Folder for reproduce.json and the plan's files.")
@solver_flags
@set_option
def reproduce(instance: Path, out: Path | None, overwrite: bool, time_limit, mip_gap, threads, overrides) -> None:
    """Recompute the published arithmetic and set the optimized day beside the published one."""
    from . import api
    from .report.text import reproduce_text

    reproduction = api.reproduce(instance, overrides, out=out, overwrite=overwrite,
                                 **solver_of(time_limit, mip_gap, threads))
    click.echo(reproduce_text(reproduction))
    if out is not None:
        click.echo(f"wrote reproduce.json and the plan's files to {out}")


@main.command()
@instance_argument
@click.option("--served-model", default=None, help="The served model whose SLO varies (default: the first).")
@click.option("--speeds", default="16,18,21,25,30,35,40", show_default=True,
              help="Promised decode speeds, tokens/s per user, comma-separated.")
@click.option("--ttft", "ttfts", default="none,2,1.5,1,0.5", show_default=True,
              help="TTFT targets in seconds at the instance's percentile, comma-separated; 'none' for no target.")
@out_option("Folder for frontier.csv and frontier.png.")
@solver_flags
@executor_flags
@set_option
def frontier(instance: Path, served_model, speeds: str, ttfts: str, out: Path | None, overwrite: bool,
             time_limit, mip_gap, threads, workers, executor_kind, scheduler, overrides) -> None:
    """Plan cost against promised decode speed and TTFT: what each token/s of speed costs."""
    from . import api
    from .errors import InputError
    from .report.charts import frontier_chart
    from .report.files import check_output_folder, replaced_folder, write_frame
    from .report.text import frontier_text
    from .studies.frontier import slo_frontier

    if out is not None:
        check_output_folder(out, overwrite, marker="frontier.csv")
    inputs = api.load(instance, overrides)
    data = api.planning_data(inputs)
    model = served_model or data.served_models[0]
    speed_values = sorted({v for v in numbers(speeds, "--speeds") if v is not None})
    if not speed_values:
        raise InputError("--speeds", "", speeds, "give at least one speed")
    bar, progress = progress_bar("frontier")
    with bar:
        frame = slo_frontier(inputs, model, speed_values, list(dict.fromkeys(numbers(ttfts, "--ttft"))),
                             solver_of(time_limit, mip_gap, threads), workers=workers, executor_kind=executor_kind,
                             scheduler=scheduler, progress=progress)
    click.echo(f"{data.name}: SLO frontier of {model}")
    click.echo(frontier_text(frame))
    if out is not None:
        with replaced_folder(out) as folder:
            write_frame(folder / "frontier.csv", frame)
            frontier_chart(folder / "frontier.png", frame, f"{data.name}: cost against the SLO of {model}")
        click.echo(f"wrote frontier.csv and frontier.png to {out}")


def _published_ratios(paths) -> list[tuple[str, float]]:
    """(label, provisioning ratio) of each published day or claim file. A published day's ratio is
    on planner's own definition: its peak fleet over the nodes its tokens need at full use."""
    from .errors import NO_VALUE, InputError
    from .io.files import read_yaml_mapping
    from .io.reference import load_claim, load_reference
    from .physics.published import full_use_nodes

    ratios = []
    for path in paths:
        if "claim" in read_yaml_mapping(Path(path)):
            claim = load_claim(path)
            if claim.provisioning_ratio is None:
                raise InputError(path, "provisioning_ratio", NO_VALUE,
                                 "this claim states no provisioning ratio to compare with (see planner claims)")
            ratios.append((f"{claim.claim} ({Path(path).name})", claim.provisioning_ratio))
        else:
            reference = load_reference(path)
            peak, needed = reference.figures["fleet"]["peak_nodes"], full_use_nodes(reference)
            ratios.append((f"published day {Path(path).stem}: {peak:g} / {needed:.1f} at full use", peak / needed))
    return ratios


@main.command()
@instance_argument
@click.option("--volumes", default="1e9,3e9,1e10,3e10,1e11,3e11,1e12", show_default=True,
              help="Daily output-token volumes of the scale sweep, comma-separated ('none' to skip it).")
@click.option("--oos-scenarios", type=click.IntRange(1, 5000), default=50, show_default=True,
              help="Fresh scenarios of the out-of-sample check.")
@click.option("--oos-seed", type=int, default=None, help="Their seed (default: the instance's seed + 1000).")
@click.option("--slo-share", "slo_shares", default="", metavar="LIST",
              help="Also plan at these shares of scenarios meeting the SLO, e.g. 0.8,0.9,0.95,0.99,none "
                   "(none: misses only priced): the cost frontier, slo_share.csv.")
@click.option("--compare-with", "compare_with", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A published day (reference/NAME.yaml: its peak / average) or a claim (reference/*-claim.yaml) "
                   "whose provisioning ratio is set beside the plan's (repeatable).")
@out_option("Folder for reseller.json, scale.csv, scale.png and the stochastic plan's files.")
@solver_flags
@executor_flags
@set_option
def reseller(instance: Path, volumes: str, oos_scenarios: int, oos_seed, slo_shares: str, compare_with,
             out: Path | None, overwrite: bool, time_limit, mip_gap, threads, workers, executor_kind, scheduler,
             overrides) -> None:
    """Stable service for a reseller: fleet, provisioning ratio, margin, out-of-sample check, scale."""
    from . import api
    from .report.charts import scale_chart
    from .report.files import check_output_folder, replaced_folder, write_frame, write_json, write_plan
    from .report.text import reseller_text
    from .studies import reseller as rs

    if out is not None:
        check_output_folder(out, overwrite, marker="reseller.json")
    ratios = _published_ratios(compare_with)
    values, shares = volumes_of(volumes), _shares_of(slo_shares)  # checked before anything is solved
    inputs = api.load(instance, overrides)
    api.planning_data(inputs)
    solver = solver_of(time_limit, mip_gap, threads)
    executors = {"workers": workers, "executor_kind": executor_kind, "scheduler": scheduler}
    bar, progress = progress_bar("reseller")
    with bar:
        result = rs.study(inputs, solver, oos_seed=oos_seed, oos_scenarios=oos_scenarios, progress=progress,
                          **executors)
    if not result.plan.has_plan:
        raise NoPlan(result.plan.result.no_plan_reason())
    record = result.record
    sweep = None
    if values:
        bar, progress = progress_bar("scale")
        with bar:
            sweep = rs.scale_sweep(inputs, values, solver, progress=progress, **executors)
        record["scale"] = {"break_even_output_tokens_per_day": rs.break_even_volume(sweep),
                           "points": sweep.to_dict(orient="records")}
    frontier = None
    if shares:
        bar, progress = progress_bar("slo share")
        with bar:
            frontier = rs.slo_share_frontier(inputs, shares, solver, progress=progress, **executors)
        record["slo_share_frontier"] = frontier.to_dict(orient="records")
    record["published_provisioning_ratios"] = [{"label": label, "ratio": value} for label, value in ratios]
    click.echo(reseller_text(result.plan.data.name, record, ratios))
    if out is not None:
        with replaced_folder(out) as folder:
            write_plan(folder, result.plan)
            if frontier is not None:
                write_frame(folder / "slo_share.csv", frontier)
            if sweep is not None:
                write_frame(folder / "scale.csv", sweep)
                scale_chart(folder / "scale.png", sweep, record["scale"]["break_even_output_tokens_per_day"],
                            f"{result.plan.data.name}: fleet and margin against volume", ratios)
            write_json(folder / "reseller.json", record)
        scale_files = ("slo_share.csv, " if frontier is not None else "") + \
            ("scale.csv, scale.png, " if sweep is not None else "")
        click.echo(f"wrote reseller.json, {scale_files}and the plan's files to {out}")


@main.command()
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Result store (default: results/sweeps/NAME).")
@click.option("--resume", is_flag=True, help="Skip the cases already in the store.")
@click.option("--overwrite", is_flag=True, help="Remove the cases already in the store and run them all.")
@solver_flags
@executor_flags
def sweep(spec: Path, out: Path | None, resume: bool, overwrite: bool, time_limit, mip_gap, threads,
          workers, executor_kind, scheduler) -> None:
    """Run a grid of field values of a base instance; one JSON per case, an aggregate table, a chart."""
    import time

    from tqdm import tqdm

    from .report.charts import sweep_chart
    from .report.files import check_output_folder
    from .report.text import sweep_text
    from .studies import sweep as sw

    plan = sw.load_sweep(spec)
    out = out or Path("results") / "sweeps" / plan.spec.name
    check_output_folder(out, overwrite=True, marker=None)
    started = time.perf_counter()
    with tqdm(total=len(plan.cases), desc=plan.spec.name, unit="case", disable=None) as bar:
        def show(state: sw.Progress) -> None:
            _stop_if_interrupted()
            bar.n = state.done
            bar.set_postfix(failed=state.failed, refresh=False)
            bar.refresh()

        table = sw.run_sweep(plan, out, workers=workers, executor_kind=executor_kind, scheduler=scheduler,
                             resume=resume, overwrite=overwrite, solver=solver_of(time_limit, mip_gap, threads),
                             progress=show)
    if plan.spec.chart is not None:
        sweep_chart(out / "sweep.png", table, plan.spec.chart, plan.spec.name)
    skip = {"mip_gap", "solver.wall_s", "status"}
    shown = [c for c in (*plan.spec.grid, "run", *plan.spec.metrics) if c in table.columns and c not in skip]
    click.echo(sweep_text(table, shown))
    failed = int((table["run"] == "failed").sum()) if len(table) else 0
    click.echo(f"{len(table)} cases in {out} ({failed} failed); "
               f"{sw.cases_per_minute(started, len(plan.cases)):.1f} cases per minute with {workers} worker(s)")


@main.command()
@instance_argument
@click.option("--volumes", default="1e9,3e9,1e10,3e10,1e11,3e11", show_default=True,
              help="Daily output-token volumes for the break-even volume, comma-separated ('none' to skip).")
@out_option("Folder for margins.json, waterfall.png, marginal_cost.csv and marginal_cost.png.")
@solver_flags
@executor_flags
@set_option
def margins(instance: Path, volumes: str, out: Path | None, overwrite: bool, time_limit, mip_gap, threads,
            workers, executor_kind, scheduler, overrides) -> None:
    """From the theoretical margin to a real one: the waterfall, gross margins, marginal cost, break-even."""
    from . import api
    from .report.charts import marginal_cost_chart, waterfall_chart
    from .report.files import check_output_folder, replaced_folder, write_frame, write_json
    from .report.text import margins_text
    from .studies import margins as mg

    if out is not None:
        check_output_folder(out, overwrite, marker="margins.json")
    values = volumes_of(volumes)
    inputs = api.load(instance, overrides)
    api.planning_data(inputs)
    bar, progress = progress_bar("margins")
    with bar:
        result = mg.study(inputs, values, solver_of(time_limit, mip_gap, threads), workers=workers,
                          executor_kind=executor_kind, scheduler=scheduler, progress=progress)
    record = result.record
    click.echo(margins_text(record))
    if out is not None:
        with replaced_folder(out) as folder:
            waterfall_chart(folder / "waterfall.png", result.waterfalls,
                            f"{record['instance']}: from the theoretical margin to a real one")
            write_frame(folder / "marginal_cost.csv", result.marginal_costs)
            marginal_cost_chart(folder / "marginal_cost.png", result.data, result.marginal_costs, result.assumptions,
                                f"{record['instance']}: marginal cost of a million tokens, hour by hour")
            write_json(folder / "margins.json", record)
        click.echo(f"wrote margins.json, waterfall.png, marginal_cost.csv and marginal_cost.png to {out}")


def _shares(specs) -> dict[str, float]:
    """('a=0.4', 'b=0.6') -> {'a': 0.4, 'b': 0.6}; a lone name has share 1."""
    from .errors import InputError

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


@main.command("reference-demand")
@click.argument("reference_yaml", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--served-model", "served_models", multiple=True, metavar="NAME[=SHARE]",
              help="A served model and its share of every token (repeatable; default deepseek-r1=1).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="CSV file to write.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
def reference_demand(reference_yaml: Path, served_models, out: Path, overwrite: bool) -> None:
    """Build a demand table from a published day: daily token totals in the shape of its income bars."""
    from .errors import Argument, InputError
    from .io.files import write_atomic
    from .io.reference import load_reference
    from .physics.published import demand_table

    if out.exists() and (out.is_dir() or not overwrite):
        raise InputError(out, Argument("out"), str(out), "is a folder" if out.is_dir() else
                         "exists; pass `overwrite` to replace it")
    reference = load_reference(reference_yaml)
    shares = _shares(served_models or ("deepseek-r1",))
    table = demand_table(reference, shares)
    split = ", ".join(f"{m} {share:g}" for m, share in shares.items())
    header = (f"# Built by planner reference-demand from {reference_yaml.name} and its -hourly.csv.\n"
              "# Tokens per period: daily totals (disclosure text) in the shape of the income bars (chart).\n"
              f"# Share of every token by served model: {split}.\n")
    write_atomic(out, lambda tmp: tmp.write_text(header + table.to_csv(index=False), encoding="utf-8"))
    click.echo(f"wrote {len(table)} rows to {out}")


@main.group()
def demand() -> None:
    """Build demand tables (the instance's demand CSV) from other data."""


@demand.command("from-trace")
@click.argument("trace", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="The demand CSV to write; STEM.stats.csv, STEM.trace.json and STEM.prompts.csv go beside it.")
@click.option("--period-minutes", type=float, default=60.0, show_default=True, help="Length of a period.")
@click.option("--served-model", default=None,
              help="The served model's name (default: the trace's served_model column, else 'default'); with such "
                   "a column, only this model's requests are kept.")
@click.option("--window-s", type=float, default=10.0, show_default=True,
              help="Window of the peak-to-mean ratio of arrivals inside a period, seconds (must divide the period); "
                   "no longer than the TTFT target: shorter bursts are what the prefill queue must absorb.")
@click.option("--scale-to", type=float, default=None, metavar="TOKENS",
              help="Scale every period's tokens to this many output tokens per day.")
@click.option("--shape-from", type=click.Path(path_type=Path, dir_okay=False), default=None, metavar="CSV",
              help="A demand table whose periods and output-token shape the table takes.")
@click.option("--skip-bad-rows", is_flag=True, help="Skip (and count) bad rows instead of stopping at the first.")
@click.option("--chunk-rows", type=click.IntRange(1), default=1_000_000, show_default=True,
              help="Rows read at a time (memory is bounded by it).")
@click.option("--overwrite", is_flag=True, help="Replace the files of a previous run.")
def demand_from_trace(trace: Path, out: Path, period_minutes: float, served_model, window_s: float, scale_to,
                      shape_from, skip_bad_rows: bool, chunk_rows: int, overwrite: bool) -> None:
    """A demand table from a request log (TRACE: an Azure LLM inference trace or a generic CSV)."""
    import dataclasses

    from .io.demand import read_demand_shape
    from .io.traces import iter_trace_chunks
    from .report.trace_demand import check_trace_outputs, trace_demand_text, write_trace_demand
    from .studies.trace_demand import TraceDemandOptions, check_options, trace_demand

    paths = check_trace_outputs(out, overwrite)
    options = TraceDemandOptions(period_minutes=period_minutes, served_model=served_model, window_s=window_s,
                                 scale_to=scale_to, shape_source=None if shape_from is None else str(shape_from))
    check_options(options)
    if shape_from is not None:
        _, shape = read_demand_shape(shape_from)
        options = dataclasses.replace(options, shape=shape)
    chunks = iter_trace_chunks(trace, chunk_rows=chunk_rows, skip_bad_rows=skip_bad_rows)
    result = trace_demand(chunks, options, prompts_file=paths["prompts"].name, demand_file=paths["demand"].name)
    _stop_if_interrupted()
    click.echo(trace_demand_text(result, write_trace_demand(paths, result)))


@main.command()
@instance_argument
@click.option("--claim", "claim_files", multiple=True, required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A published claim (reference/*-claim.yaml), repeatable.")
@click.option("--volumes", default="1e9,2e9,3e9,5e9,1e10,3e10,1e11", show_default=True,
              help="Daily output-token volumes of the sweep a provisioning-ratio claim is read against.")
@click.option("--cny-per-usd", type=FiniteRange(min=0.01, max=1000), default=7.2, show_default=True,
              help="Exchange rate for claims in CNY (ASSUMPTION: about the rate of March 2025).")
@out_option("Folder for claims.json and claims.md.")
@solver_flags
@executor_flags
@set_option
def claims(instance: Path, claim_files, volumes: str, cny_per_usd: float, out: Path | None, overwrite: bool,
           time_limit, mip_gap, threads, workers, executor_kind, scheduler, overrides) -> None:
    """Published claims beside what planner computes on INSTANCE, and under which inputs each holds."""
    from . import api
    from .io.reference import load_claim
    from .report.files import check_output_folder, replaced_folder, write_json
    from .studies.claims import claims_markdown, claims_study

    if out is not None:
        check_output_folder(out, overwrite, marker="claims.json")
    stated = [load_claim(path) for path in claim_files]
    values = volumes_of(volumes)
    inputs = api.load(instance, overrides)
    api.planning_data(inputs)
    bar, progress = progress_bar("claims")
    with bar:
        record = claims_study(inputs, stated, values, cny_per_usd, solver_of(time_limit, mip_gap, threads),
                              workers=workers, executor_kind=executor_kind, scheduler=scheduler, progress=progress)
    text = claims_markdown(record)
    click.echo(text)
    if out is not None:
        from .io.files import write_text_atomic

        with replaced_folder(out) as folder:
            write_text_atomic(folder / "claims.md", text + "\n")
            write_json(folder / "claims.json", record)
        click.echo(f"wrote claims.md and claims.json to {out}")

@main.command()
@click.argument("result_dir", type=click.Path(path_type=Path))
@click.option("--trace", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Replay this request log (Azure or generic format; see planner demand from-trace).")
@click.option("--synthetic", is_flag=True,
              help="Replay requests drawn from each served model's workload (the default without --trace).")
@click.option("--failures", is_flag=True, help="Fail nodes at the instance's rates; units down, spares swapped in.")
@click.option("--served-model", default=None, help="The served model a trace feeds (default: the plan's first).")
@click.option("--instance", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The instance the plan was made from (default: summary.json's source).")
@set_option
@click.option("--window-s", type=FiniteRange(min=1.0, max=1e7), default=None,
              help="Simulate this many seconds in the middle of each period (default: whole periods up to "
                   "2 million requests a day, else 60 s).")
@click.option("--warmup-s", type=FiniteRange(min=0.0, max=1e7), default=30.0, show_default=True,
              help="Seconds simulated before each window and not counted.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the drawn requests and failures.")
@click.option("--scenario", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which demand scenario's periods to replay (plans with scenarios).")
@click.option("--skip-bad-rows", is_flag=True, help="Skip and count malformed trace rows instead of stopping.")
@out_option("Folder for sim.csv, sim.png and sim.json (default: RESULT_DIR).")
def simulate(result_dir: Path, trace: Path | None, synthetic: bool, failures: bool, served_model, instance,
             overrides, window_s, warmup_s: float, seed: int, scenario: int, skip_bad_rows: bool, out: Path | None,
             overwrite: bool) -> None:
    """Replay the plan in RESULT_DIR request by request and report TTFT, TPOT and SLO attainment."""
    from . import api
    from .report.simulation import simulation_text

    if trace is not None and synthetic:
        raise click.UsageError("give --trace FILE or --synthetic, not both")
    bar, update = progress_bar("simulating")
    try:
        sim = api.simulate(result_dir, instance=instance, overrides=overrides, trace=trace, served_model=served_model,
                           failures=failures, window_s=window_s, warmup_s=warmup_s, seed=seed, scenario=scenario,
                           skip_bad_rows=skip_bad_rows, out=out or result_dir, overwrite=overwrite,
                           progress=lambda done, total: update(done, total))
    finally:
        bar.close()
    click.echo(simulation_text(sim))
    click.echo(f"wrote sim.csv, sim.png and sim.json to {out or result_dir}")


def run() -> None:  # pragma: no cover - the console script
    """The `planner` command: main(), then a quick exit. Everything is written and closed by
    then; skipping the interpreter's teardown of pyomo, pandas and matplotlib saves a third of a
    second on every command (docs/performance.md)."""
    import os

    code = main(standalone_mode=False)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    run()
