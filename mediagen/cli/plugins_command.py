"""`mediagen plugins`: which plugins are loaded, and which supplies each provider's strategies."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..registry import STRATEGY_HOOKS, default_registry
from .common import out


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("plugins", help="list loaded plugins and the strategies each supplies")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_plugins)


def cmd_plugins(args: argparse.Namespace) -> int:
    registry = default_registry()
    rows = []
    for provider in registry.catalog.providers:
        strategies = registry.strategies(provider.name)
        for key in STRATEGY_HOOKS:
            value = getattr(strategies, key)
            rows.append(
                {
                    "provider": provider.name,
                    "strategy": key,
                    "plugin": strategies.sources.get(key),
                    "class": f"{type(value).__module__}.{type(value).__qualname__}"
                    if value is not None
                    else None,
                }
            )
    if args.json:
        print(json.dumps({"plugins": registry.plugin_names(), "strategies": rows}, indent=2))
        return 0
    out("plugins: " + ", ".join(registry.plugin_names()))
    for row in rows:
        out(
            f"  {row['provider']:<10} {row['strategy']:<9} {row['plugin'] or '-':<12} {row['class'] or '-'}"
        )
    return 0
