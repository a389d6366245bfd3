"""The family contract: what a constraint family declares, and the registry the builder reads.

A family is one module of planner/model/families/ with one `add_<family>(model, data)`
function, decorated by `family(...)`. The decorator records, beside the function:

- `applies(data)`: whether the instance needs the family at all (training families without
  training, the TTFT floor without a TTFT target...). A family that does not apply adds nothing.
  `when_contributed`: pools that must hold terms for it to apply (switching moves the nodes that
  training families put in `training_nodes`, whichever they are).
- `needs`: components of earlier families it reads (always-present ones only: optional
  families are reached through pools, never by name).
- `provides`: every component it declares. The builder checks the list against what the
  function actually added, so the list is the family's true interface.
- `contributes` / `consumes`: the pools it adds terms to or reads. A pool is a named list of
  terms that families contribute for another family to combine (costs for the objective, nodes
  held away from serving for the node balance, ...); `POOLS` says what each holds. A consumer
  comes after every contributor in a formulation (checked when a formulation is declared); a
  family sees only the pools it declares (FamilyPools); terms that no applied family consumes
  are an error after the build, but in OPTIONAL_POOLS.
- `tables` and `exports(model, data)`: the names of its result tables, and the function that
  returns them as tidy DataFrames after a solve (checked: exactly the declared names).
- `summary(tables, data)`: entries it adds to summary.json ({key: JSON-ready value}), from the
  tables; a family that does not apply adds none, so other instances' summaries do not change.
- `start(model)`: for the rounded-LP warm start, the (variable, value) pairs it fixes once the
  LP relaxation is loaded (round up, or "do nothing" for optional activities).
- `repair(units, data)`: for the repaired warm start, the serving units of a plan solved without
  the family, changed into units that satisfy the family's rows (unit commitment: units formed
  ahead and held up long enough).

The math of a family lives in its function's docstring; docs/formulation.md's family sections
are generated from it (planner/report/docs.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyomo.environ as pyo

from ..errors import ContractError
from ..physics.data import PlanningData

#: Pools: name -> what a contribution is. Terms are combined by the (single) consumer.
POOLS: Mapping[str, str] = {
    "cost_usd": "a scalar expression in USD, added to the objective",
    "value_usd": "a scalar expression in USD, subtracted from the objective",
    "nodes_off_serving": "a function (g, t) -> expression: nodes of the fleet held away from serving "
                         "(training, moving back, spares); the node balance counts them",
    "nodes_on_hand": "a function (g, t) -> expression: nodes of the fleet beyond the owned F_g and rented "
                     "R_{g,t} (reserved contracts); the node balance counts them",
    "training_nodes": "a function (g, t) -> expression: nodes in training; switching counts their moves",
    "service_shortfalls": "a pair (indexed variable, index -> period): shares in [0, 1] by which the SLO is "
                          "missed; the chance constraint caps them",
    "demand_rows": "a mapping (m, r, t) -> constraint whose right-hand side grows with that demand; "
                   "their duals give the marginal cost of a token",
}
#: Pools whose terms may go unread: the chance constraint applies only with scenarios.slo_share,
#: and the demand rows are read after a solve (planner/model/duals.py), not by a family. Terms in
#: any other pool that no applied family consumes are an error (they would silently not count).
OPTIONAL_POOLS = frozenset({"service_shortfalls", "demand_rows"})


def always(data: PlanningData) -> bool:
    return True


@dataclass(frozen=True)
class Family:
    """One constraint family and its declared contract (see the module docstring)."""

    name: str
    add: Callable[[pyo.ConcreteModel, PlanningData, Pools], None]
    applies: Callable[[PlanningData], bool] = always
    needs: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    contributes: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()  # the tables `exports` returns, exactly
    exports: Callable[[pyo.ConcreteModel, PlanningData], dict[str, pd.DataFrame]] | None = None
    start: Callable[[pyo.ConcreteModel], Iterable[tuple[Any, float]]] | None = None
    summary: Callable[[Mapping[str, pd.DataFrame], PlanningData], dict[str, Any]] | None = None
    when_contributed: tuple[str, ...] = ()  # pools that must hold terms for the family to apply
    repair: Callable[[pd.DataFrame, PlanningData], pd.DataFrame] | None = None

    @property
    def doc(self) -> str:
        return self.add.__doc__ or ""

    def applies_to(self, data: PlanningData, pools: Pools) -> bool:
        """Whether the family adds anything: its predicate holds and every pool it waits for has terms."""
        return self.applies(data) and all(pools[p] for p in self.when_contributed)


#: Every family, by name, in the order their modules registered.
FAMILIES: dict[str, Family] = {}


def family(*, applies: Callable[[PlanningData], bool] = always, needs: Iterable[str] = (),
           provides: Iterable[str] = (), contributes: Iterable[str] = (), consumes: Iterable[str] = (),
           tables: Iterable[str] = (), exports=None, start=None, summary=None,
           when_contributed: Iterable[str] = (), repair=None):
    """Register `add_<name>(model, data, pools)` as the family <name> with its contract."""
    def register(add):
        name = add.__name__.removeprefix("add_")
        unknown = [p for p in (*contributes, *consumes, *when_contributed) if p not in POOLS]
        if unknown:
            raise ContractError(f"family {name}: unknown pools {unknown}; the pools are {sorted(POOLS)}")
        if bool(tables) != (exports is not None):
            raise ContractError(f"family {name}: `tables` names what `exports` returns; give both or neither")
        FAMILIES[name] = Family(name=name, add=add, applies=applies, needs=tuple(needs), provides=tuple(provides),
                                contributes=tuple(contributes), consumes=tuple(consumes), tables=tuple(tables),
                                exports=exports, start=start, summary=summary,
                                when_contributed=tuple(when_contributed), repair=repair)
        return add
    return register


@dataclass
class Pools:
    """The terms families contribute while a model is built, by pool (see POOLS)."""

    terms: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name in POOLS})
    contributors: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in POOLS})

    def add(self, pool: str, term: Any, by: str = "") -> None:
        self.terms[pool].append(term)
        self.contributors[pool].append(by)

    def __getitem__(self, pool: str) -> list[Any]:
        return self.terms[pool]

    def view(self, f: Family) -> FamilyPools:
        return FamilyPools(self, f)


@dataclass(frozen=True)
class FamilyPools:
    """What a family sees of the pools: it adds only to those it contributes to and reads only
    those it consumes, as its contract declares."""

    pools: Pools
    family: Family

    def add(self, pool: str, term: Any) -> None:
        if pool not in self.family.contributes:
            raise ContractError(f"family {self.family.name} adds to pool {pool!r} without declaring it in `contributes`")
        self.pools.add(pool, term, self.family.name)

    def __getitem__(self, pool: str) -> list[Any]:
        if pool not in self.family.consumes:
            raise ContractError(f"family {self.family.name} reads pool {pool!r} without declaring it in `consumes`")
        return self.pools[pool]


def check_pools_consumed(families: Iterable[Family], pools: Pools) -> None:
    """After a build: every pool with terms has an applied consumer (unless it is optional)."""
    consumers = {p for f in families for p in f.consumes}
    for pool, terms in pools.terms.items():
        if terms and pool not in consumers and pool not in OPTIONAL_POOLS:
            raise ContractError(f"pool {pool!r} holds terms of {sorted(set(pools.contributors[pool]))} but no family "
                                "in the formulation consumes it: they would not count")


def check_formulation(name: str, families: tuple[str, ...]) -> None:
    """A formulation's families exist, every need is provided earlier, and every pool is
    contributed to before it is consumed. Raises ContractError."""
    provided: set[str] = set()
    consumed: dict[str, str] = {}
    for position, family_name in enumerate(families):
        if family_name not in FAMILIES:
            raise ContractError(f"formulation {name}: no family {family_name!r}; known: {sorted(FAMILIES)}")
        f = FAMILIES[family_name]
        missing = [n for n in f.needs if n not in provided]
        if missing:
            raise ContractError(f"formulation {name}: family {family_name} needs {missing}, "
                                "which no earlier family provides")
        late = [p for p in f.contributes if p in consumed]
        if late:
            raise ContractError(f"formulation {name}: family {family_name} contributes to {late} after "
                                f"{consumed[late[0]]} consumed it")
        provided.update(f.provides)
        consumed.update({p: family_name for p in f.consumes})


def component_names(model: pyo.ConcreteModel) -> set[str]:
    return {c.local_name for c in model.component_objects(descend_into=False)}


def add_family(f: Family, model: pyo.ConcreteModel, data: PlanningData, pools: Pools) -> None:
    """Call the family and hold it to its contract: its needs exist, and it declares exactly the
    components it provides."""
    before = component_names(model)
    missing = [n for n in f.needs if n not in before]
    if missing:
        raise ContractError(f"family {f.name} needs {missing}, which the model does not have")
    f.add(model, data, pools.view(f))
    added = component_names(model) - before
    # Pyomo adds an index set for each multi-set component ('serving_capacity_index'): not declared.
    added = {c for c in added if not (c.endswith("_index") and c[: -len("_index")] in added)}
    if added != set(f.provides):
        raise ContractError(f"family {f.name} declared {sorted(f.provides)} but added {sorted(added)}")


def summary_entries(families: Iterable[Family], tables: Mapping[str, pd.DataFrame],
                    data: PlanningData) -> dict[str, Any]:
    """Every applied family's summary.json entries, in family order (a key belongs to one family)."""
    entries: dict[str, Any] = {}
    for f in families:
        for key, value in (f.summary(tables, data) if f.summary is not None else {}).items():
            if key in entries:
                raise ContractError(f"family {f.name} adds summary entry {key!r}, which another family adds")
            entries[key] = value
    return entries


def export_tables(families: Iterable[Family], model: pyo.ConcreteModel, data: PlanningData) -> dict[str, pd.DataFrame]:
    """Every applied family's result tables, merged (a table name belongs to one family)."""
    tables: dict[str, pd.DataFrame] = {}
    for f in families:
        if f.exports is None:
            continue
        exported = f.exports(model, data)
        if set(exported) != set(f.tables):
            raise ContractError(f"family {f.name} declared tables {sorted(f.tables)} but exported {sorted(exported)}")
        for name, table in exported.items():
            if name in tables:
                raise ContractError(f"family {f.name} exports table {name!r}, which another family exports")
            tables[name] = table
    return tables
