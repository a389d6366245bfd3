"""The two ways planner refuses to go on: bad input (exit 2) and no plan (exit 1)."""

from __future__ import annotations


def _show(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InputError(Exception):
    """A malformed or impossible input: names the file, the field and the value.

    `str(error)` is the single line the CLI prints before exiting with code 2.
    """

    def __init__(self, file: str, field: str, value: object, problem: str) -> None:
        self.file = str(file)
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(self.line())

    def __reduce__(self):
        """Picklable across processes (sweep workers), the 'no value' marker included."""
        missing = self.value is _NO_VALUE
        return (_rebuild, (self.file, self.field, None if missing else self.value, missing, self.problem))

    def line(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        shown = "" if self.value is _NO_VALUE else f" = {_show(self.value)}"
        return f"{where}{shown}: {self.problem}"


_NO_VALUE = object()
NO_VALUE = _NO_VALUE


def _rebuild(file: str, field: str, value: object, missing: bool, problem: str) -> InputError:
    return InputError(file, field, _NO_VALUE if missing else value, problem)


class PlanningError(Exception):
    """The solver returned no plan (time limit before a first incumbent, solver failure)."""
