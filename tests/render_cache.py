"""Codegen's render of a catalog, kept for the rest of the test run by the catalog's content and
shared by every process of the run: the test processes (helpers.render_once), the processes
a plugin author's virtualenv starts (conftest.AuthorVenv loads this module at their start-up,
`install`) and the test processes' children given `helpers.kept_renders_env` (a sitecustomize
does the same).

Rendering takes 1-2 s of CPU in a process (most of it importing and setting up the model
generator), and the suite renders the same few catalogs again and again: the shipped one, the
`new-plugin` scaffold's, acme's, the Replicate example's. The output is a pure function of the catalog files and the
mediagen code (tests/test_codegen.py: golden record, hash seeds), which is fixed during a run.

Nothing of mediagen is imported until a render is asked for: every process of an author
virtualenv (pip's too) loads this module.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Callable
from importlib.abc import Loader
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

ENV = "MEDIAGEN_TEST_RENDER_CACHE"
"""The folder of the run's renders, in the environment of a process that is to use it."""

RENDER_ANYWAY = "MEDIAGEN_TEST_RENDER_ANYWAY"
"""Set (to anything) in the environment of a process whose test checks what rendering reads
and imports there (tests/test_startup_imports.py): it renders every catalog itself, and what
it renders still fills the run's cache for the other processes."""

MODULE = "_mediagen_test_render_cache"
"""This module's name where a child process imports it (an author virtualenv's site-packages,
helpers.kept_renders_env's folder): not `render_cache`, which a plugin could use."""

SITECUSTOMIZE = f"""\
\"\"\"Keep codegen's renders in the test run's cache (mediagen's tests/render_cache.py).\"\"\"

import importlib.machinery
import importlib.util
import os
import sys

import {MODULE}

{MODULE}.install()

# Then the sitecustomize this one shadows, if any: the next one on the path.
_here = os.path.dirname(os.path.abspath(__file__))
_rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
if _spec is not None and _spec.loader is not None:
    _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
"""
"""A sitecustomize module that installs the cache in a Python started with its folder on
PYTHONPATH (helpers.kept_renders_env)."""

GENERATE = "mediagen.codegen.generate"
"""The module whose `render_catalog` `install` wraps (its `write` and `check` call it)."""

Render = Callable[[Path], dict[str, str]]


def kept(render: Render, folder: Callable[[], Path], *, anyway: bool = False) -> Render:
    """`render` (codegen's render_catalog) with each output kept in `folder()` for the rest of
    the run, keyed by the catalog folder's own digest (what generated files name in their
    header: names and bytes of its files, not its path). Processes that share the folder take
    turns on a lock per digest. A catalog that fails to render is rendered, and fails, every
    time. With `anyway`, every catalog is rendered here too, and only kept if no other process
    has kept it yet (`RENDER_ANYWAY`)."""

    def rendered(catalog_dir: Path) -> dict[str, str]:
        from mediagen.catalog.folders import folder_digest

        where = folder()
        digest = folder_digest(Path(catalog_dir))
        kept = where / f"{digest}.json"
        with open(where / f"{digest}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if anyway or not kept.exists():
                files = render(catalog_dir)
                if not kept.exists():
                    partial = kept.with_suffix(".part")
                    partial.write_text(json.dumps(files), encoding="utf-8")
                    partial.rename(kept)
                return files
        loaded: dict[str, str] = json.loads(kept.read_text(encoding="utf-8"))
        return loaded

    return rendered


class _KeepRenders:
    """A meta path finder that waits for GENERATE to be imported, then wraps its
    render_catalog with `kept` (once: it leaves sys.meta_path when it sees the module).

    It must be asked before the finder that finds GENERATE: a finder inserted in front of it
    later (pytest puts its assertion rewriter first, after site has run this module's `install`,
    and rewrites mediagen's modules, a pytest plugin's) would find GENERATE alone, and the
    author's `pytest` would render again in its generated-package check. So whenever it is
    asked for a module while not first, it moves to the front. The running import loop goes on
    with the finder after the one it asked, as `_find_spec` walks the live list by index.
    """

    def __init__(self, folder: Path, anyway: bool) -> None:
        self.folder = folder
        self.anyway = anyway

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if sys.meta_path[0] is not self:
            sys.meta_path.remove(self)
            sys.meta_path.insert(0, self)
        if name != GENERATE:
            return None
        sys.meta_path.remove(self)
        from importlib.util import find_spec

        spec = find_spec(name)  # as the import would find it without this finder
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _KeptRenderLoader(spec.loader, self.folder, self.anyway)
        return spec


class _KeptRenderLoader(Loader):
    """GENERATE's own loader (pytest's rewriter or a file loader, which may load other modules
    too), then its render_catalog wrapped with `kept`."""

    def __init__(self, loader: Loader, folder: Path, anyway: bool) -> None:
        self.loader = loader
        self.folder = folder
        self.anyway = anyway

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        module.render_catalog = kept(module.render_catalog, lambda: self.folder, anyway=self.anyway)

    def __getattr__(self, name: str) -> Any:  # get_source, get_data, ... for tracebacks
        return getattr(self.loader, name)


def install() -> None:
    """In a process whose environment names a folder (`ENV`), keep codegen's renders there
    (rendering each catalog anyway where `RENDER_ANYWAY` is set). Once: Python 3.11's site runs
    a virtualenv's .pth files twice."""
    folder = os.environ.get(ENV)
    if folder and not any(isinstance(f, _KeepRenders) for f in sys.meta_path):
        sys.meta_path.insert(0, _KeepRenders(Path(folder), bool(os.environ.get(RENDER_ANYWAY))))
