"""The plugin manager, the merged catalog and the per-provider strategy cache.

Built-in plugins are registered directly; third-party plugins come from the `mediagen`
entry-point group, filtered by the MEDIAGEN_PLUGINS allow-list when it is set (a
comma-separated list of entry-point names; empty means none). Every plugin may contribute
providers through `mediagen_providers(register)`; the built-ins contribute theirs the same way,
and the providers of all of them form the one catalog the client, CLI, journal and emulator read.

Strategy hooks are called through pluggy (`pm.hook.<name>(provider=...)`, firstresult), so
wrappers and tryfirst/trylast behave as pluggy documents; `mediagen.hook_tracing` tells which
plugin answered, and reports a plugin that raises once, by name.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from . import __version__, hookspecs
from .catalog import Catalog, CatalogError, Provider
from .catalog.frozen import Record, field
from .contributions import STRATEGY_KEYS, Factory, ProviderContribution, load_contributed
from .entry_points import entry_points
from .errors import ConfigurationError
from .hook_tracing import HookTracer
from .hookspecs import hookimpl
from .lazy_logging import get_logger

if TYPE_CHECKING:  # the strategy protocols load with the first provider's strategies
    from .events import TaskEvent
    from .strategies import (
        AuthStrategy,
        EmulatorProfile,
        ErrorClassifier,
        ResultParser,
        TaskStrategy,
    )

log = get_logger(__name__)

BUILTIN_PLUGINS = (
    "mediagen.plugins.mediaio",
    "mediagen.plugins.tomoviee",
    "mediagen.plugins.edrawmax",
)
"""Modules whose `plugin` object brings a built-in provider in every registry (through
`mediagen_providers`, like any plugin). Each module is imported when its provider's
strategies are first needed (see `_BuiltinPlugin`): its strategy classes subclass the
catalog-driven ones, and listing the catalog needs none of them."""
CATALOG_ONLY = "<catalog>"
"""The supplier of a provider that a `Registry(catalog=...)` holds and no plugin registered."""
REGISTERED = "mediagen.registered"
"""The registry's own plugin: answers each strategy hook, last, with the strategy the provider
was registered with, so wrappers see it and any other plugin's answer replaces it."""
ENTRY_POINT_GROUP = "mediagen"
ALLOW_LIST_ENV = "MEDIAGEN_PLUGINS"

STRATEGY_HOOKS = {
    "auth": "mediagen_auth",
    "task": "mediagen_task_strategy",
    "results": "mediagen_result_parser",
    "errors": "mediagen_error_classifier",
    "emulator": "mediagen_emulator_profile",
}


def _protocols() -> dict[str, type]:
    """Strategy key -> the protocol its strategy must satisfy."""
    from .strategies import (
        AuthStrategy,
        EmulatorProfile,
        ErrorClassifier,
        ResultParser,
        TaskStrategy,
    )

    return {
        "auth": AuthStrategy,
        "task": TaskStrategy,
        "results": ResultParser,
        "errors": ErrorClassifier,
        "emulator": EmulatorProfile,
    }


class ProviderStrategies(Record):
    provider: Provider
    auth: AuthStrategy
    task: TaskStrategy
    results: ResultParser
    errors: ErrorClassifier
    emulator: EmulatorProfile | None
    sources: dict[str, str]
    """Strategy name -> the plugin that supplied it."""
    replaces: dict[str, str] = field(factory=dict)
    """Strategy name -> the plugin whose registered strategy a hook answer replaced."""


