"""The architecture holds: imports flow one way through the layers, nothing below the model
reads files, families reach each other only through their contracts, and a family can be built
and solved on hand-made data without any file."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest

from planner.errors import ContractError
from planner.io.schema.instance import SolverSettings
from planner.model import contract
from planner.model.build import FORMULATIONS, build_model
from planner.model.contract import FAMILIES, check_formulation, family
from planner.model.solve import solve
from planner.physics.data import NodeTypeData, Penalties, PlanningData
from planner.physics.frozen import FrozenMap, frozen_array

PACKAGE = Path(__file__).resolve().parents[1] / "planner"
#: Layers in the order data flows; a module may import its own layer and the ones before it.
LAYERS = ["errors", "units", "io", "physics", "model", "results", "studies", "report", "api", "cli"]
FILE_READERS = {"open", "read_text", "read_bytes", "read_csv", "read_yaml_mapping", "load_reference",
                "load_profile", "read_demand_csv", "read_scenario_csv", "load_inputs"}


def modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py")}


def imported(name: str, path: Path) -> list[tuple[str, bool]]:
    """(planner module imported, at module level?) for every import in the file."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    top_level = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        known = modules()
        for target in targets:
            if target in known:
                out.append((target, id(node) in top_level))
    return out


def layer(module: str) -> int:
    part = module.split(".")[1] if "." in module else "api"
    return LAYERS.index(part)


def test_no_import_circle():
    graph = {name: {t for t, top in imported(name, path) if top and t != name} for name, path in modules().items()}
    visiting, done = set(), set()

    def visit(node, trail):
        if node in done:
            return
        assert node not in visiting, "import circle: " + " -> ".join([*trail, node])
        visiting.add(node)
        for target in graph.get(node, ()):
            visit(target, [*trail, node])
        visiting.discard(node)
        done.add(node)

    for name in graph:
        visit(name, [])


def test_imports_flow_one_way_through_the_layers():
    wrong = [(name, target) for name, path in modules().items() if name != "planner"
             for target, _ in imported(name, path) if target != "planner" and layer(target) > layer(name)]
    assert not wrong, f"modules importing a layer above their own: {wrong}"


#: What a study reads, through io: a sweep loads the base instance its spec names, and its result
#: store reads back its own case records.
STORE_READS = {("planner.studies.sweep", "read_text"), ("planner.studies.sweep", "load_inputs")}


def test_nothing_below_the_reports_reads_a_file_but_io():
    """physics, model, results and studies read no input file: what they need is in the loaded
    inputs or the compiled data (the sweep's own result store aside)."""
    readers = []
    for name, path in modules().items():
        if name.split(".")[1:2] and name.split(".")[1] in ("physics", "model", "results", "studies"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call):
                    called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                    if called in FILE_READERS and (name, called) not in STORE_READS:
                        readers.append((name, called))
    assert not readers, readers


