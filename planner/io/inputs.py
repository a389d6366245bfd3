"""The inputs of an instance, read and checked: the validated schema and every file it names.

`load_inputs` is the only place an instance's files are read; everything below works on the
`Inputs` it returns, in memory. `vary` changes fields of loaded inputs (typed {dotted path: value}
updates, validated as if written in the file) and re-reads a file only when a path changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import InputError
from .demand import read_demand_csv, read_peaks_csv, read_scenario_csv
from .files import read_yaml_mapping
from .overrides import Override, apply_overrides, apply_updates, attributed
from .profiles import load_profile
from .prompts import read_prompt_lengths
from .reference import Reference, load_reference
from .schema.instance import Instance
from .schema.profile import Profile
from .validation import validate


@dataclass(frozen=True)
class Inputs:
    """A validated instance with the contents of every file it names. Immutable: vary() makes a
    new one."""

    spec: Instance
    path: Path  # the instance file; relative paths in it resolve beside it
    demand: Mapping[str, np.ndarray]  # token column -> [model, period], as read (not scaled)
    profiles: Mapping[tuple[str, str], Profile]  # (served model, node type) -> profile
    scenario_table: Mapping[str, np.ndarray] | None  # token column -> [model, S*T], from scenarios.file
    reference: Reference | None
    prompt_lengths: Mapping[str, np.ndarray] = field(default_factory=dict)  # served model -> lengths (empirical)
    peaks: np.ndarray | None = None  # [model, period] peak-to-mean ratios from demand.peaks_file
    changes: tuple[Override, ...] = ()  # the overrides and updates applied: later errors they explain are theirs

    @property
    def source(self) -> str:
        return str(self.path)

    @property
    def folder(self) -> Path:
        return self.path.parent


def load_inputs(path: str | Path, overrides: Sequence[str] = (), argument: str = "overrides") -> Inputs:
    """Read, override, validate and check an instance file and the files it names. `argument`
    names the overrides in errors. Raises InputError on bad input."""
    path = Path(path)
    raw, changes = apply_overrides(read_yaml_mapping(path), overrides, argument)
    return _inputs(raw, path, changes, None)


def vary(inputs: Inputs, updates: Mapping[str, Any]) -> Inputs:
    """`inputs` with fields changed: {dotted path: typed value}, e.g. {"demand.scale": 0.5}.
    Validated like the file; files are read again only when a path they come from changed."""
    raw, changes = apply_updates(inputs.spec.model_dump(mode="python"), updates)
    return _inputs(raw, inputs.path, changes, inputs)


def _inputs(raw: dict[str, Any], path: Path, changes: Sequence[Override], before: Inputs | None) -> Inputs:
    file = str(path)
    try:
        spec = validate(Instance, raw, file)
        return Inputs(
            spec=spec,
            path=path,
            profiles=_profiles(spec, path, before),
            demand=_demand(spec, path, before),
            scenario_table=_scenario_table(spec, path, before),
            reference=_reference(spec, path, before),
            prompt_lengths=_prompt_lengths(spec, path, before),
            peaks=_peaks(spec, path, before),
            changes=(*(before.changes if before is not None else ()), *changes),
        )
    except InputError as exc:
        raise attributed(exc, changes, file) from None


def attributed_to_changes(error: InputError, inputs: Inputs) -> InputError:
    """An error found after loading (compiling the inputs), as the override's or update's that
    explains it."""
    return attributed(error, inputs.changes, inputs.source)


def _field(spec: Instance, dotted: str) -> Any:
    """The value of a dotted field of the instance."""
    node: Any = spec
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def _same(before: Inputs | None, spec: Instance, *fields: str) -> bool:
    """Whether `before` read its files with the same values of these (dotted) fields."""
    if before is None:
        return False
    return all(_field(before.spec, f) == _field(spec, f) for f in fields)


def _profiles(spec: Instance, path: Path, before: Inputs | None) -> dict[tuple[str, str], Profile]:
    """Every deployment's profile; cross-checked against the node types."""
    file = str(path)
    models_dir = (path.parent / spec.profiles_dir).resolve()
    cached = dict(before.profiles) if before is not None and _same(before, spec, "profiles_dir") else {}
    profiles = {}
    for m, model in spec.served_models.items():
        for g, deployment in model.deployments.items():
            field_name = f"served_models.{m}.deployments.{g}"
            if g not in spec.node_types:
                raise InputError(file, field_name, g, f"unknown node type; the instance has {sorted(spec.node_types)}")
            known = next((p for p in cached.values() if p.name == deployment.profile), None)
            profile = known or load_profile(models_dir, deployment.profile, file, field_name + ".profile")
            if profile.gpus_per_node != spec.node_types[g].gpus_per_node:
                raise InputError(file, f"node_types.{g}.gpus_per_node", spec.node_types[g].gpus_per_node,
                                 f"profile {profile.name} has {profile.gpus_per_node} GPUs per node")
            profiles[(m, g)] = profile
    return profiles