class PluginInfo(Record):
    """A loaded plugin and where it came from."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool


class Registry:
    """One plugin manager, the providers its plugins contribute, and their resolved strategies."""

    def __init__(self, catalog: Catalog | None = None, *, entry_points: bool = True) -> None:
        """The built-in plugins, plus the installed entry points unless `entry_points=False`.

        `catalog` (tests, tools) replaces the merged catalog with exactly its providers: a
        provider no plugin registered is served from the catalog alone (catalog-driven
        strategies, no generated package), and plugins' strategy hooks still apply to it.
        """
        self._given = catalog
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._info: dict[str, PluginInfo] = {}
        self._tracer = HookTracer()
        self._lock = threading.RLock()
        self._models: dict[str, type[Any]] = {}
        # First, so that every other plugin's answers (trylast ones included) come before it.
        registered = _RegisteredStrategies(self)
        self.pm.register(registered, name=REGISTERED)
        self._tracer.trace(self.pm, registered)
        for module_name in BUILTIN_PLUGINS:
            name = module_name.rsplit(".", 1)[-1]
            builtin = _BuiltinPlugin(module_name, name)
            self._add(builtin, name, PluginInfo(name, "mediagen", __version__, True))
        self.problems: list[str] = []
        """Why an installed plugin (misspelt hook), its catalog (does not load) or a provider
        (name clash) was disabled."""
        self.plugin_problems: dict[str, list[str]] = {}
        """The same problems that concern one loaded plugin (its catalog does not load), by
        plugin name: `mediagen plugins` lists them under it."""
        if entry_points:
            self._load_entry_points()
        self._check_pending(disable=True)
        self._cache: dict[str, ProviderStrategies] = {}
        self._collect()

    # -- loading ------------------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        allowed = os.environ.get(ALLOW_LIST_ENV)
        names = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
        if names is not None and not names:
            return  # none allowed: no need to look for them
        installed = entry_points(ENTRY_POINT_GROUP)
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
            except Exception as exc:
                raise ConfigurationError(
                    f"the mediagen plugin {ep.name!r} ({ep.value}) failed to load: {exc}; "
                    f"leave it out with {ALLOW_LIST_ENV}=<the plugins to load>"
                ) from exc
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                ep.name,
                dist.name if dist is not None else None,
                dist.version if dist is not None else None,
                False,
            )
            self._add(plugin, ep.name, info)

    def _add(self, plugin: Any, name: str, info: PluginInfo) -> None:
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise ConfigurationError(
                f"the mediagen plugin {name!r} does not fit the hooks: {' '.join(str(exc).split())}"
            ) from None
        if self.pm.get_name(plugin) is None:  # blocked, or registered under another name
            return
        self._info[name] = info
        self._tracer.trace(self.pm, plugin)

    def _check_pending(self, *, disable: bool = False) -> None:
        """Misspelt hooks: an error, or with `disable` the plugin is warned about and dropped."""
        while True:
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin) or type(exc.plugin).__name__
                info = self._info.get(name)
                dist = f" (distribution {info.distribution})" if info and info.distribution else ""
                known = ", ".join(n for n in vars(hookspecs) if n.startswith("mediagen_"))
                unknown = sorted(  # named here: pluggy's message shows the plugin's repr
                    c.name for c in self.pm.get_hookcallers(exc.plugin) or [] if c.spec is None
                )
                problem = (
                    f"the mediagen plugin {name!r}{dist} implements a hook that does not exist: "
                    f"{', '.join(unknown)}; the hooks are: {known}"
                )
                if not disable or (info is not None and info.builtin):
                    self.pm.unregister(exc.plugin)
                    self._info.pop(name, None)
                    raise ConfigurationError(problem) from None
                log.warning("%s; the plugin is disabled", problem)
                self.problems.append(f"{problem}; the plugin is disabled")
                self.pm.unregister(exc.plugin)
                self._info.pop(name, None)

    # -- providers ----------------------------------------------------------------------------

    def _collect(self) -> None:
        """Ask every plugin for its providers and build the merged catalog."""
        with self._lock:
            self._collect_locked()

    def _collect_locked(self) -> None:
        found: list[ProviderContribution] = []
        broken: set[str] = set()
        load_problems: dict[str, list[str]] = {}
        self._tracer.raised.clear()

        def register(
            catalog: str | Path | Provider,
            *,
            generated: str,
            results: Factory | None = None,
            auth: Factory | None = None,
            task: Factory | None = None,
            errors: Factory | None = None,
            emulator: Factory | None = None,
        ) -> None:
            plugin = self._tracer.current() or "<unknown>"
            info = self._info.get(plugin)
            dist = info.distribution if info else None
            try:
                provider = load_contributed(catalog, generated)
                _check_generated(provider.name, generated)
            except (CatalogError, ConfigurationError, OSError) as exc:
                broken.add(plugin)
                problem = " ".join(str(exc).split())
                supplier = f"{plugin!r}" + (f" (distribution {dist})" if dist else "")
                message = (
                    f"mediagen plugin {supplier}: its provider catalog does not load: "
                    f"{problem}; its providers are disabled"
                )
                self._tracer.warn_once((plugin, problem), "%s", message)  # not on each collect
                load_problems.setdefault(plugin, []).append(message)
                if message not in self.problems:
                    self.problems.append(message)
                return
            factories = {
                "auth": auth,
                "task": task,
                "results": results,
                "errors": errors,
                "emulator": emulator,
            }
            found.append(ProviderContribution(provider, generated, factories, plugin, dist))

        self.pm.hook.mediagen_providers(register=register)
        broken |= {p for p, hook in self._tracer.raised if hook == "mediagen_providers"}
        kept: dict[str, ProviderContribution] = {}
        loaded = list(self._info)  # pluggy calls later plugins first: order by loading instead
        found.sort(key=lambda c: (not self._is_builtin(c.plugin), _index(loaded, c.plugin)))
        for contribution in found:
            if contribution.plugin in broken:
                continue
            other = kept.get(contribution.name)
            if other is not None:  # a built-in, or the plugin loaded first, keeps the name
                problem = (
                    f"provider {contribution.name!r} is contributed twice: by {other.supplier} "
                    f"and by {contribution.supplier}; the one by {contribution.supplier} is "
                    f"disabled; leave one out with {ALLOW_LIST_ENV}"
                )
                if problem not in self.problems:
                    self.problems.append(problem)
                self._tracer.warn_once((contribution.plugin, problem), "%s", problem, error=True)
                continue
            kept[contribution.name] = contribution
        # Built-in providers first, then contributed ones; each group by name.
        ordered = sorted(kept.values(), key=lambda c: (not self._is_builtin(c.plugin), c.name))
        if self._given is not None:
            ordered = [
                _with_provider(kept[p.name], p)
                if p.name in kept
                else ProviderContribution(p, None, {}, CATALOG_ONLY)
                for p in self._given.providers
            ]
        self.plugin_problems = load_problems
        self._contributions = {c.name: c for c in ordered}
        self.catalog = Catalog(providers=tuple(c.provider for c in ordered))
        self._cache.clear()
        self._models.clear()

    def _is_builtin(self, plugin: str) -> bool:
        info = self._info.get(plugin)
        return bool(info and info.builtin)

    def contribution(self, provider: str) -> ProviderContribution:
        found = self._contributions.get(provider)
        if found is None:
            known = ", ".join(self._contributions) or "none"
            raise ConfigurationError(f"no provider {provider!r}; known: {known}")
        return found

    def contributions(self) -> tuple[ProviderContribution, ...]:
        return tuple(self._contributions.values())

    def generated(self, provider: str) -> ModuleType:
        """The provider's generated package (endpoints classes and `models`)."""
        return importlib.import_module(f"{self._generated_index(provider)}.{provider}")

    def _generated_index(self, provider: str) -> str:
        index = self.contribution(provider).generated
        if index is None:
            raise ConfigurationError(
                f"provider {provider!r} comes from a catalog alone and has no generated code; "
                "build its parameter models by hand and call client.submit / run / query"
            )
        return index

    def endpoints_class(self, provider: str, *, blocking: bool) -> type:
        """The generated endpoints class of a provider: `Async<Name>`, or `<Name>` if blocking."""
        index = importlib.import_module(self._generated_index(provider))
        async_name, sync_name = index.PROVIDERS[provider]
        cls: type = getattr(self.generated(provider), sync_name if blocking else async_name)
        return cls

    def model_for(self, operation: str) -> type[Any]:
        """The generated parameter model of "provider.operation" (a `ParamsModel` subclass)."""
        provider, _, _ = operation.partition(".")
        if self._contributions.get(provider) is None or not self._contributions[provider].generated:
            raise KeyError(f"no generated provider {provider!r}")
        if not self._models.get(operation):
            from .params import ParamsModel

            for value in vars(self.generated(provider).models).values():
                if isinstance(value, type) and issubclass(value, ParamsModel) and value.OPERATION:
                    self._models[value.OPERATION] = value
        found = self._models.get(operation)
        if found is None:
            raise KeyError(f"no generated model for {operation!r}")
        return found

    # -- plugins ------------------------------------------------------------------------------

    def register(self, plugin: Any, name: str | None = None) -> None:
        """Add a plugin in code (tests, applications); it is asked before the earlier ones."""
        plugin_name = name or self.pm.get_canonical_name(plugin)
        self._add(plugin, plugin_name, PluginInfo(plugin_name, None, None, False))
        self._check_pending()
        self._collect()

    def unregister(self, plugin: Any) -> None:
        name = self.pm.get_name(plugin)
        self.pm.unregister(plugin)
        self._info.pop(name or "", None)
        self._collect()

    def plugin_names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin() if name != REGISTERED]

    def plugins(self) -> list[PluginInfo]:
        """Loaded plugins, in registration order."""
        return [
            self._info.get(name) or PluginInfo(name, None, None, False)
            for name in self.plugin_names()
        ]

    # -- strategies ---------------------------------------------------------------------------

    def strategies(self, provider_name: str) -> ProviderStrategies:
        """The provider's five strategies, resolved once through the hooks and cached."""
        cached = self._cache.get(provider_name)
        if cached is not None:
            return cached
        with self._lock:
            return self._cache.get(provider_name) or self._resolve(provider_name)

    def _resolve(self, provider_name: str) -> ProviderStrategies:
        contribution = self.contribution(provider_name)
        provider = contribution.provider
        found: dict[str, Any] = {}
        sources: dict[str, str] = {}
        replaces: dict[str, str] = {}
        for key in STRATEGY_KEYS:
            value, source = self._ask(STRATEGY_HOOKS[key], provider)
            found[key] = value
            if value is None:
                continue
            if source == REGISTERED:
                source = contribution.plugin
                where = f"register(..., {key}=...) for provider {provider_name!r}"
            else:
                replaces[key] = contribution.plugin
                where = f"{STRATEGY_HOOKS[key]} for provider {provider_name!r}"
            _check_protocol(value, key, source, where)
            sources[key] = source
        missing = [k for k in ("auth", "task", "results", "errors") if found[k] is None]
        if missing:
            raise ConfigurationError(
                f"no plugin supplies the {', '.join(missing)} strategy for provider {provider_name!r}"
            )
        resolved = ProviderStrategies(
            provider=provider, sources=sources, replaces=replaces, **found
        )
        self._cache[provider_name] = resolved
        return resolved

    def _ask(self, hook_name: str, provider: Provider) -> tuple[Any, str]:
        """The hook's answer through pluggy, and the plugin that gave it."""
        self._tracer.answers().clear()
        value = getattr(self.pm.hook, hook_name)(provider=provider)
        if value is None:
            return None, ""
        for plugin, answer in self._tracer.answers():
            if answer is value:
                return value, plugin
        # A wrapper replaced the answer: name the wrappers.
        wrappers = [
            impl.plugin_name
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls()
            if impl.wrapper or impl.hookwrapper
        ]
        return value, ", ".join(wrappers) or "<wrapper>"

    def _default(self, contribution: ProviderContribution, key: str) -> Any:
        factory = contribution.factories.get(key) or _catalog_default(key)
        try:
            return factory(contribution.provider)
        except ConfigurationError:
            raise
        except Exception as exc:
            raise ConfigurationError(
                f"the mediagen plugin {contribution.plugin!r} failed to build the {key} strategy "
                f"of provider {contribution.name!r}: {type(exc).__name__}: {exc}"
            ) from exc

    def registered_strategy(self, provider: Provider, key: str) -> Any:
        """The strategy `key` the provider was registered with (None for a provider that is
        not, as given, in the merged catalog)."""
        contribution = self._contributions.get(provider.name)
        if contribution is None or contribution.provider is not provider:
            return None
        return self._default(contribution, key)

    def emit(self, event: TaskEvent) -> None:
        # The tracer reports an observer that raises (once) and lets the others run.
        self.pm.hook.mediagen_event(event=event)


