"""The two ways planner refuses to go on: bad input (exit 2) and no plan (exit 1).

Base layer: every other module may import this one; it imports nothing of planner's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


def _show(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Argument:
    """A library call's argument named in an error, where the bad input came from an argument
    rather than a file: `Argument("out")`, `Argument("overrides", "solver.mip_gap")`.

    A front end names it its own way: the command line prints `--out` and `--set solver.mip_gap`
    (`InputError.line(names)`); the library prints the parameter's name.
    """

    name: str
    detail: str = ""

    def shown(self, names: Mapping[str, str] | None = None) -> str:
        label = (names or {}).get(self.name, self.name)
        return f"{label} {self.detail}" if self.detail else label


class InputError(Exception):
    """A malformed or impossible input: names the file (or argument), the field and the value.

    `line()` is the single line a front end prints before exiting with code 2. A problem that
    names an argument writes it in backquotes (`overwrite`); `line(names)` shows it as the front
    end calls it (--overwrite).
    """

    def __init__(self, file: str | Argument, field: str | Argument, value: object, problem: str) -> None:
        self.file = file if isinstance(file, Argument) else str(file)
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(self.line())

    def __reduce__(self):
        """Picklable across processes (sweep workers), the 'no value' marker included."""
        missing = self.value is _NO_VALUE
        return (_rebuild, (self.file, self.field, None if missing else self.value, missing, self.problem))

    @property
    def field_name(self) -> str:
        """The field as a dotted path ('' for an argument)."""
        return self.field if isinstance(self.field, str) else ""

    def line(self, names: Mapping[str, str] | None = None) -> str:
        """'file: field = value: problem'; arguments named by `names` (e.g. {'out': '--out'})."""
        file = self.file.shown(names) if isinstance(self.file, Argument) else self.file
        field = self.field.shown(names) if isinstance(self.field, Argument) else self.field
        where = f"{file}: {field}" if field else file
        shown = "" if self.value is _NO_VALUE else f" = {_show(self.value)}"
        problem = self.problem
        for name, label in (names or {}).items():  # `overwrite` in a problem is an argument, named as shown
            problem = problem.replace(f"`{name}`", label)
        return f"{where}{shown}: {problem}"


_NO_VALUE = object()
NO_VALUE = _NO_VALUE


def _rebuild(file, field, value: object, missing: bool, problem: str) -> InputError:
    return InputError(file, field, _NO_VALUE if missing else value, problem)


class PlanningError(Exception):
    """No plan: the solver stopped before a first plan, failed, or the hard limits conflict."""


class ContractError(Exception):
    """A constraint family broke its declared contract (a developer's error, not a user's)."""
