"""`mediagen diff OLD [NEW]`: what changed between two catalogs, and what it breaks."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..catalog.folders import PROVIDER_FILE
from .common import UsageError, err, out
from .generate_command import tool_config

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..catalog.diff import Change
    from ..catalog.diff_scan import ScanResult
    from ..catalog.snapshot import CatalogData

_GONE = frozenset({"operation_removed", "operation_id_changed"})


def add_parsers(sub: Any) -> None:
    from ..catalog.diff_params import SEVERITIES
    from ..catalog.diff_report import FORMATS

    p = sub.add_parser(
        "diff",
        description="Compare two catalogs. OLD and NEW are each a catalog folder, one provider's "
        "folder, a single operations file (such as a new vendor export), a generate snapshot "
        "(generated/catalog-snapshot.json) or git:REV (the working catalog at that revision). "
        "NEW defaults to the working catalog.",
    )
    p.add_argument("old", metavar="OLD", help="the catalog before")
    p.add_argument(
        "new", metavar="NEW", nargs="?", help="the catalog after (default: the working one)"
    )
    p.add_argument(
        "--format", choices=FORMATS, default="text", help="output format (default: text)"
    )
    p.add_argument(
        "--fail-on",
        choices=SEVERITIES[:2],
        help="exit 1 when a change of this severity or worse exists (default: always exit 0)",
    )
    p.add_argument(
        "--scan",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="list the Python call sites and batch-file lines (.jsonl) a breaking change affects",
    )
    p.add_argument(
        "--catalog",
        type=Path,
        help="the working catalog folder (default: ./catalog of the checkout, else the installed one)",
    )
    p.add_argument(
        "--journal",
        type=Path,
        help="journal to check for unfinished tasks of removed operations "
        "(default: $MEDIAGEN_JOURNAL or the user data dir)",
    )
    p.set_defaults(func=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    from ..catalog import Catalog
    from ..catalog.diff import SEVERITIES, diff_catalogs
    from ..catalog.diff_report import render
    from ..catalog.diff_scan import scan
    from ..catalog.loader import load_catalog_source
    from ..catalog.snapshot import catalog_data
    from ..catalog.sources import names_one_provider

    working = _working_catalog(args.catalog)
    for path in args.scan or ():
        if not path.exists():
            raise UsageError(f"--scan {path}: no such file or folder")
    old = load_catalog_source(args.old, working)
    new = (
        load_catalog_source(args.new, working)
        if args.new
        else load_catalog_source(str(working), working)
    )
    old_data = catalog_data(old) if isinstance(old, Catalog) else old
    new_data = catalog_data(new) if isinstance(new, Catalog) else new
    if names_one_provider(args.old) or (args.new and names_one_provider(args.new)):
        # One provider given: compare it with its namesake, not with the whole catalog.
        shared = old_data["providers"].keys() & new_data["providers"].keys()
        old_data, new_data = (
            {"providers": {k: v for k, v in d["providers"].items() if k in shared}}
            for d in (old_data, new_data)
        )
    changes = diff_catalogs(old_data, new_data)
    found = scan(args.scan, changes, old_data, new_data) if args.scan else None
    extra = None
    if found is not None:
        extra = {
            "affected": [h.to_json() for h in found.hits],
            "skipped": list(found.skipped),
        }
    text = render(changes, args.format, extra=extra)
    if found is not None and args.format != "json":
        text += "\n" + _affected(found, markdown=args.format == "markdown")
    if args.format == "json":
        print(text)
    else:
        for line in text.splitlines():
            out(line)
    for line in _journal_warnings(args.journal, changes, new):
        err(line)
    if args.fail_on:
        worst = SEVERITIES[: SEVERITIES.index(args.fail_on) + 1]
        return 1 if any(c.severity in worst for c in changes) else 0
    return 0


def _working_catalog(explicit: Path | None) -> Path:
    """--catalog, else the catalog a `[tool.mediagen]` table names (a plugin's root) or the
    checkout's catalog/, found from the working directory upward, else the catalog installed
    with the package."""
    if explicit is not None:
        if not any(explicit.glob(f"*/{PROVIDER_FILE}")):
            raise UsageError(f"--catalog {explicit}: not a catalog folder (no */{PROVIDER_FILE})")
        return explicit
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        config = tool_config(folder / "pyproject.toml")
        if config is not None:
            return folder / config["catalog"]
        if any((folder / "catalog").glob(f"*/{PROVIDER_FILE}")):
            return folder / "catalog"
    from ..catalog.folders import default_root

    return default_root()


def _affected(found: ScanResult, *, markdown: bool) -> str:
    title = "## Affected code" if markdown else "Affected code:"
    if not found.hits:
        lines = ["", title, "", "nothing found" if markdown else "  nothing found"]
    else:
        bullet = "- " if markdown else "  "
        lines = ["", title, *([""] if markdown else [])]
        lines += [f"{bullet}{h.file}:{h.line}: {h.message}" for h in found.hits]
    lines += [f"{'- ' if markdown else '  '}skipped {s}" for s in found.skipped]
    return "\n".join(lines)


def _journal_warnings(
    explicit: Path | None, changes: Sequence[Change], new: Catalog | CatalogData
) -> list[str]:
    """Unfinished journaled tasks of operations (or providers) the change removes."""
    import sqlite3

    from ..journal import UNFINISHED, Journal, configured_path

    gone = {(c.provider, c.operation) for c in changes if c.change in _GONE}
    lost = {c.provider for c in changes if c.change == "provider_removed"}
    path = configured_path(explicit)
    if not (gone or lost) or path is None or not path.is_file():
        return []
    try:
        journal = Journal(path)
        try:
            unfinished = journal.entries(states=UNFINISHED)
        finally:
            journal.close()
    except (OSError, sqlite3.Error) as exc:  # the report stands without the journal
        return [f"warning: could not read the journal {path}: {exc}"]
    entries = [e for e in unfinished if (e.provider, e.operation) in gone or e.provider in lost]
    lines = []
    for provider, operation in sorted({(e.provider, e.operation) for e in entries}):
        count = sum((e.provider, e.operation) == (provider, operation) for e in entries)
        lines.append(
            f"warning: the journal {path} holds {count} unfinished task(s) of "
            f"{provider}.{operation}, which this change removes; {_fate(provider, new, lost)}"
        )
    return lines


def _fate(provider: str, new: Catalog | CatalogData, lost: set[str]) -> str:
    from ..catalog import Catalog
    from ..retired import polls_by_task_id

    if provider in lost:
        return "they cannot be finished once the provider is gone: finish them first"
    if isinstance(new, Catalog) and polls_by_task_id(new.provider(provider)):
        return "`mediagen resume` still finishes them by task id"
    return "finish them (`mediagen resume`) before regenerating"
