"""`mediagen new-plugin NAME [--output DIR]`: create a provider plugin package."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from .common import UsageError, out


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "new-plugin",
        description="Create an installable plugin package for a new provider NAME: its "
        "pyproject.toml with the entry point, a catalog with one example task operation, the "
        "package generated from it, the plugin module, a conformance test and a README. "
        "Install it with `pip install -e DIR`. Needs the code generator: "
        "pip install 'mediagen[codegen]'.",
    )
    p.add_argument(
        "name",
        metavar="NAME",
        help="the provider's name: a lowercase Python identifier (a-z, then a-z, 0-9 or _)",
    )
    p.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="the folder to create, new or empty (default: ./mediagen-NAME)",
    )
    p.set_defaults(func=cmd_new_plugin)


def cmd_new_plugin(args: argparse.Namespace) -> int:
    from ..scaffold import (
        EXAMPLE_OPERATION,
        PluginNames,
        ScaffoldError,
        create_plugin,
        default_destination,
    )

    destination: Path = args.output or default_destination(args.name)
    try:
        files = create_plugin(args.name, destination)
    except ScaffoldError as exc:
        raise UsageError(str(exc)) from None
    names = PluginNames.for_provider(args.name)
    out(
        f"created {destination}/: provider {names.provider}, distribution "
        f"{names.distribution}, package {names.package} ({len(files)} files)"
    )
    folder = shlex.quote(str(destination))
    out("next:")
    out(f"  pip install -e {shlex.quote(f'{destination}[dev]')}  # with its tests' needs (pytest)")
    out(f"  mediagen list {names.provider}")
    out(f'  mediagen run {names.provider} {EXAMPLE_OPERATION} prompt="a red kite" --emulate')
    out(f"  pytest {folder}")
    out(f"then describe your vendor in {folder}/{names.package}/catalog/ (see its README.md)")
    return 0