class _RegisteredStrategies:
    """Answers the strategy hooks with what each provider was registered with (see REGISTERED)."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __dir__(self) -> list[str]:
        return _hook_names(self)

    @hookimpl(trylast=True)
    def mediagen_auth(self, provider: Provider) -> Any:
        return self._registry.registered_strategy(provider, "auth")

    @hookimpl(trylast=True)
    def mediagen_task_strategy(self, provider: Provider) -> Any:
        return self._registry.registered_strategy(provider, "task")

    @hookimpl(trylast=True)
    def mediagen_result_parser(self, provider: Provider) -> Any:
        return self._registry.registered_strategy(provider, "results")

    @hookimpl(trylast=True)
    def mediagen_error_classifier(self, provider: Provider) -> Any:
        return self._registry.registered_strategy(provider, "errors")

    @hookimpl(trylast=True)
    def mediagen_emulator_profile(self, provider: Provider) -> Any:
        return self._registry.registered_strategy(provider, "emulator")


class _BuiltinPlugin:
    """A built-in plugin module's `plugin` (a `ProviderPlugin` with a catalog), standing in
    for it until its strategies are needed: it contributes the same provider (catalog folder,
    generated package) with factories that import the module then and build what its plugin's
    factory (or, where it has none, the catalog-driven default) builds."""

    def __init__(self, module_name: str, name: str) -> None:
        self.module_name = module_name
        self.name = name

    def __repr__(self) -> str:
        return f"ProviderPlugin({self.name!r})"

    def __dir__(self) -> list[str]:
        return _hook_names(self)

    @hookimpl
    def mediagen_providers(self, register: Any) -> None:
        from .catalog.folders import default_root

        register(
            default_root() / self.name,
            generated="mediagen.generated",
            **{key: functools.partial(self._build, key) for key in STRATEGY_KEYS},
        )

    def _build(self, key: str, provider: Provider) -> Any:
        plugin = importlib.import_module(self.module_name).plugin
        factory = getattr(plugin, key)
        if factory is None:
            return _catalog_default(key)(provider)
        return factory(provider)


def _hook_names(plugin: object) -> list[str]:
    """What pluggy needs from `dir()` of the registry's own plugin objects: the names of
    their hook implementations (it looks up every name `dir()` gives, statically, at
    registration: about thirty object attributes each, a tenth of a registry's set-up)."""
    return [name for name in vars(type(plugin)) if name.startswith("mediagen_")]


def _catalog_default(key: str) -> Factory:
    """The catalog-driven strategy class for `key` (one of `STRATEGY_KEYS`)."""
    from .emulation import CatalogEmulatorProfile
    from .protocol import (
        CatalogAuth,
        CatalogErrorClassifier,
        CatalogResults,
        CatalogTaskStrategy,
    )

    defaults: dict[str, Factory] = {
        "auth": CatalogAuth,
        "task": CatalogTaskStrategy,
        "results": CatalogResults,
        "errors": CatalogErrorClassifier,
        "emulator": CatalogEmulatorProfile,
    }
    return defaults[key]


def _with_provider(contribution: ProviderContribution, provider: Provider) -> ProviderContribution:
    return ProviderContribution(
        provider,
        contribution.generated,
        contribution.factories,
        contribution.plugin,
        contribution.distribution,
    )


def _index(names: list[str], name: str) -> int:
    return names.index(name) if name in names else len(names)


def _check_protocol(value: Any, key: str, plugin: str, where: str) -> None:
    protocol = _protocols()[key]
    missing = [name for name in _members(protocol) if not callable(getattr(value, name, None))]
    if missing or not isinstance(value, protocol):
        raise ConfigurationError(
            f"the mediagen plugin {plugin!r} returned {type(value).__name__} from {where}, "
            f"which is not a {protocol.__name__}: it lacks {', '.join(missing) or 'nothing'}"
        )


@functools.cache
def _members(protocol: type) -> tuple[str, ...]:
    return tuple(
        name for name, v in vars(protocol).items() if callable(v) and not name.startswith("_")
    )


def _check_generated(provider: str, generated: str) -> None:
    try:
        found = importlib.util.find_spec(f"{generated}.{provider}")
    except (ImportError, ValueError) as exc:
        found, problem = None, f": {exc}"
    else:
        problem = ""
    if found is None:
        raise ConfigurationError(
            f"the generated package {generated}.{provider} cannot be imported{problem} "
            f"(run `mediagen generate` in the plugin's root)"
        )


_default: Registry | None = None


def built_default_registry() -> Registry | None:
    """The process-wide registry if something has built it already, else None (nothing is
    loaded to answer)."""
    return _default


def default_registry() -> Registry:
    """The process-wide registry: built-ins plus installed entry points (MEDIAGEN_PLUGINS)."""
    global _default
    if _default is None:
        _default = Registry()
    return _default
