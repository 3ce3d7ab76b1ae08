"""Installed plugins' entry points, without importing `importlib.metadata` when there are none.

`importlib.metadata` costs more to import than the rest of `mediagen list` (it loads the email
and zipfile packages). Unless something imported it already, `may_declare` first lists the
places it would search (the distributions' metadata folders on `sys.path`) and reads their
`entry_points.txt` for the group's section: only when no distribution can declare one is the
import skipped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

_METADATA_SUFFIXES = (".dist-info", ".egg-info")


def entry_points(group: str) -> Sequence[EntryPoint]:
    """`importlib.metadata.entry_points(group=group)`; () without importing it, when it is not
    loaded yet and `may_declare` is False."""
    if "importlib.metadata" not in sys.modules and not may_declare(group):
        return ()
    import importlib.metadata

    return importlib.metadata.entry_points(group=group)


def may_declare(group: str) -> bool:
    """Whether an installed distribution may declare an entry point in `group`: False only when
    every folder on `sys.path` was listed and none of the metadata folders in it (`*.dist-info`,
    `*.egg-info`, an egg's `EGG-INFO`) has a `[group]` section in its `entry_points.txt`. True
    whenever unsure: a zip file on `sys.path`, an unreadable file, or an import finder other than
    the standard one that can list distributions."""
    import importlib.machinery

    for finder in sys.meta_path:
        if finder is not importlib.machinery.PathFinder and hasattr(finder, "find_distributions"):
            return True
    header = f"[{group}]"
    for entry in sys.path:
        folder = os.fspath(entry) or "."  # "" is the working directory
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            return True  # a zip file: importlib.metadata looks inside, this does not
        except OSError:
            continue  # a folder that is not there holds no distributions
        is_egg = folder.lower().endswith(".egg")
        for name in names:
            low = name.lower()
            if not (low.endswith(_METADATA_SUFFIXES) or (is_egg and low == "egg-info")):
                continue
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as f:
                    if any(line.strip() == header for line in f):
                        return True
            except (FileNotFoundError, NotADirectoryError):
                continue  # metadata without entry points
            except (OSError, ValueError):
                return True  # unreadable here: let importlib.metadata decide
    return False
