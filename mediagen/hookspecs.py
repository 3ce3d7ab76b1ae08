"""The plugin contract (pluggy project "mediagen"): the hooks a plugin may implement.

Plugin authors import `hookimpl` from `mediagen.plugin`, never from here.

Two kinds of hooks:

- `mediagen_providers(register)` is asked once when the registry loads: a plugin calls
  `register(...)` for each whole provider it brings (its catalog folder, its generated package,
  its strategies). The built-in providers are registered the same way.
- The five strategy hooks (`mediagen_auth`, `mediagen_task_strategy`, `mediagen_result_parser`,
  `mediagen_error_classifier`, `mediagen_emulator_profile`) are `firstresult` hooks, called
  through pluggy once per provider and cached, never per request. A plugin answers for the
  providers it wants to change and returns None for the others; the first non-None answer wins,
  else the strategy registered with the provider is used. pluggy's ordering applies as it
  documents: plugins registered later are asked first, `tryfirst`/`trylast` move an
  implementation, and `wrapper=True` (or `hookwrapper=True`) implementations see and may
  replace the answer. Whatever is returned must satisfy the hook's protocol (see
  `mediagen.plugin`), or the registry raises `ConfigurationError` naming the plugin.

`mediagen_event` is a broadcast to every plugin; an observer that raises is reported once and
never breaks a task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .catalog.ir import Provider
    from .contributions import Register
    from .events import TaskEvent
    from .strategies import (
        AuthStrategy,
        EmulatorProfile,
        ErrorClassifier,
        ResultParser,
        TaskStrategy,
    )

PROJECT = "mediagen"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def mediagen_providers(register: Register) -> None:
    """Contribute whole providers: call `register(catalog, generated=..., results=..., ...)`.

    :param register: records one provider per call (see `mediagen.plugin.Register`); the
        registry notes which plugin and distribution supplied it. A provider name used twice is
        a `ConfigurationError` naming both distributions; a catalog that does not load disables
        this plugin's providers with a warning and leaves every other provider working.

    Called once per registry load (and again when plugins are registered or removed later).
    """


@hookspec(firstresult=True)
def mediagen_auth(provider: Provider) -> AuthStrategy | None:
    """How requests to `provider` carry credentials (`AuthStrategy`), or None to pass."""


@hookspec(firstresult=True)
def mediagen_task_strategy(provider: Provider) -> TaskStrategy | None:
    """How to submit, poll and read task states (`TaskStrategy`), or None to pass."""


@hookspec(firstresult=True)
def mediagen_result_parser(provider: Provider) -> ResultParser | None:
    """How to turn a finished result payload into artifacts (`ResultParser`), or None."""


@hookspec(firstresult=True)
def mediagen_error_classifier(provider: Provider) -> ErrorClassifier | None:
    """How to tell success from failure and map failures to the error tree, or None."""


@hookspec(firstresult=True)
def mediagen_emulator_profile(provider: Provider) -> EmulatorProfile | None:
    """How the local emulator speaks this provider's wire protocol, or None."""


@hookspec
def mediagen_event(event: TaskEvent) -> None:
    """Broadcast to every plugin: a task was submitted, changed state, or finished."""
