"""The generated parts of the docs are fresh, every schema field and every constraint family has its
documentation, and the links between the docs resolve."""

from __future__ import annotations

import difflib
import importlib
import inspect
import re

import pytest
from pydantic import BaseModel

from planner.io.schema import instance as schema
from planner.io.validation import Strict
from planner.model.build import FORMULATIONS
from planner.model.contract import FAMILIES
from planner.report import docs

SCHEMA_MODULES = ("common", "instance", "training", "failures", "scenarios", "margins", "profile", "sweep")


def schema_classes() -> list[type[BaseModel]]:
    """Every record of the schema modules (the published-day files are checked, not documented)."""
    found = []
    for name in SCHEMA_MODULES:
        module = importlib.import_module(f"planner.io.schema.{name}")
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, Strict) and cls is not Strict and cls.__module__ == module.__name__]
    return found


def documented_classes() -> set[type[BaseModel]]:
    """The classes of the `fields` blocks of the DOCS files."""
    text = "".join((docs.ROOT / name).read_text(encoding="utf-8") for name in docs.DOCS)
    return {docs.schema_class(path) for path in re.findall(r"<!-- generated: fields (\S+)", text)}


@pytest.mark.parametrize("name", docs.DOCS)
def test_generated_docs_are_fresh(name):
    text = (docs.ROOT / name).read_text(encoding="utf-8")
    fresh = docs.render(text)
    if fresh != text:
        diff = "".join(list(difflib.unified_diff(text.splitlines(True), fresh.splitlines(True), name,
                                                 f"{name} regenerated"))[:60])
        pytest.fail(f"{name} is stale: run `python -m planner.report.docs`\n{diff}")


@pytest.mark.parametrize("cls", schema_classes(), ids=lambda cls: cls.__name__)
def test_every_field_has_a_description(cls):
    missing = [name for name, field in cls.model_fields.items() if not (field.description or "").strip()]
    assert not missing, (f"{cls.__module__}.{cls.__name__}: fields without a description: {missing}; "
                         "declare them with described(...)")


def test_every_schema_class_is_documented():
    """A class is documented by its own table or, for a base class, by the tables of its subclasses."""
    documented = documented_classes()
    missing = [cls.__name__ for cls in schema_classes()
               if not any(issubclass(d, cls) for d in documented)]
    assert not missing, f"schema classes without a generated table in {docs.DOCS}: {missing}"


def test_type_text_merges_bounds_and_choices():
    def text(cls, field):
        info = cls.model_fields[field]
        return docs.type_text(info.annotation, info.metadata)

    assert text(schema.Horizon, "periods") == "integer, 1 … 100,000"
    assert text(schema.Horizon, "period_hours") == "number, 0 < x ≤ 744"
    assert text(schema.Slo, "ttft_percentile") == "number, 0 < x < 1"
    assert text(schema.Owned, "usd_per_gpu_hour") == "number ≥ 0"
    assert text(schema.Owned, "max_nodes") == "integer ≥ 0 or `null`"
    assert text(schema.Instance, "name") == "name"
    assert text(schema.Instance, "sources") == "list of strings"
    assert text(schema.Instance, "node_types") == "mapping name → mapping (`NodeType`), ≥ 1 entry"
    assert text(schema.NodeType, "owned") == "mapping (`Owned`) or `null`"
    assert text(schema.SolverSettings, "warm_start") == '`"auto"`, `"none"`, `"rounded_lp"` or `"repaired"`'
    assert docs.default_text(schema.Instance.model_fields["horizon"]) == "required"
    assert docs.default_text(schema.Instance.model_fields["solver"]) == "all defaults"
    assert docs.default_text(schema.Owned.model_fields["max_nodes"]) == "`null`"
    assert docs.default_text(schema.SolverSettings.model_fields["formulation"]) == '`"default"`'


def test_render_replaces_only_the_blocks_and_refuses_bad_markers():
    block = "<!-- generated: fields planner.io.schema.instance.Rental -->\nold\n<!-- end generated -->"
    text = f"before\n\n{block}\n\nafter\n"
    fresh = docs.render(text)
    assert fresh.startswith("before\n\n<!-- generated: fields planner.io.schema.instance.Rental -->\n")
    assert fresh.endswith("<!-- end generated -->\n\nafter\n")
    assert "old" not in fresh and "| `max_nodes` |" in fresh
    assert docs.render(fresh) == fresh
    with pytest.raises(ValueError, match="unknown kind"):
        docs.render("<!-- generated: nothing x -->\n<!-- end generated -->")
    with pytest.raises(ValueError, match="no `<!-- end generated -->`"):
        docs.render("<!-- generated: fields planner.io.schema.instance.Rental -->\n")


