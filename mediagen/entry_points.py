"""Installed plugins' entry points, read without importing `importlib.metadata` where possible.

`importlib.metadata` costs more to import than the rest of `mediagen list` (it loads the email
and zipfile packages). Unless something imported it already, the distributions' metadata
folders on `sys.path` are read here the way it reads them (`*.dist-info/entry_points.txt`,
the first distribution of a name wins, the name and version from `METADATA`); wherever that is
not certain to match (a zip file or an egg on `sys.path`, another finder of distributions, a
file that does not read) `importlib.metadata` answers instead.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

# importlib.metadata's own patterns: an entry point's value, and a distribution name's form.
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")
_SEPARATORS = re.compile(r"[-_.]+")


class Distribution(NamedTuple):
    name: str
    version: str


class InstalledEntryPoint(NamedTuple):
    """What the registry uses of an `importlib.metadata.EntryPoint`."""

    name: str
    value: str
    dist: Distribution

    def load(self) -> Any:
        """The object the entry point names (`module:attr`), imported."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"entry point {self.name!r} has an invalid value {self.value!r}")
        module = importlib.import_module(match.group("module"))
        attrs = filter(None, (match.group("attr") or "").split("."))
        return functools.reduce(getattr, attrs, module)


def entry_points(group: str) -> Sequence[EntryPoint | InstalledEntryPoint]:
    """The installed entry points of `group`, as `importlib.metadata.entry_points(group=...)`
    finds them."""
    found = None if "importlib.metadata" in sys.modules else read_entry_points(group)
    if found is not None:
        return found
    import importlib.metadata

    return importlib.metadata.entry_points(group=group)


def read_entry_points(group: str) -> list[InstalledEntryPoint] | None:
    """The entry points of `group` in the `*.dist-info` folders on `sys.path`; None when
    `importlib.metadata` could see more than this reads (see the module docstring)."""
    import importlib.machinery

    for finder in sys.meta_path:
        if finder is not importlib.machinery.PathFinder and hasattr(finder, "find_distributions"):
            return None
    seen: set[str] = set()
    found: list[InstalledEntryPoint] = []
    for entry in sys.path:
        folder = os.fspath(entry) or "."  # "" is the working directory
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            return None  # a zip file
        except OSError:
            continue  # a folder that is not there holds no distributions
        if folder.lower().endswith(".egg"):
            return None
        for name in names:
            low = name.lower()
            if not low.endswith((".dist-info", ".egg-info")):
                continue
            key = _SEPARATORS.sub("_", low.rpartition(".")[0].partition("-")[0])
            if key in seen:  # the first distribution of a name on sys.path hides the others
                continue
            seen.add(key)
            path = os.path.join(folder, name)
            try:
                entries = _section(os.path.join(path, "entry_points.txt"), group)
            except (FileNotFoundError, NotADirectoryError):
                continue  # no entry points
            except (OSError, ValueError):
                return None
            if not entries:
                continue
            dist = _distribution(path) if low.endswith(".dist-info") else None
            if dist is None:
                return None  # an egg's metadata, or unreadable
            found += [InstalledEntryPoint(n, v, dist) for n, v in entries]
    return found


def _section(file: str, group: str) -> list[tuple[str, str]]:
    """`name = value` pairs of the `[group]` section of an entry_points.txt."""
    current = None
    pairs = []
    with open(file, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                current = line[1:-1].strip()
            elif current == group:
                name, _, value = line.partition("=")
                pairs.append((name.strip(), value.strip()))
    return pairs


def _distribution(path: str) -> Distribution | None:
    """Name and version from a dist-info's METADATA headers."""
    fields: dict[str, str] = {}
    try:
        with open(os.path.join(path, "METADATA"), encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    break  # the headers end at the first blank line
                key, sep, value = line.partition(":")
                if sep and key in ("Name", "Version"):
                    fields.setdefault(key, value.strip())
    except (OSError, ValueError):
        return None
    if "Name" not in fields or "Version" not in fields:
        return None
    return Distribution(fields["Name"], fields["Version"])