def test_no_family_probes_another_by_name():
    """No hasattr in the model layer or the results, no getattr in the model layer: a family
    reads only what it declares it needs, and pools."""
    probes = []
    for name, path in modules().items():
        banned = ("hasattr", "getattr") if name.startswith("planner.model") else ("hasattr",)
        if name.startswith(("planner.model", "planner.results")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") in banned:
                    probes.append((name, node.lineno))
    assert not probes, probes


def test_every_formulation_keeps_the_contracts():
    for name, order in FORMULATIONS.items():
        check_formulation(name, order)
        for f in (FAMILIES[n] for n in order):
            assert f.doc.strip(), f"family {f.name} has no docstring"


def test_a_consumer_before_its_contributor_is_refused():
    with pytest.raises(ContractError, match="contributes to"):
        check_formulation("broken", ("sets", "fleet", "objective", "serving_capacity", "node_balance"))
    with pytest.raises(ContractError, match="needs"):
        check_formulation("broken", ("fleet", "sets"))


# ---------------------------------------------------------------------------------------------
# A family on hand-made data: no file anywhere
# ---------------------------------------------------------------------------------------------
def hand_made_data(output_mtok: list[float], decode_unit_mtok: float = 0.36, rental_usd_per_node_hour: float = 1.0,
                   penalty: float = 1000.0) -> PlanningData:
    """One served model 'toy' on one rented node type 'gpu' (1-node units), decode demand only."""
    periods = len(output_mtok)
    output = np.asarray(output_mtok, dtype=float) * 1e6
    zero = frozen_array(np.zeros(periods))
    return PlanningData(
        name="hand-made", source="(memory)", periods=periods, period_hours=1.0,
        period_starts=pd.date_range("2025-01-01T00:00:00+00:00", periods=periods, freq="h"),
        node_types=(NodeTypeData("gpu", 1, 0.0, 0, 0, rental_usd_per_node_hour, None, ownable=False),),
        served_models=("toy",), deployments=(("toy", "gpu"),),
        unit_nodes=FrozenMap({("toy", "gpu", "prefill"): 1, ("toy", "gpu", "decode"): 1}),
        unit_capacity_mtok=FrozenMap({("toy", "gpu", "prefill"): frozen_array(np.full(periods, 3.6)),
                                      ("toy", "gpu", "decode"): frozen_array(np.full(periods, decode_unit_mtok))}),
        decode_tokens_per_s_per_node=FrozenMap({("toy", "gpu"): decode_unit_mtok * 1e6 / 3600}),
        min_prefill_units=FrozenMap({("toy", "gpu"): zero}),
        demand_tokens=FrozenMap({"input_tokens": frozen_array([np.zeros(periods)]),
                                 "input_cache_hit_tokens": frozen_array([np.zeros(periods)]),
                                 "output_tokens": frozen_array([output])}),
        demand_mtok=FrozenMap({("toy", "prefill"): zero, ("toy", "decode"): frozen_array(output / 1e6)}),
        prices_usd_per_mtok=FrozenMap({k: frozen_array([np.zeros(periods)])
                                       for k in ("input_cache_hit", "input_cache_miss", "output")}),
        penalties=Penalties(penalty, penalty), solver=SolverSettings(),
    )


def test_serving_capacity_on_hand_made_data():
    """Decode demand 0.5, 0.7 and 0.1 M tokens; a rented 1-node unit at $1 an hour serves 0.36 M.
    Units: ceil(0.5/0.36) = 2, ceil(0.7/0.36) = 2, ceil(0.1/0.36) = 1: $5, nothing unserved."""
    result = solve(hand_made_data([0.5, 0.7, 0.1]))
    assert result.status == "optimal"
    assert result.objective_usd == pytest.approx(5.0)
    decode = result.tables["units"].query("role == 'decode'")["units"].tolist()
    assert decode == [2, 2, 1]


def test_a_penalty_below_a_unit_leaves_the_demand_unserved():
    """0.1 M tokens at $1,000 per M unserved is $100, more than a $1 unit: served. At $5 per M it
    is $0.50, less than the unit: left unserved, objective $0.50."""
    assert solve(hand_made_data([0.1])).objective_usd == pytest.approx(1.0)
    cheap = solve(hand_made_data([0.1], penalty=5.0))
    assert cheap.objective_usd == pytest.approx(0.5)
    assert cheap.tables["units"]["units"].sum() == 0


def test_a_new_family_is_one_module_and_its_contract(monkeypatch):
    """A family registered from outside the package (here, a test) joins a formulation, adds a
    cost through its pool and exports a table; its declared components are checked. A fee of
    $0.25 per decode unit-hour on 0.5 and 0.1 M tokens (2 and 1 units of $1): $3 + $0.75."""
    def fee_table(model, data):
        return {"unit_fees": pd.DataFrame({"usd": [pyo.value(model.unit_fee_usd)]})}

    @family(needs=("serving_units", "PERIODS"), provides=("unit_fee_usd",), contributes=("cost_usd",),
            tables=("unit_fees",), exports=fee_table)
    def add_unit_fee(model, data, pools):
        """**Cost** unit_fee_usd = 0.25 sum_t x_{toy,gpu,decode,t} (pool cost_usd)."""
        model.unit_fee_usd = pyo.Expression(expr=0.25 * sum(model.serving_units["toy", "gpu", "decode", t]
                                                             for t in model.PERIODS))
        pools.add("cost_usd", model.unit_fee_usd)

    try:
        order = FORMULATIONS["default"]
        monkeypatch.setitem(FORMULATIONS, "fees", (*order[:3], "unit_fee", *order[3:]))
        data = hand_made_data([0.5, 0.1])
        result = solve(data, contract_options("fees"))
        assert result.objective_usd == pytest.approx(3.75)
        assert result.tables["unit_fees"]["usd"].item() == pytest.approx(0.75)
        assert "unit_fee" in result.families

        @family(provides=("declared_but_missing",))
        def add_liar(model, data, pools):
            """Declares a component it does not add."""
        monkeypatch.setitem(FORMULATIONS, "liar", (*order[:3], "liar", *order[3:]))
        with pytest.raises(ContractError, match="declared"):
            build_model(data, "liar")

        @family()
        def add_sneak(model, data, pools):
            """Adds to a pool it does not declare."""
            pools.add("cost_usd", 1.0)
        monkeypatch.setitem(FORMULATIONS, "sneak", (*order[:3], "sneak", *order[3:]))
        with pytest.raises(ContractError, match="without declaring it"):
            build_model(data, "sneak")

        @family(contributes=("training_nodes",))
        def add_lost_nodes(model, data, pools):
            """Puts 50 nodes in training where no switching family will count them."""
            pools.add("training_nodes", lambda g, t: 50)
        no_switching = tuple(f for f in order if f != "switching")
        monkeypatch.setitem(FORMULATIONS, "lost", (*no_switching[:3], "lost_nodes", *no_switching[3:]))
        with pytest.raises(ContractError, match="no family in the formulation consumes it"):
            build_model(data, "lost")
    finally:
        for name in ("unit_fee", "liar", "sneak", "lost_nodes"):
            FAMILIES.pop(name, None)


def contract_options(formulation: str):
    from planner.model.solve import SolverOptions

    return SolverOptions(formulation=formulation)


def test_pools_are_named_in_one_place():
    assert set(contract.POOLS) == {"cost_usd", "value_usd", "nodes_off_serving", "nodes_on_hand", "training_nodes",
                                   "service_shortfalls", "demand_rows"}
