"""`mediagen plugins`: each loaded plugin, where it comes from, what it contributes and overrides."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .common import json_text, out

if TYPE_CHECKING:
    from ..registry import Registry


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("plugins")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_plugins)


def cmd_plugins(args: argparse.Namespace) -> int:
    from ..registry import default_registry

    report = plugins_report(default_registry())
    if args.json:
        print(json_text(report, indent=2))
        return 0
    for plugin in report["plugins"]:
        where = plugin["distribution"] or "registered in code"
        if plugin["version"]:
            where += f" {plugin['version']}"
        out(f"{plugin['name']} ({where}{', built in' if plugin['builtin'] else ''})")
        if plugin["providers"]:
            out(f"  providers: {', '.join(plugin['providers'])}")
        for o in plugin["overrides"]:
            out(f"  overrides {o['provider']}.{o['strategy']} (replacing {o['replaces']}'s)")
        for problem in plugin["problems"]:
            out(f"  problem: {problem}")
    out("strategies:")
    for row in report["strategies"]:
        out(
            f"  {row['provider']:<10} {row['strategy']:<9} {row['plugin'] or '-':<12} {row['class'] or '-'}"
        )
    shown = {problem for plugin in report["plugins"] for problem in plugin["problems"]}
    others = [problem for problem in report["problems"] if problem not in shown]
    if others:  # the ones of plugins that are not loaded, or of no one plugin
        out("problems:")
        for problem in others:
            out(f"  {problem}")
    return 0


def plugins_report(registry: Registry) -> dict[str, Any]:
    """Per plugin: distribution, version, providers contributed, strategies overridden; per
    provider and strategy, the plugin and class that supply it; and the problems that disabled
    an installed plugin or one of its providers (also under a loaded plugin whose catalog does
    not load)."""
    from ..registry import STRATEGY_HOOKS

    rows: list[dict[str, Any]] = []
    overrides: dict[str, list[dict[str, str]]] = {}
    for provider in registry.catalog.providers:
        strategies = registry.strategies(provider.name)
        for key in STRATEGY_HOOKS:
            value = getattr(strategies, key)
            source = strategies.sources.get(key)
            rows.append(
                {
                    "provider": provider.name,
                    "strategy": key,
                    "plugin": source,
                    "class": f"{type(value).__module__}.{type(value).__qualname__}"
                    if value is not None
                    else None,
                }
            )
            replaced = strategies.replaces.get(key)
            if source and replaced:
                for name in source.split(", "):
                    overrides.setdefault(name, []).append(
                        {"provider": provider.name, "strategy": key, "replaces": replaced}
                    )
    contributed: dict[str, list[str]] = {}
    for c in registry.contributions():
        contributed.setdefault(c.plugin, []).append(c.name)
    plugins = [
        {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "builtin": info.builtin,
            "providers": contributed.get(info.name, []),
            "overrides": overrides.get(info.name, []),
            "problems": list(registry.plugin_problems.get(info.name, [])),
        }
        for info in registry.plugins()
    ]
    return {"plugins": plugins, "strategies": rows, "problems": list(registry.problems)}
