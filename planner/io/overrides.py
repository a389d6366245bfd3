"""Changing fields of an instance before it is validated: `dotted.path=value` texts (the command
line's `--set`) and typed updates ({dotted path: value}, the library's and the studies' way).

Both set fields of the raw mapping; the result is validated again as a whole, so an update is
checked exactly like the same value written in the file. An error that the update explains is
reported as the update's, not the file's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import yaml

from ..errors import NO_VALUE, Argument, InputError
from .files import parse_yaml


@dataclass(frozen=True)
class Override:
    """One applied change: its dotted key, the outermost mapping it created (or None), and the
    argument it came from ('overrides' for texts, 'updates' for typed values)."""

    key: str
    created: str | None = None
    argument: str = "overrides"

    def explains(self, field: str) -> bool:
        """Whether an error at `field` comes from this change: the same path, one inside the other
        (solver.mip_gap=2 fails at solver.mip_gap, solvr.mip_gap=0.1 at solvr), or a field inside
        a mapping the change created."""
        inside = lambda outer, inner: inner == outer or inner.startswith(outer + ".")  # noqa: E731
        return inside(self.key, field) or inside(field, self.key) or (
            self.created is not None and inside(self.created, field))

    @property
    def origin(self) -> Argument:
        return Argument(self.argument, self.key)


def parse_override(text: str, argument: str = "overrides") -> tuple[str, Any]:
    """'a.b.c=value' -> ('a.b.c', typed value). The value is read as YAML: 1.5, true, null, [1, 2].
    `argument` names where the text came from in errors (`overrides`: the command line's --set)."""
    if not isinstance(text, str):
        raise InputError(Argument(argument), "", text, "expected a text dotted.path=value")
    if "=" not in text:
        raise InputError(Argument(argument, text), "", NO_VALUE,
                         "expected dotted.path=value, such as solver.mip_gap=0.01")
    key, raw = text.split("=", 1)
    key = key.strip()
    _check_key(key, raw, argument)
    try:
        value = parse_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError:
        raise InputError(Argument(argument, key), key, raw, "the value is not valid YAML") from None
    return key, value


def _check_key(key: Any, value: Any, argument: str) -> None:
    if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
        raise InputError(Argument(argument, str(key)), str(key), value,
                         "the path must be dotted field names, such as solver.mip_gap")


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str],
                    argument: str = "overrides") -> tuple[dict[str, Any], list[Override]]:
    """A deep copy of `raw` with each `dotted.path=value` text set (see `apply_updates`)."""
    if isinstance(overrides, str):
        raise InputError(Argument(argument), "", overrides, "expected a list of dotted.path=value texts, not one text")
    return _apply(raw, [parse_override(text, argument) for text in overrides], argument)


def apply_updates(raw: dict[str, Any], updates: Mapping[str, Any]) -> tuple[dict[str, Any], list[Override]]:
    """A deep copy of `raw` with each {dotted path: typed value} set; intermediate mappings are
    created. Returns the copy and, per update, its key and the outermost mapping it created."""
    if not isinstance(updates, Mapping):
        raise InputError(Argument("updates"), "", updates, "expected a mapping {dotted.path: value}")
    for key, value in updates.items():
        _check_key(key, value, "updates")
    return _apply(raw, list(updates.items()), "updates")


def _apply(raw: dict[str, Any], pairs: list[tuple[str, Any]], argument: str) -> tuple[dict[str, Any], list[Override]]:
    out = copy.deepcopy(raw)
    applied = []
    for key, value in pairs:
        node: Any = out
        parts = key.split(".")
        created = None
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, dict) and node.get(part) is None and created is None:
                created = ".".join(parts[: depth + 1])
            node = _step_into(node, part, key, depth, argument)
        _assign(node, parts[-1], copy.deepcopy(value), key, argument)
        applied.append(Override(key, created, argument))
    return out, applied


def attributed(error: InputError, changes: Sequence[Override], file: str) -> InputError:
    """The error as the change's when a change explains it (and it is an error of `file`)."""
    change = next((c for c in changes if c.explains(error.field_name)), None)
    if change is not None and error.file == file:
        return InputError(change.origin, error.field, error.value, error.problem)
    return error


def _step_into(node: Any, part: str, key: str, depth: int, argument: str) -> Any:
    if isinstance(node, list):
        return node[_list_index(node, part, key, argument)]
    if not isinstance(node, dict):
        parent = ".".join(key.split(".")[:depth])
        raise InputError(Argument(argument, key), parent, node, "is not a mapping, so it has no fields to set")
    if node.get(part) is None:
        node[part] = {}
    return node[part]


def _assign(node: Any, part: str, value: Any, key: str, argument: str) -> None:
    if isinstance(node, list):
        node[_list_index(node, part, key, argument)] = value
    elif isinstance(node, dict):
        node[part] = value
    else:
        parent = key.rsplit(".", 1)[0] if "." in key else "(top level)"
        raise InputError(Argument(argument, key), parent, node, "is not a mapping, so it has no fields to set")


def _list_index(node: list, part: str, key: str, argument: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        problem = f"not an index of the list; expected 0 to {len(node) - 1}" if node else "the list is empty"
        raise InputError(Argument(argument, key), key, part, problem)
    return int(part)
