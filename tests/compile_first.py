"""xdist workers take turns to start while the run's bytecode folder is empty.

Imported by conftest.py before anything heavy. The workers start together, and each would
compile and assertion-rewrite the same ~700 modules (hypothesis, aiohttp, mediagen, the test
files: 9-10 s of CPU a worker, four times over). Instead the first worker to get here imports
and collects alone, filling the run's bytecode folder (conftest.py sets
`PYTHONPYCACHEPREFIX`); the others wait for it, then load what it compiled (about 3 s each).
"""

from __future__ import annotations

import fcntl
import os
import sys
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


def collected() -> None:
    """This worker has collected: the others may start (conftest's pytest_collection_finish)."""
    global _held
    if _held is not None:
        assert sys.pycache_prefix
        (Path(sys.pycache_prefix) / "first-worker.done").touch()
        _held.close()
        _held = None


_held = _wait_for_the_first_worker()
