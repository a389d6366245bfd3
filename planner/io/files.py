"""Reading and writing files safely: YAML without surprises, outputs written then renamed."""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from ..errors import NO_VALUE, InputError


#: libyaml's parser when PyYAML was built with it (several times faster), else PyYAML's own.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):
    """A safe loader that refuses a mapping with the same key twice (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):  # noqa: D102 - PyYAML hook
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 (PyYAML) reads 608.0e9 or 1e6 as strings; accept them as numbers as YAML 1.2 does.
_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def _scalar_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


def _int_or_clock(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | str:
    """YAML 1.1 reads 12:30 as the base-60 integer 750; keep it the text it is, as YAML 1.2 does."""
    text = loader.construct_scalar(node)
    return text if ":" in text else loader.construct_yaml_int(node)


# Unquoted date-times (horizon.start: 2025-02-27T12:00:00+08:00) and clock times (start: 12:30)
# stay text, so the schema checks them as it checks quoted ones.
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _scalar_text)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _int_or_clock)


def parse_yaml(text: str) -> Any:
    """Parse YAML text by the same rules as the files (numbers like 1e3, no duplicate keys)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


@contextmanager
def opening(path: Path) -> Iterator[None]:
    """Turn the errors of opening `path` into an InputError naming it."""
    try:
        yield
    except FileNotFoundError:
        raise InputError(path, "", NO_VALUE, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, "", NO_VALUE, "is a folder, not a file") from None
    except PermissionError:
        raise InputError(path, "", NO_VALUE, "permission denied") from None


def read_text(path: Path) -> str:
    """The text of `path` as UTF-8, or an InputError naming the file."""
    with opening(path):
        try:
            return Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                path, _byte_position(exc.object, exc.start), exc.object[exc.start : exc.start + 1], "not UTF-8 text"
            ) from None


def _byte_position(data: bytes, offset: int) -> str:
    """'line 3, column 7 (byte 41)': where a byte sits, as an editor shows it (columns in bytes)."""
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"line {line}, column {column} (byte {offset})"


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Parse `path` as a YAML mapping (safe loader, no duplicate keys)."""
    text = read_text(path)
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(path, where, NO_VALUE, f"not valid YAML: {problem}") from None
    if raw is None:
        raise InputError(path, "(top level)", NO_VALUE, "the file is empty; expected a mapping of fields")
    if not isinstance(raw, dict):
        raise InputError(path, "(top level)", raw, "must be a mapping of fields")
    return raw


_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it onto `path`.

    A reader never sees a half-written file: either the old one or the complete new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_files_atomic(writes: list[tuple[Path, Callable[[Path], None]]]) -> None:
    """Write several files as one set: each `write(tmp)` on a temporary file beside its path, and
    only once all are written, the renames, in the order given (the last one last).

    A failure while writing (a full disk, a size limit, a folder that cannot be made) replaces
    nothing: the temporary files are removed and an InputError names the file. (A rename failing
    after the first one, which a full disk cannot cause, would still leave the set mixed.)
    """
    temporaries: list[tuple[Path, Path]] = []
    current: Path | None = None
    renamed = 0
    try:
        for path, write in writes:
            current = path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            temporaries.append((Path(tmp_name), path))
            write(Path(tmp_name))
            os.chmod(tmp_name, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        for tmp, path in temporaries:
            current = path
            os.replace(tmp, path)
            renamed += 1
    except OSError as exc:
        reason = exc.strerror or str(exc).splitlines()[0]
        done = ("no file of the set was replaced" if renamed == 0 else
                f"{renamed} file(s) of the set were replaced already")
        raise InputError(current if current is not None else "", "", NO_VALUE,
                         f"cannot be written ({reason}); {done}") from None
    finally:
        for tmp, _ in temporaries:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
