"""The `mediagen` command line. Each subcommand is one small function."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .catalog import Catalog, CatalogError, Operation, default_catalog
from .catalog.ir import Param


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (UsageError, CatalogError) as exc:
        print(f"mediagen: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mediagen",
        description="A typed client for AI media-generation APIs, compiled from a spec catalog.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list the operations of every provider (or one)")
    p.add_argument("provider", nargs="?", help="only this provider")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "describe", help="show one operation's parameters, types, allowed values and limits"
    )
    p.add_argument("provider")
    p.add_argument("operation")
    p.add_argument("--json", action="store_true", help="print the operation as JSON")
    p.set_defaults(func=cmd_describe)

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
    return parser


def _select(catalog: Catalog, provider: str | None) -> list[Operation]:
    if provider is None:
        return list(catalog.operations())
    try:
        return list(catalog.provider(provider).operations)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None


def cmd_list(args: argparse.Namespace) -> int:
    ops = _select(default_catalog(), args.provider)
    if args.json:
        rows = [
            {
                "provider": op.provider,
                "operation": op.id,
                "name": op.name,
                "kind": op.kind,
                "params": [
                    {"name": p.name, "type": p.type_label, "required": p.required}
                    for p in op.params
                ],
            }
            for op in ops
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    width = max(len(op.qualified_id) for op in ops)
    for op in ops:
        required = ", ".join(p.python_name for p in op.params if p.required) or "-"
        print(
            f"{op.qualified_id:<{width}}  {op.kind:<5}  {op.output:<7}  {op.name}  [required: {required}]"
        )
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    catalog = default_catalog()
    try:
        provider = catalog.provider(args.provider)
        op = provider.operation(args.operation)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    if args.json:
        print(json.dumps(_operation_json(op), indent=2, ensure_ascii=False))
        return 0
    print(f"{op.qualified_id}: {op.name} ({provider.title})")
    print(f"  kind: {op.kind}   output: {op.output}   {op.method} {provider.base_url}{op.path}")
    if op.model_code:
        print(f"  model code: {op.model_code}")
    if op.vendor_status not in (None, 1):
        print(f"  vendor status: {op.vendor_status}")
    if op.description:
        print(f"  {op.description}")
    print("  parameters:" if op.params else "  parameters: none")
    for p in op.params:
        print(f"    {p.python_name}: {p.type_label}, {'required' if p.required else 'optional'}")
        for line in _param_facts(p):
            print(f"      {line}")
    for note in op.notes:
        print(f"  note: {note}")
    print(f"  source: {op.source}")
    return 0


def _param_facts(p: Param) -> list[str]:
    facts = []
    if p.name != p.python_name:
        facts.append(f"wire name: {p.name}")
    if p.enum is not None:
        facts.append(
            "allowed: "
            + ", ".join(
                f"{v!r} ({p.value_labels[str(v)]})" if str(v) in p.value_labels else repr(v)
                for v in p.enum
            )
        )
    if p.has_default:
        facts.append(f"default: {p.default!r}")
    for label, value in (
        ("minimum", p.minimum),
        ("maximum", p.maximum),
        ("greater than", p.exclusive_minimum),
        ("less than", p.exclusive_maximum),
        ("min length", p.min_length),
        ("max length", p.max_length),
        ("min items", p.min_items),
        ("max items", p.max_items),
        ("pattern", p.pattern),
    ):
        if value is not None:
            facts.append(f"{label}: {value}")
    if p.value_labels and p.enum is None:
        facts.append("values: " + ", ".join(f"{k} {v}" for k, v in p.value_labels.items()))
    for key, value in p.limits.items():
        facts.append(f"limit {key}: {value}")
    if p.note:
        facts.append(f"note: {p.note}")
    if p.location == "path":
        facts.append("sent in the URL path")
    if p.description:
        facts.append(p.description)
    return facts


def _operation_json(op: Operation) -> dict[str, Any]:
    return {
        "provider": op.provider,
        "operation": op.id,
        "name": op.name,
        "kind": op.kind,
        "output": op.output,
        "method": op.method,
        "path": op.path,
        "model_code": op.model_code,
        "vendor_status": op.vendor_status,
        "description": op.description,
        "notes": list(op.notes),
        "source": op.source,
        "params": [
            {
                "name": p.name,
                "python_name": p.python_name,
                "type": p.type_label,
                "required": p.required,
                "location": p.location,
                "enum": list(p.enum) if p.enum is not None else None,
                "default": p.default if p.has_default else None,
                "minimum": p.minimum,
                "maximum": p.maximum,
                "max_length": p.max_length,
                "max_items": p.max_items,
                "limits": dict(p.limits),
                "description": p.description,
            }
            for p in op.params
        ],
    }


def cmd_generate(args: argparse.Namespace) -> int:
    from .codegen.generate import check, write

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
    drift = write(catalog_dir, out_dir)
    for line in drift.lines():
        print(
            line.replace("stale:  ", "updated:")
            .replace("missing:", "created:")
            .replace("extra:  ", "removed:")
        )
    print(f"{out_dir}: {'up to date' if drift.clean else 'regenerated'}")
    return 0


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


if __name__ == "__main__":
    raise SystemExit(main())
