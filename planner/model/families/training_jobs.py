"""Training jobs: gangs of nodes for a length of time inside a window, contiguous or splittable."""

from __future__ import annotations

import pandas as pd
import pyomo.environ as pyo

from ...physics.data import PlanningData
from ..contract import Pools, family
from ..tables import consecutive_runs

JOB_COLUMNS = ["job", "node_type", "gang_nodes", "done", "first_period", "last_period", "value_usd", "required"]


def _has_jobs(data: PlanningData) -> bool:
    """Instances with training jobs (`training.jobs`)."""
    return bool(data.training.jobs)


def _runs_in(job, start: int, t: int) -> bool:
    """A contiguous job started in period `start` occupies period t."""
    return start <= t < start + job.periods


def _exports(model: pyo.ConcreteModel, data: PlanningData) -> dict:
    """One row per job segment (a contiguous job has one): job, node type, first and last period."""
    rows = []
    for job in data.training.jobs:
        done = round(pyo.value(model.job_done[job.name])) == 1
        if job.splittable:
            running = [t for t in job.window() if round(pyo.value(model.job_running[job.name, t])) == 1]
        else:
            starts = [t for t in job.starts() if round(pyo.value(model.job_start[job.name, t])) == 1]
            running = list(range(starts[0], starts[0] + job.periods)) if starts else []
        for i, segment in enumerate(consecutive_runs(running) if done else [()]):
            rows.append({"job": job.name, "node_type": job.node_type, "gang_nodes": job.gang_nodes,
                         "done": done, "first_period": segment[0] if segment else None,
                         "last_period": segment[-1] if segment else None,
                         "value_usd": job.value_usd if done and i == 0 else 0.0,  # counted once, on the first
                         "required": job.required})
    return {"jobs": pd.DataFrame(rows, columns=JOB_COLUMNS)}


def _start(model: pyo.ConcreteModel):
    """No job runs in the warm start."""
    for name in ("job_done", "job_start", "job_running"):
        for var in model.component(name).values():
            yield var, 0


@family(applies=_has_jobs, needs=("NODE_TYPES", "PERIODS"),
        provides=("JOBS", "job_done", "JOB_STARTS", "job_start", "job_once", "JOB_PERIODS", "job_running",
                  "job_segment", "job_segments", "job_progress", "job_only_if_done", "job_nodes", "job_value_usd",
                  "checkpoint_cost_usd"),
        contributes=("cost_usd", "value_usd", "training_nodes"), tables=("jobs",), exports=_exports, start=_start)
def add_training_jobs(model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """Jobs j in `JOBS` with gang G_j nodes of type g_j, window [first_j, end_j), value V_j;
    d_j in {0,1} (`job_done`): job j completes, fixed at 1 for a required job (a variable bound).

    **Contiguous jobs** start once at most, in a period tau: z_{j,tau} in {0,1} (`job_start`)
    over `JOB_STARTS`, first_j <= tau <= end_j - L_j, where L_j = ceil((length_j + phi Delta) /
    Delta) periods (the first period loses phi of itself to the move):

        job_once:         sum_tau z_{j,tau} = d_j                  (over the contiguous jobs)
        nodes:            n_{j,t} = G_j sum_{tau : tau <= t < tau + L_j} z_{j,tau}

    **Splittable jobs** run in any periods of their window: y_{j,t} in {0,1} (`job_running`) over
    `JOB_PERIODS`, first_j <= t < end_j. Every segment (a period that runs after one that did
    not) loses l_j = phi Delta + checkpoint hours; s_{j,t} in [0, 1] (`job_segment`, continuous)
    marks where one starts:

        job_segments:     s_{j,t} >= y_{j,t} - y_{j,t-1}          (over JOB_PERIODS; y before the window = 0)
        job_progress:     Delta sum_t y_{j,t} - l_j sum_t s_{j,t} >= length_j d_j   (over the splittable jobs)
        job_only_if_done: y_{j,t} <= d_j                          (over JOB_PERIODS)
        nodes:            n_{j,t} = G_j y_{j,t}

    Sums over t run over the job's window; n_{j,t} is 0 outside it.

    **Expressions** job_nodes_{g,t} = sum_{j : g_j = g} n_{j,t} over every (g, t), 0 for a type
    without jobs (pool training_nodes); job_value_usd = sum_j V_j d_j (pool value_usd);
    checkpoint_cost_usd = sum_j checkpoint_usd_j sum_t s_{j,t} (pool cost_usd).
    """
    jobs = data.training.jobs
    contiguous = [j for j in jobs if not j.splittable]
    splittable = [j for j in jobs if j.splittable]
    by_name = {j.name: j for j in jobs}
    model.JOBS = pyo.Set(initialize=[j.name for j in jobs], ordered=True)
    model.job_done = pyo.Var(model.JOBS, within=pyo.Binary)
    for job in jobs:
        if job.required:
            model.job_done[job.name].fix(1)

    model.JOB_STARTS = pyo.Set(dimen=2, initialize=[(j.name, t) for j in contiguous for t in j.starts()])
    model.job_start = pyo.Var(model.JOB_STARTS, within=pyo.Binary)
    model.job_once = pyo.Constraint(
        [j.name for j in contiguous],
        rule=lambda mdl, name: sum(mdl.job_start[name, t] for t in by_name[name].starts()) == mdl.job_done[name],
    )
    model.JOB_PERIODS = pyo.Set(dimen=2, initialize=[(j.name, t) for j in splittable for t in j.window()])
    model.job_running = pyo.Var(model.JOB_PERIODS, within=pyo.Binary)
    model.job_segment = pyo.Var(model.JOB_PERIODS, bounds=(0.0, 1.0))

    def segment_rule(mdl, name, t):
        before = mdl.job_running[name, t - 1] if t > by_name[name].first else 0
        return mdl.job_segment[name, t] >= mdl.job_running[name, t] - before

    def progress_rule(mdl, name):
        job = by_name[name]
        return (data.period_hours * sum(mdl.job_running[name, t] for t in job.window())
                - job.segment_loss_hours * sum(mdl.job_segment[name, t] for t in job.window())
                >= job.length_hours * mdl.job_done[name])

    model.job_segments = pyo.Constraint(model.JOB_PERIODS, rule=segment_rule)
    model.job_progress = pyo.Constraint([j.name for j in splittable], rule=progress_rule)
    model.job_only_if_done = pyo.Constraint(
        model.JOB_PERIODS, rule=lambda mdl, name, t: mdl.job_running[name, t] <= mdl.job_done[name])

    def job_nodes(mdl, name, t):
        job = by_name[name]
        if job.splittable:
            return job.gang_nodes * mdl.job_running[name, t] if t in job.window() else 0
        return job.gang_nodes * sum(mdl.job_start[name, s] for s in job.starts() if _runs_in(job, s, t))

    model.job_nodes = pyo.Expression(
        model.NODE_TYPES, model.PERIODS,
        rule=lambda mdl, g, t: sum(job_nodes(mdl, j.name, t) for j in jobs if j.node_type == g),
    )
    model.job_value_usd = pyo.Expression(expr=sum(j.value_usd * model.job_done[j.name] for j in jobs))
    model.checkpoint_cost_usd = pyo.Expression(
        expr=sum(j.checkpoint_usd * model.job_segment[j.name, t] for j in splittable for t in j.window()))
    pools.add("training_nodes", lambda g, t: model.job_nodes[g, t])
    pools.add("value_usd", model.job_value_usd)
    pools.add("cost_usd", model.checkpoint_cost_usd)
