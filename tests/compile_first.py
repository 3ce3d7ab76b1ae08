"""xdist workers take turns to start while the run's bytecode folder is empty.

Imported by conftest.py before anything heavy. The workers start together, and each would
compile and assertion-rewrite the same ~700 modules (hypothesis, aiohttp, mediagen, the test
files: 9-10 s of CPU a worker, four times over). Instead the first worker to get here imports
and collects alone, filling the run's bytecode folder (conftest.py sets
`PYTHONPYCACHEPREFIX`); the others wait for it, then load what it compiled (about 3 s each).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import sysconfig
from pathlib import Path
from typing import IO

_held: IO[str] | None = None


def _wait_for_the_first_worker() -> IO[str] | None:
    """The lock file, held by the first worker until its collection is done; None otherwise."""
    if not os.environ.get("PYTEST_XDIST_WORKER") or not sys.pycache_prefix:
        return None  # not a worker, or bytecode is written beside the sources as usual
    folder = Path(sys.pycache_prefix)
    folder.mkdir(parents=True, exist_ok=True)
    lock = open(folder / "first-worker.lock", "w")  # noqa: SIM115 (held across hooks)
    fcntl.flock(lock, fcntl.LOCK_EX)
    if (folder / "first-worker.done").exists():
        lock.close()  # compiled already: go on alongside the others
        return None
    return lock


NOT_IMPORTED = frozenset({"test", "tests", "idlelib", "site-packages", "turtledemo", "lib2to3"})
"""Folders under the interpreter's and the virtualenv's libraries whose bytecode the run never
loads (the interpreter's test suite, IDLE, its own site-packages: not on this path)."""


def link_installed_bytecode(prefix: str) -> None:
    """Link the run's bytecode folder to the bytecode installed beside the sources.

    With `PYTHONPYCACHEPREFIX` set, Python looks for bytecode only under the prefix, so every
    run compiled again the ~1,500 standard-library and virtualenv modules its processes load
    (the first worker ~3 s of its ~10 s to start and collect, then each child process what
    it adds: pip, mypy, the CLI), although the interpreter's and pip's installs wrote that
    bytecode into `__pycache__` folders. Each such file gets a symbolic link at the place the
    prefix gives it (one per file, never a linked folder: Python never writes through a link,
    it replaces it). Python checks a linked file against its source's size and mtime as any
    other, and writes its own where they differ. About 3,300 links: ~0.3-1 s of system
    time in xdist's controller before it starts the workers."""
    suffix = f".{sys.implementation.cache_tag}.pyc"
    paths = sysconfig.get_paths()
    # The virtualenv first: pytest, xdist and the plugins are what the workers load first.
    for root in dict.fromkeys(os.path.realpath(paths[k]) for k in ("purelib", "stdlib")):
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = [s for s in subfolders if s not in NOT_IMPORTED]
            if os.path.basename(folder) != "__pycache__":
                continue
            names = [name for name in files if name.endswith(suffix)]
            target = prefix + os.path.dirname(folder)
            if names:
                os.makedirs(target, exist_ok=True)
            for name in names:
                with contextlib.suppress(FileExistsError):  # compiled already (-n 0)
                    os.symlink(os.path.join(folder, name), os.path.join(target, name))


def collected() -> None:
    """This worker has collected: the others may start (conftest's pytest_collection_finish)."""
    global _held
    if _held is not None:
        assert sys.pycache_prefix
        (Path(sys.pycache_prefix) / "first-worker.done").touch()
        _held.close()
        _held = None


_held = _wait_for_the_first_worker()
