"""The generated parts of the docs are fresh, and every schema field has its documentation."""

from __future__ import annotations

import difflib
import importlib
import inspect
import re

import pytest
from pydantic import BaseModel

from planner.io.schema import instance as schema
from planner.io.validation import Strict
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
    assert text(schema.SolverSettings, "warm_start") == '`"auto"`, `"none"` or `"rounded_lp"`'
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
