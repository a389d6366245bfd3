"""Generated parts of the docs: field tables rendered from the schema's Field descriptions, and the
model's families rendered from their contracts and docstrings.

A doc file holds blocks between two markers:

    <!-- generated: fields planner.io.schema.instance.Horizon -->
    (generated text)
    <!-- end generated -->

The word after `generated:` picks a generator in GENERATORS, which is called with the rest of the
marker and returns the block's text; `render` replaces every block by it. The kinds:

- `fields dotted.path.Class [omit=a,b]`: a class's docstring (first line) and a table of its
  fields: type and bounds from the annotation, unit and source from `described`, the default, and
  the description; `omit=a,b` leaves fields out (documented elsewhere, e.g. those every margins
  step inherits).
- `family NAME`: a registered family (planner/model/contract.py, FAMILIES): its module's first
  line, its contract (applies to, needs, provides, pools contributed to and consumed, exported
  tables, warm-start hook) and its add_NAME docstring, the family's math, as markdown. The
  exported table names come from the exports function's docstring (a line "Tables: `a`, `b`") or
  else from the dict literal it returns; no model is built.
- `formulations`: the FORMULATIONS table (planner/model/build.py), formulation -> families.
- `pools`: the pools (POOLS), what a term is, the families that contribute and the one that
  consumes.

    python -m planner.report.docs           rewrites the DOCS files in place
    python -m planner.report.docs --check   exits 1 naming every DOCS file that is stale
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ..io.schema.common import NAME_PATTERN

ROOT = Path(__file__).resolve().parents[2]
#: The files with generated blocks, relative to the repository root.
DOCS = ("docs/formats.md", "docs/formulation.md")

#: A block: its start marker at the beginning of a line (a marker quoted inside a line is text).
BLOCK = re.compile(r"^(<!-- generated: (\w+) *([^\n]*?) *-->\n)(.*?)(<!-- end generated -->)",
                   re.DOTALL | re.MULTILINE)
START = re.compile(r"^<!-- generated:", re.MULTILINE)

_BASIC = {int: "integer", float: "number", str: "string", bool: "boolean", Any: "any value"}
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def schema_class(path: str) -> type[BaseModel]:
    """`planner.io.schema.instance.Horizon` -> the class."""
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        raise ValueError(f"{path}: not a schema class")
    return cls


# -- the type column -----------------------------------------------------------------------------

def _number(value: float) -> str:
    if value == int(value):
        whole = int(value)
        if abs(whole) >= 10**6 and re.fullmatch(r"10*", str(abs(whole))):
            return ("−" if whole < 0 else "") + "10" + str(len(str(abs(whole))) - 1).translate(_SUPERSCRIPT)
        return f"{whole:,}"
    return f"{value:g}"


def _bounds(metadata: list[Any]) -> str:
    """' ≥ 0', ', 1 … 100,000', ', 0 < x < 1' or '' from annotated-types constraints."""
    found = {key: getattr(m, key) for m in metadata for key in ("ge", "gt", "le", "lt")
             if getattr(m, key, None) is not None}
    low = ("≥", found["ge"]) if "ge" in found else (">", found["gt"]) if "gt" in found else None
    high = ("≤", found["le"]) if "le" in found else ("<", found["lt"]) if "lt" in found else None
    if low and high:
        if low[0] == "≥" and high[0] == "≤":
            return f", {_number(low[1])} … {_number(high[1])}"
        return f", {_number(low[1])} {'≤' if low[0] == '≥' else '<'} x {high[0]} {_number(high[1])}"
    bound = low or high
    return f" {bound[0]} {_number(bound[1])}" if bound else ""


def _min_entries(metadata: list[Any]) -> str:
    least = max((getattr(m, "min_length", 0) or 0 for m in metadata), default=0)
    return f", ≥ {least:,} entr{'y' if least == 1 else 'ies'}" if least else ""


def _plural(text: str) -> str:
    if text.startswith("any value"):
        return "any values" + text[len("any value"):]
    word, _, rest = text.partition(" ")
    return f"{word}s {rest}".rstrip()


def type_text(annotation: Any, metadata: list[Any] = ()) -> str:
    """The type column: 'integer, 1 … 100,000', 'name', 'number > 0 or `null`', 'list of strings',
    'mapping name → mapping (`Deployment`)', '`"a"` or `"b"`'."""
    metadata = list(metadata)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        inner, *extra = args
        return type_text(inner, [m for e in extra for m in (e.metadata if isinstance(e, FieldInfo) else [e])]
                         + metadata)
    if origin in (Union, types.UnionType):
        choices = [a for a in args if a is not type(None)]
        if len(choices) == 1:
            inner = type_text(choices[0], metadata)
            return f"{inner}{',' if ',' in inner else ''} or `null`"
        return " or ".join(type_text(a) for a in args)
    if origin is Literal:
        quoted = [f"`{json.dumps(a)}`" for a in args]
        return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]
    if origin is list:
        return f"list of {_plural(type_text(args[0]))}{_min_entries(metadata)}"
    if origin is dict:
        return f"mapping {type_text(args[0])} → {type_text(args[1])}{_min_entries(metadata)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"mapping (`{annotation.__name__}`)"
    if annotation not in _BASIC:
        raise ValueError(f"no type text for {annotation!r}")
    patterns = [getattr(m, "pattern", None) for m in metadata if getattr(m, "pattern", None)]
    if annotation is str and patterns:
        return "name" if patterns == [NAME_PATTERN] else f"string matching `{patterns[0]}`"
    return _BASIC[annotation] + _bounds(metadata) + (_min_entries(metadata) if annotation is str else "")


# -- the other columns ---------------------------------------------------------------------------

def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "all defaults"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def meaning_text(cls: type[BaseModel], name: str, field: FieldInfo) -> str:
    if not (field.description or "").strip():
        raise ValueError(f"{cls.__module__}.{cls.__name__}.{name} has no description; give it one with described()")
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    source = extra.get("source")
    return field.description + (f" Source: {source.rstrip('.')}." if source else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def fields_table(cls: type[BaseModel], omit: tuple[str, ...] = ()) -> str:
    """The markdown table of a schema class's fields."""
    unknown = sorted(set(omit) - set(cls.model_fields))
    if unknown:
        raise ValueError(f"{cls.__name__} has no fields {unknown} to omit")
    rows = ["| field | type | unit | default | meaning |", "|---|---|---|---|---|"]
    for name, field in cls.model_fields.items():
        if name in omit:
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        cells = (f"`{name}`", type_text(field.annotation, field.metadata), extra.get("unit") or "–",
                 default_text(field), meaning_text(cls, name, field))
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows) + "\n"


