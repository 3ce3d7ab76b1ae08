"""Which plugin answered a hook, and a plugin that raises reported once by name.

pluggy orders and calls hook implementations; it does not say which one produced a
`firstresult` answer, nor which plugin a broadcast hook is running. The registry therefore
wraps each plugin's own (non-wrapper) hook functions with a thin tracer when it registers the
plugin: pluggy still decides the order, wrappers and tryfirst/trylast as it documents.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import pluggy

from .errors import ConfigurationError
from .lazy_logging import get_logger

log = get_logger("mediagen.registry")

FORGIVING_HOOKS = frozenset({"mediagen_event", "mediagen_providers"})
"""Hooks where a plugin that raises is reported and skipped: an observer or a contributor never
breaks a task or the other plugins. Elsewhere it is a `ConfigurationError` naming the plugin."""


class HookTracer:
    def __init__(self) -> None:
        self._local = threading.local()  # per thread: running plugins, answers given
        self._reported: set[tuple[str, str]] = set()
        self.raised: set[tuple[str, str]] = set()
        """(plugin, hook) pairs that raised in a forgiving hook."""

    def trace(self, pm: pluggy.PluginManager, plugin: object) -> None:
        """Wrap the plugin's hook functions (pluggy's `HookImpl.function`)."""
        for caller in pm.get_hookcallers(plugin) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                    traced = self._traced(caller.name, impl.plugin_name, impl.function)
                    setattr(impl, "function", traced)  # noqa: B010 - a Final attribute to mypy

    def current(self) -> str | None:
        """The plugin whose hook function is running on this thread, if any."""
        stack = self._stack()
        return stack[-1] if stack else None

    def answers(self) -> list[tuple[str, Any]]:
        """(plugin, answer) for every non-None answer on this thread since `clear()`."""
        if not hasattr(self._local, "answers"):
            self._local.answers = []
        answers: list[tuple[str, Any]] = self._local.answers
        return answers

    def warn_once(
        self, key: tuple[str, str], message: str, *args: object, error: bool = False
    ) -> None:
        """Log a warning (with `error`, an error) the first time `key` comes; a debug message
        after that."""
        if key in self._reported:
            log.debug(message, *args)
            return
        self._reported.add(key)
        (log.error if error else log.warning)(message, *args)

    def _stack(self) -> list[str]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        stack: list[str] = self._local.stack
        return stack

    def _traced(self, hook: str, plugin: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def traced(*args: Any) -> Any:
            self._stack().append(plugin)
            try:
                value = function(*args)
            except ConfigurationError:
                raise
            except Exception as exc:
                if hook not in FORGIVING_HOOKS:  # the error itself reports it: no warning too
                    raise ConfigurationError(
                        f"the mediagen plugin {plugin!r} raised in {hook}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                self.warn_once(
                    (plugin, hook),
                    "the mediagen plugin %r raised in %s: %s: %s%s",
                    plugin,
                    hook,
                    type(exc).__name__,
                    exc,
                    "; its providers are disabled" if hook == "mediagen_providers" else "",
                )
                self.raised.add((plugin, hook))
                return None
            finally:
                self._stack().pop()
            if value is not None:
                self.answers().append((plugin, value))
            return value

        return traced