def test_check_exits_0_when_fresh(capsys):
    assert docs.main(["--check"]) == 0


# -- the model's families ---------------------------------------------------------------------------

FORMULATION_DOC = "docs/formulation.md"


def test_formulation_md_is_a_generated_doc():
    assert FORMULATION_DOC in docs.DOCS


def test_every_family_has_a_generated_section():
    """One `generated: family NAME` block per family of planner/model/families/, each under its own
    heading, and no block for a family that does not exist."""
    text = (docs.ROOT / FORMULATION_DOC).read_text(encoding="utf-8")
    blocks = re.findall(r"^<!-- generated: family (\S+) -->", text, re.MULTILINE)
    package = docs.package_families()
    assert set(package) <= set(FAMILIES)
    missing = [name for name in package if name not in blocks]
    assert not missing, (f"families without a section in {FORMULATION_DOC}: {missing}; add a heading and "
                         "`<!-- generated: family NAME -->` `<!-- end generated -->`, then run `make docs`")
    assert len(blocks) == len(set(blocks)), f"a family has two sections: {blocks}"
    assert set(blocks) <= set(FAMILIES)
    for name in blocks:
        heading = re.search(rf"^#+ .*Family `{name}`\n\n<!-- generated: family {name} -->", text, re.MULTILINE)
        assert heading, f"the block of family {name} does not follow a heading 'Family `{name}`'"


def test_the_formulations_and_pools_are_generated():
    text = (docs.ROOT / FORMULATION_DOC).read_text(encoding="utf-8")
    assert re.search(r"^<!-- generated: formulations -->", text, re.MULTILINE)
    assert re.search(r"^<!-- generated: pools -->", text, re.MULTILINE)
    table = docs.formulations_block("")
    for name, order in FORMULATIONS.items():
        assert f"| `{name}` | " + ", ".join(f"`{f}`" for f in order) + " |" in table


def test_a_family_block_renders_its_contract_and_its_docstring():
    block = docs.family_block("serving_capacity")
    f = FAMILIES["serving_capacity"]
    assert "`planner/model/families/serving_capacity.py`" in block
    assert "| applies to | every instance |" in block
    assert "| exports tables | `units`, `unserved` |" in block
    assert "| contributes to pools | `cost_usd`, `service_shortfalls`, `demand_rows` |" in block
    assert inspect.cleandoc(f.doc) in block
    assert "| applies to | Instances with a TTFT target (`slo.ttft_s`) that some type can meet in some period with demand. |" in docs.family_block("ttft_minimum_units")
    assert docs.family_block("serving_capacity") == block  # stable
    with pytest.raises(ValueError, match="no such family"):
        docs.family_block("no_such_family")


def test_exported_tables_are_declared_in_the_contract():
    """The family block lists the tables a family declares; export_tables checks them."""
    assert FAMILIES["fleet"].tables == ("owned", "rented")
    assert "| exports tables | `training`, `moves`" in docs.family_block("switching")


def test_a_marker_quoted_inside_a_line_is_text():
    text = "Add `<!-- generated: family NAME -->` `<!-- end generated -->` to the doc.\n"
    assert docs.render(text) == text
    block = "<!-- generated: formulations -->\nold\n<!-- end generated -->\n"
    assert "| `default` |" in docs.render(block)


# -- links between the docs ------------------------------------------------------------------------

def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but '-' and '_' dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def headings(path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    return {anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


@pytest.mark.parametrize("name", sorted(p.relative_to(docs.ROOT).as_posix()
                                        for p in (docs.ROOT / "docs").rglob("*.md")))
def test_links_between_the_docs_resolve(name):
    """Every relative link of a doc names an existing file and, for a markdown file, an existing
    heading."""
    path = docs.ROOT / name
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, fragment = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(target)
        elif fragment and linked.suffix == ".md" and fragment not in headings(linked):
            broken.append(target)
    assert not broken, f"{name}: links that do not resolve: {broken}"
