"""`mediagen generate [--check]`: compile catalog/ into generated/ in a source checkout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..catalog.diff import diff_catalogs
from ..catalog.diff_report import headline
from ..catalog.snapshot import SNAPSHOT_FILE, CatalogData, read_snapshot
from .common import UsageError, out


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "generate",
        help="compile catalog/ into generated/ (run in a source checkout)",
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


def cmd_generate(args: argparse.Namespace) -> int:
    from ..codegen.generate import check, write

    catalog_dir, out_dir = _checkout_dirs(args.catalog, args.out)
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


def _report_changes(before: CatalogData | None, out_dir: Path) -> None:
    """What the catalog change means for callers, against the catalog last generated from."""
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
    """catalog/ and generated/ of the source checkout that holds the working directory."""
    if catalog is not None and out is not None:
        return catalog, out
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if any((folder / "catalog").glob("*/provider.yaml")) and (folder / "generated").is_dir():
            return catalog or folder / "catalog", out or folder / "generated"
    raise UsageError(
        "no mediagen source checkout here (a folder with catalog/ and generated/); "
        "run from the checkout or pass --catalog and --out"
    )
