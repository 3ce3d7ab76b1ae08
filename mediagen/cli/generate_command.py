"""`mediagen generate [--check]`: compile a catalog into its generated package.

The folders come from the nearest `pyproject.toml` with a `[tool.mediagen]` table (a plugin's
root, or mediagen's own checkout):

    [tool.mediagen]
    catalog = "acme_mediagen/catalog"     # catalog folder, relative to pyproject.toml
    output = "acme_mediagen/generated"    # the generated package's folder

else from a folder holding catalog/ and generated/, or from --catalog and --out.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import UsageError, out

if TYPE_CHECKING:
    from ..catalog.snapshot import CatalogData


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        description="Compile the catalog into the generated/ package. Both folders are found "
        "from the working directory upward, or given with --catalog and --out.",
    )
    p.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 naming every stale file"
    )
    p.add_argument(
        "--catalog", type=Path, help="catalog directory (default: ./catalog of the checkout)"
    )
    p.add_argument(
        "--out", type=Path, help="output directory (default: ./generated of the checkout)"
    )
    p.set_defaults(func=cmd_generate)


CODE_GENERATOR_MODULES = ("jinja2", "datamodel_code_generator")
"""What the `codegen` extra installs, imported only while rendering."""


def cmd_generate(args: argparse.Namespace) -> int:
    from ..catalog.snapshot import SNAPSHOT_FILE, read_snapshot
    from ..codegen.generate import check, write

    catalog_dir, out_dir = _checkout_dirs(args.catalog, args.out)
    _require_code_generator()
    if args.check:
        drift = check(catalog_dir, out_dir)
        if drift.clean:
            print(f"{out_dir} is up to date with {catalog_dir}")
            return 0
        print(f"{out_dir} does not match {catalog_dir}; run `mediagen generate`:", file=sys.stderr)
        for line in drift.lines():
            print(f"  {line}", file=sys.stderr)
        return 1
    before = read_snapshot(out_dir / SNAPSHOT_FILE)
    drift = write(catalog_dir, out_dir)
    for line in drift.lines():
        print(
            line.replace("stale:  ", "updated:")
            .replace("missing:", "created:")
            .replace("extra:  ", "removed:")
        )
    print(f"{out_dir}: {'up to date' if drift.clean else 'regenerated'}")
    _report_changes(before, out_dir)
    return 0


CONFIG_KEYS = ("catalog", "output")


def _require_code_generator() -> None:
    """Refuse in one line, before rendering anything, when the codegen extra is missing
    (--check renders the catalog too: it compares, it does not skip the generator)."""
    for module in CODE_GENERATOR_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            raise UsageError("needs the code generator: pip install 'mediagen[codegen]'") from None


def _report_changes(before: CatalogData | None, out_dir: Path) -> None:
    """What the catalog change means for callers, against the catalog last generated from."""
    from ..catalog.diff import diff_catalogs
    from ..catalog.diff_report import headline
    from ..catalog.snapshot import SNAPSHOT_FILE, read_snapshot

    if before is None:
        print(f"no earlier {SNAPSHOT_FILE} in {out_dir}: nothing to compare the catalog with")
        return
    after = read_snapshot(out_dir / SNAPSHOT_FILE)
    assert after is not None  # just written
    changes = diff_catalogs(before, after)
    if not changes:
        print("catalog changes since the last generate: none")
        return
    print(f"catalog changes since the last generate: {headline(changes)}")
    for change in changes:
        out(f"  {change.severity}: {change.where}: {change.message}")
    print("see `mediagen diff` for the full report (--format markdown for a changelog)")


def _checkout_dirs(catalog: Path | None, out: Path | None) -> tuple[Path, Path]:
    """The catalog and output folders: options, else [tool.mediagen], else catalog/ and
    generated/ of the folder holding the working directory."""
    if catalog is not None and out is not None:
        return catalog, out
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        config = tool_config(folder / "pyproject.toml")
        if config is not None:
            return catalog or folder / config["catalog"], out or folder / config["output"]
        if any((folder / "catalog").glob("*/provider.yaml")) and (folder / "generated").is_dir():
            return catalog or folder / "catalog", out or folder / "generated"
    below = _projects_below(here)
    raise UsageError(
        "no mediagen catalog here (a pyproject.toml with [tool.mediagen], or a folder with "
        "catalog/ and generated/); run from the project or pass --catalog and --out"
        + (f"; projects in this folder: {', '.join(below)} (cd into one)" if below else "")
    )


def _projects_below(folder: Path) -> list[str]:
    """The folders right below `folder` that are mediagen projects (a plugin made by
    `new-plugin` beside where it was run, say), as `name/`."""
    try:
        children = sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []
    return [f"{p.name}/" for p in children if _is_project(p)]


def _is_project(folder: Path) -> bool:
    try:
        return tool_config(folder / "pyproject.toml") is not None
    except UsageError:  # a broken table still says the folder is one
        return True


def tool_config(pyproject: Path) -> dict[str, str] | None:
    """The [tool.mediagen] table of a pyproject.toml, checked; None when there is none."""
    import tomllib

    if not pyproject.is_file():
        return None
    try:
        doc = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{pyproject}: cannot read it: {exc}") from None
    table = doc.get("tool", {}).get("mediagen")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise UsageError(f"{pyproject}: [tool.mediagen] is not a table")
    problems = [f"unknown key {k!r}" for k in table if k not in CONFIG_KEYS] + [
        f"{k} is {table.get(k)!r}"
        for k in CONFIG_KEYS
        if not isinstance(table.get(k), str) or not table.get(k)
    ]
    if problems:
        raise UsageError(
            f"{pyproject}: [tool.mediagen]: {'; '.join(problems)} "
            '(expected catalog = "<catalog folder>" and output = "<generated package folder>")'
        )
    return {k: str(table[k]) for k in CONFIG_KEYS}