def fields_block(argument: str) -> str:
    """`fields dotted.path.Class [omit=a,b]`: the class docstring's first line and its field table."""
    path, *options = argument.split()
    omit: tuple[str, ...] = ()
    for option in options:
        key, _, value = option.partition("=")
        if key != "omit" or not value:
            raise ValueError(f"fields {argument}: unknown option {option!r} (only omit=a,b)")
        omit = tuple(value.split(","))
    cls = schema_class(path)
    doc = cls.__dict__.get("__doc__") or ""
    intro = doc.strip().splitlines()[0] if doc.strip() else ""
    return (f"{intro}\n\n" if intro else "") + fields_table(cls, omit) + "\n"


# -- the model's families ------------------------------------------------------------------------

def _registry():
    """(FORMULATIONS, FAMILIES, POOLS), every family module imported (planner.model.build does)."""
    from ..model.build import FORMULATIONS
    from ..model.contract import FAMILIES, POOLS

    return FORMULATIONS, FAMILIES, POOLS


def package_families() -> list[str]:
    """The families of planner/model/families/ (not one a test registers), in formulation order:
    first as the formulations list them, then any other by name."""
    formulations, families, _ = _registry()
    from ..model import families as package

    ours = {name for name, f in families.items() if f.add.__module__.startswith(package.__name__ + ".")}
    ordered = [name for order in formulations.values() for name in order if name in ours]
    return list(dict.fromkeys(ordered + sorted(ours)))


def _codes(names) -> str:
    return ", ".join(f"`{n}`" for n in names) if names else "–"


def _first_line(function) -> str:
    doc = inspect.getdoc(function) or ""
    return doc.splitlines()[0].strip() if doc.strip() else ""


def applies_text(applies) -> str:
    """'every instance', the predicate's docstring (first line), or its name."""
    from ..model.contract import always

    if applies is always:
        return "every instance"
    return _first_line(applies) or f"instances for which `{applies.__name__}(data)` is true"


