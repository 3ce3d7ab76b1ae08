"""The plugin manager and the per-provider strategy cache.

Built-in provider plugins are registered directly; third-party plugins come from the
`mediagen` entry-point group, filtered by the MEDIAGEN_PLUGINS allow-list when it is set
(a comma-separated list of entry-point names; empty means none).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
from typing import Any

import attrs
import pluggy

from . import hookspecs
from .catalog import Catalog, Provider, default_catalog
from .errors import ConfigurationError
from .events import TaskEvent
from .strategies import AuthStrategy, EmulatorProfile, ErrorClassifier, ResultParser, TaskStrategy

log = logging.getLogger(__name__)

BUILTIN_PLUGINS = (
    "mediagen.plugins.mediaio",
    "mediagen.plugins.tomoviee",
    "mediagen.plugins.edrawmax",
)
ENTRY_POINT_GROUP = "mediagen"
ALLOW_LIST_ENV = "MEDIAGEN_PLUGINS"

STRATEGY_HOOKS = {
    "auth": "mediagen_auth",
    "task": "mediagen_task_strategy",
    "results": "mediagen_result_parser",
    "errors": "mediagen_error_classifier",
    "emulator": "mediagen_emulator_profile",
}


@attrs.frozen
class ProviderStrategies:
    provider: Provider
    auth: AuthStrategy
    task: TaskStrategy
    results: ResultParser
    errors: ErrorClassifier
    emulator: EmulatorProfile | None
    sources: dict[str, str]
    """Strategy name -> the plugin that supplied it."""


class Registry:
    """One plugin manager plus the strategies it resolved, cached per provider."""

    def __init__(self, catalog: Catalog | None = None, *, entry_points: bool = True) -> None:
        self.catalog = catalog or default_catalog()
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        for module_name in BUILTIN_PLUGINS:
            module = importlib.import_module(module_name)
            self.pm.register(module.plugin, name=module_name.rsplit(".", 1)[-1])
        if entry_points:
            self._load_entry_points()
        self._cache: dict[str, ProviderStrategies] = {}

    def _load_entry_points(self) -> None:
        allowed = os.environ.get(ALLOW_LIST_ENV)
        names = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
        installed = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        unknown = sorted((names or set()) - {ep.name for ep in installed})
        if unknown:  # a typo here would silently load nothing
            log.warning(
                "%s names %s, not an installed mediagen plugin; installed: %s",
                ALLOW_LIST_ENV,
                ", ".join(repr(n) for n in unknown),
                ", ".join(sorted(ep.name for ep in installed)) or "none",
            )
        for ep in installed:
            if names is not None and ep.name not in names:
                log.debug("plugin %s not in %s; skipped", ep.name, ALLOW_LIST_ENV)
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
                self.pm.register(plugin, name=ep.name)
            except Exception as exc:
                raise ConfigurationError(
                    f"the mediagen plugin {ep.name!r} ({ep.value}) failed to load: {exc}; "
                    f"leave it out with {ALLOW_LIST_ENV}=<the plugins to load>"
                ) from exc

    def register(self, plugin: Any, name: str | None = None) -> None:
        self.pm.register(plugin, name=name)
        self._cache.clear()

    def unregister(self, plugin: Any) -> None:
        self.pm.unregister(plugin)
        self._cache.clear()

    def plugin_names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]

    def strategies(self, provider_name: str) -> ProviderStrategies:
        cached = self._cache.get(provider_name)
        if cached is not None:
            return cached
        try:
            provider = self.catalog.provider(provider_name)
        except KeyError as exc:
            raise ConfigurationError(exc.args[0]) from None
        found: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for key, hook_name in STRATEGY_HOOKS.items():
            value, source = self._first(hook_name, provider)
            found[key] = value
            if source:
                sources[key] = source
        missing = [k for k in ("auth", "task", "results", "errors") if found[k] is None]
        if missing:
            raise ConfigurationError(
                f"no plugin supplies the {', '.join(missing)} strategy for provider {provider_name!r}"
            )
        resolved = ProviderStrategies(provider=provider, sources=sources, **found)
        self._cache[provider_name] = resolved
        return resolved

    def _first(self, hook_name: str, provider: Provider) -> tuple[Any, str | None]:
        """firstresult semantics, keeping track of which plugin answered."""
        caller = getattr(self.pm.hook, hook_name)
        args = {"provider": provider}
        for impl in reversed(caller.get_hookimpls()):
            value = impl.function(*(args[name] for name in impl.argnames))
            if value is not None:
                return value, impl.plugin_name
        return None, None

    def emit(self, event: TaskEvent) -> None:
        try:
            self.pm.hook.mediagen_event(event=event)
        except Exception:  # an observer must never break a task
            log.exception("a mediagen_event observer failed on %s", event.kind)


_default: Registry | None = None


def default_registry() -> Registry:
    global _default
    if _default is None:
        _default = Registry()
    return _default
