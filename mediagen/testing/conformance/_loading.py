"""How the suite finds the provider under test: a registry of its own, built for one class.

The registry holds the built-in providers, plus either the plugin objects the class names in
`plugins` (in-process variants, tests of the suite itself), or the installed entry point that
brings the provider. Entry points load here whatever MEDIAGEN_PLUGINS says: that allow-list
is a user's choice about their environment (mediagen's own suite keeps it empty), while a
conformance test asks for one provider by name and must find it. Only the entry points
needed are registered, the one named like the provider first, so an unrelated broken plugin
cannot fail another plugin's suite.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from typing import Any

from ...errors import ConfigurationError
from ...registry import ENTRY_POINT_GROUP, Registry


def provider_registry(provider: str, plugins: Sequence[Any] = ()) -> Registry:
    """A registry whose catalog holds `provider`, or a ConfigurationError saying what was tried."""
    registry = Registry(entry_points=False)
    for index, plugin in enumerate(plugins):
        registry.register(plugin, name=f"conformance-plugin-{index}")
    if _has(registry, provider):
        return registry
    if plugins:
        broken = [p for problems in registry.plugin_problems.values() for p in problems]
        raise ConfigurationError(
            f"no plugin in {_names(plugins)} registers provider {provider!r}"
            f"{_load_problems(broken)}; the registry holds: {_providers(registry)}"
        )
    installed = sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
        key=lambda ep: (ep.name != provider, ep.name),
    )
    problems: list[str] = []  # the catalogs that did not load, as `mediagen list` says
    for ep in installed:
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken unrelated plugin must not hide the right one
            if ep.name == provider:
                raise ConfigurationError(
                    f"the mediagen plugin {ep.name!r} ({ep.value}) failed to load: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            continue
        registry.register(plugin, name=ep.name)
        if _has(registry, provider):
            return registry
        problems += registry.plugin_problems.get(ep.name, [])
        if ep.name == provider and problems:  # installed, but its catalog does not load
            raise ConfigurationError(
                f"provider {provider!r} cannot be tested{_load_problems(problems)}"
            )
        registry.unregister(plugin)
    names = ", ".join(ep.name for ep in installed) or "none"
    if problems:  # perhaps the plugin is installed under another entry point name
        raise ConfigurationError(
            f"no installed mediagen plugin registers provider {provider!r}"
            f"{_load_problems(problems)}; fix it and reinstall (pip install -e .)"
        )
    raise ConfigurationError(
        f"no installed mediagen plugin registers provider {provider!r} (entry points in the "
        f"{ENTRY_POINT_GROUP!r} group: {names}; built-in providers: {_providers(registry)}); "
        f"install the plugin (pip install -e .) or set `plugins` on the test class"
    )


def _has(registry: Registry, provider: str) -> bool:
    return any(p.name == provider for p in registry.catalog.providers)


def _providers(registry: Registry) -> str:
    return ", ".join(p.name for p in registry.catalog.providers) or "none"


def _load_problems(problems: Sequence[str]) -> str:
    """The catalog-load problems as a clause to append to a message (`: ...; ...`), or ""."""
    return f": {'; '.join(problems)}" if problems else ""


def _names(plugins: Sequence[Any]) -> str:
    return ", ".join(type(p).__name__ for p in plugins)
