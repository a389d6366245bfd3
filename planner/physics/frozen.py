"""Read-only containers for compiled data: mappings that cannot be changed and arrays that cannot be written."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import numpy as np


class FrozenMap(Mapping):
    """A read-only mapping (unlike MappingProxyType, it pickles: compiled data crosses processes)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping | None = None, /, **kwargs: Any) -> None:
        object.__setattr__(self, "_items", dict(items or {}, **kwargs))

    def __getitem__(self, key):
        return self._items[key]

    def __iter__(self) -> Iterator:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"

    def __setattr__(self, name, value):
        raise AttributeError("FrozenMap is read-only")

    def __reduce__(self):
        return (_rebuild, (self._items,))


def _rebuild(items: dict) -> FrozenMap:
    """A FrozenMap after pickling, its arrays read-only again (pickling drops the flag)."""
    for value in items.values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return FrozenMap(items)


def frozen_array(values: Any) -> np.ndarray:
    """A float copy of `values` that cannot be written."""
    array = np.array(values, dtype=float)
    array.setflags(write=False)
    return array
