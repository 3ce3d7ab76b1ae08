"""What `mediagen diff` compares: a catalog given as a folder, one provider's folder, a single
operations file (e.g. a new vendor export), a generate snapshot, or `git:REV`.

A single operations file is read with the provider facts of the working catalog's provider
that names a file of that name, so a new Media.io export can be compared before it is dropped
in. `git:REV` is the working catalog's folder as committed at REV, read with `git archive`.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .errors import CatalogError
from .files import read_data
from .ir import Catalog
from .loader import PROVIDER_FILE, load_catalog, load_provider
from .snapshot import CatalogData, is_snapshot

GIT_PREFIX = "git:"
_FORMS = "a catalog folder, a provider folder, an operations file, a generate snapshot or git:REV"


def load_source(spec: str, working: Path) -> Catalog | CatalogData:
    """The catalog that `spec` names; `working` is the catalog folder relative to which
    operations files and `git:REV` are read."""
    if spec.startswith(GIT_PREFIX):
        return _at_revision(spec[len(GIT_PREFIX) :], working)
    path = Path(spec)
    if path.is_dir():
        if (path / PROVIDER_FILE).is_file():
            return Catalog(providers=(load_provider(path / PROVIDER_FILE),))
        if any(path.glob(f"*/{PROVIDER_FILE}")):
            return load_catalog(path)
        raise CatalogError(
            path, "is neither a catalog folder nor a provider folder", expected=_FORMS
        )
    if not path.is_file():
        raise CatalogError(spec, "no such file or folder", expected=_FORMS)
    if path.name == PROVIDER_FILE:
        return Catalog(providers=(load_provider(path),))
    if path.suffix == ".json":
        doc = _json(path)
        if isinstance(doc, dict) and is_snapshot(doc):
            return {"providers": doc["providers"]}
    return _operations_file(path, working)


def names_one_provider(spec: str) -> bool:
    """Whether `spec` is a provider folder or a single file (not a whole catalog): then only
    that provider is compared."""
    if spec.startswith(GIT_PREFIX):
        return False
    path = Path(spec)
    if path.is_dir():
        return (path / PROVIDER_FILE).is_file()
    return path.is_file() and not (path.suffix == ".json" and is_snapshot(_json(path)))


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # not a snapshot: the importer reports what is wrong with it


def _operations_file(file: Path, working: Path) -> Catalog:
    owners = [
        folder
        for folder in sorted(p.parent for p in working.glob(f"*/{PROVIDER_FILE}"))
        if _operations_file_name(folder) == file.name
    ]
    if len(owners) > 1:  # e.g. operations.yaml: the folder it sits in may name the provider
        owners = [p for p in owners if p.name == file.resolve().parent.name] or owners
    if len(owners) != 1:
        names = ", ".join(p.name for p in owners)
        problem = (
            f"no provider in {working} reads a file named {file.name!r}"
            if not owners
            else f"{file.name!r} could belong to {names}; pass the provider's folder"
        )
        raise CatalogError(
            file, problem, expected="an operations file of one provider, or " + _FORMS
        )
    with tempfile.TemporaryDirectory(prefix="mediagen-diff-") as tmp:
        folder = Path(tmp) / owners[0].name
        shutil.copytree(owners[0], folder)
        shutil.copyfile(file, folder / file.name)
        return Catalog(providers=(load_provider(folder / PROVIDER_FILE),))


def _operations_file_name(folder: Path) -> str | None:
    try:
        doc = read_data(folder / PROVIDER_FILE)
    except CatalogError:
        return None
    ops = doc.get("operations") if isinstance(doc, Mapping) else None
    name = ops.get("file") if isinstance(ops, Mapping) else None
    return name if isinstance(name, str) else None


def _at_revision(rev: str, working: Path) -> Catalog:
    label = GIT_PREFIX + rev
    if not rev or rev.startswith("-"):
        raise CatalogError(
            label, "no revision given", expected="git:REV, e.g. git:HEAD or git:v1.2.0"
        )
    top = _git(working, label, "rev-parse", "--show-toplevel").decode().strip()
    try:
        relative = working.resolve().relative_to(Path(top).resolve()).as_posix()
    except ValueError:
        raise CatalogError(label, f"{working} is not inside the git checkout {top}") from None
    commit = _git(working, label, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    # Paths given to git archive are relative to the working directory: run it at the top.
    archive = _git(
        Path(top), label, "archive", "--format=tar", commit.decode().strip(), "--", relative
    )
    with tempfile.TemporaryDirectory(prefix="mediagen-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        return load_catalog(Path(tmp) / relative)


def _git(cwd: Path, label: str, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False, timeout=60)
    except FileNotFoundError:
        raise CatalogError(
            label, "git is not installed", expected="git on PATH for git:REV"
        ) from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        if args[0] == "rev-parse" and "--show-toplevel" in args:
            problem = f"{cwd} is not in a git checkout"
        elif args[0] == "rev-parse":
            problem = "unknown revision"
        else:
            problem = reason[-1] if reason else f"git {args[0]} failed"
        raise CatalogError(label, problem, expected="a commit, branch or tag of this checkout")
    return done.stdout