def family_block(argument: str) -> str:
    """`family NAME`: the module's first line, the contract, and the add_NAME docstring."""
    _, families, _ = _registry()
    name = argument.strip()
    if name not in families:
        raise ValueError(f"family {name!r}: no such family; the families are {sorted(families)}")
    f = families[name]
    module = sys.modules[f.add.__module__]
    where = module.__name__.replace(".", "/") + ".py"  # from the name: the same wherever it is installed
    summary = (inspect.getdoc(module) or "").strip().splitlines()
    applies = applies_text(f.applies)
    if f.when_contributed:
        waits = " and ".join(f"pool `{p}` holds terms" for p in f.when_contributed)
        applies = waits if applies == "every instance" else f"{applies}; {waits}"
    rows = [("applies to", applies),
            ("needs", _codes(f.needs)),
            ("provides", _codes(f.provides)),
            ("contributes to pools", _codes(f.contributes)),
            ("consumes pools", _codes(f.consumes))]
    if f.exports is not None:
        about = _first_line(f.exports)
        rows.append(("exports tables", _codes(f.tables) + (f": {about}" if about else "")))
    else:
        rows.append(("exports tables", "–"))
    rows.append(("warm start", (_first_line(f.start) or f"`{f.start.__name__}`") if f.start is not None else "–"))
    rows.append(("summary.json entries", _first_line(f.summary) if f.summary is not None else "–"))
    table = "\n".join(["| contract | |", "|---|---|"] + [f"| {key} | {_cell(value)} |" for key, value in rows])
    doc = inspect.cleandoc(f.doc)
    if not doc:
        raise ValueError(f"family {name}: add_{name} has no docstring (the family's math)")
    intro = f"{summary[0]} " if summary else ""
    return f"{intro}(`add_{name}` in `{where}`)\n\n{table}\n\n{doc}\n\n"


def formulations_block(argument: str) -> str:
    """`formulations`: formulation -> its families, in order."""
    if argument.strip():
        raise ValueError(f"formulations takes no argument, not {argument!r}")
    formulations, _, _ = _registry()
    rows = ["| formulation | families, in order |", "|---|---|"]
    rows += [f"| `{name}` | {_codes(order)} |" for name, order in formulations.items()]
    return "\n".join(rows) + "\n\n"


def pools_block(argument: str) -> str:
    """`pools`: each pool, what a term is, its contributors and its consumer."""
    if argument.strip():
        raise ValueError(f"pools takes no argument, not {argument!r}")
    _, families, pools = _registry()
    order = package_families()
    rows = ["| pool | a term is | contributed by | consumed by |", "|---|---|---|---|"]
    for pool, term in pools.items():
        contributors = [n for n in order if pool in families[n].contributes]
        consumers = [n for n in order if pool in families[n].consumes]
        rows.append(f"| `{pool}` | {_cell(term)} | {_codes(contributors)} | {_codes(consumers)} |")
    return "\n".join(rows) + "\n\n"


#: Kinds of generated block: the word after `generated:` -> a function of the rest of the marker.
GENERATORS: dict[str, Callable[[str], str]] = {
    "fields": fields_block,
    "family": family_block,
    "formulations": formulations_block,
    "pools": pools_block,
}


def render(text: str) -> str:
    """`text` with the content of every generated block replaced by what its generator gives now."""
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        count += 1
        start, kind, argument, _, end = match.groups()
        if kind not in GENERATORS:
            raise ValueError(f"{match.group(1).strip()}: unknown kind {kind!r}; the kinds are {sorted(GENERATORS)}")
        return start + GENERATORS[kind](argument.strip()) + end

    rendered = BLOCK.sub(replace, text)
    if count != len(START.findall(text)):
        raise ValueError("a `<!-- generated: ... -->` marker has no `<!-- end generated -->` after it")
    return rendered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planner.report.docs",
                                     description="Regenerate the generated blocks of " + ", ".join(DOCS) + ".")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is stale")
    check = parser.parse_args(argv).check
    from ..io.files import write_text_atomic

    stale = []
    for name in DOCS:
        path = ROOT / name
        text = path.read_text(encoding="utf-8")
        fresh = render(text)
        if fresh == text:
            continue
        if check:
            stale.append(name)
        else:
            write_text_atomic(path, fresh)
            print(f"rewrote {name}")
    for name in stale:
        print(f"{name} is stale: run `python -m planner.report.docs`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