def _demand(spec: Instance, path: Path, before: Inputs | None) -> Mapping[str, np.ndarray]:
    if before is not None and _same(before, spec, "demand.file", "horizon.periods") \
            and tuple(before.spec.served_models) == tuple(spec.served_models):
        return before.demand
    demand_path = path.parent / spec.demand.file
    if not demand_path.is_file():
        raise InputError(str(path), "demand.file", spec.demand.file, f"file not found: {demand_path}")
    return read_demand_csv(demand_path, tuple(spec.served_models), spec.horizon.periods)


def _peaks(spec: Instance, path: Path, before: Inputs | None) -> np.ndarray | None:
    return _model_table(spec, path, before, "demand.peaks_file", "peaks", read_peaks_csv)


def _scenario_table(spec: Instance, path: Path, before: Inputs | None) -> Mapping[str, np.ndarray] | None:
    return _model_table(spec, path, before, "scenarios.file", "scenario_table", read_scenario_csv)


def _model_table(spec: Instance, path: Path, before: Inputs | None, field_name: str, kept: str,
                 read: Callable[[Path, Sequence[str], int], Any]) -> Any:
    """An optional table per served model and period, named by the dotted field `field_name`
    (a path relative to the instance): read, or kept from `before` (its attribute `kept`) when
    neither the path, the periods nor the served models changed."""
    node = _field(spec, field_name)
    if node is None:
        return None
    if before is not None and _same(before, spec, field_name, "horizon.periods") \
            and tuple(before.spec.served_models) == tuple(spec.served_models) and getattr(before, kept) is not None:
        return getattr(before, kept)
    table_path = path.parent / node
    if not table_path.is_file():
        raise InputError(str(path), field_name, node, f"file not found: {table_path}")
    return read(table_path, tuple(spec.served_models), spec.horizon.periods)


def _prompt_lengths(spec: Instance, path: Path, before: Inputs | None) -> dict[str, np.ndarray]:
    """Each served model's prompt lengths, for an empirical prompt shape (read again only when
    its file or column changed)."""
    out = {}
    for m, model in spec.served_models.items():
        workload = model.workload
        if workload is None or workload.prompt_tokens_file is None:
            continue
        if before is not None and m in before.prompt_lengths and m in before.spec.served_models \
                and before.spec.served_models[m].workload is not None \
                and (before.spec.served_models[m].workload.prompt_tokens_file,
                     before.spec.served_models[m].workload.prompt_tokens_column) \
                == (workload.prompt_tokens_file, workload.prompt_tokens_column):
            out[m] = before.prompt_lengths[m]
            continue
        file = path.parent / workload.prompt_tokens_file
        if not file.is_file():
            raise InputError(str(path), f"served_models.{m}.workload.prompt_tokens_file", workload.prompt_tokens_file,
                             f"file not found: {file}")
        out[m] = read_prompt_lengths(file, workload.prompt_tokens_column)
    return out


def _reference(spec: Instance, path: Path, before: Inputs | None) -> Reference | None:
    if spec.reference is None:
        return None
    if before is not None and _same(before, spec, "reference"):
        return before.reference
    reference = (path.parent / spec.reference).resolve()
    if not reference.is_file():
        raise InputError(str(path), "reference", spec.reference, f"file not found: {reference}")
    return load_reference(reference)
