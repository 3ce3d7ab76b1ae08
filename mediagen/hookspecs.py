"""The plugin contract (pluggy project "mediagen").

Hooks resolve strategies; they are called once per provider and the results cached, never
per request. A plugin may override one strategy of a catalog provider (or supply all of them
for a provider that has catalog files):
plugins registered later are asked first, and the first non-None answer wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .catalog.ir import Provider
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


@hookspec(firstresult=True)
def mediagen_auth(provider: Provider) -> AuthStrategy | None:
    """How requests to this provider carry credentials."""


@hookspec(firstresult=True)
def mediagen_task_strategy(provider: Provider) -> TaskStrategy | None:
    """How to submit, poll and read task states (per operation, inside the strategy)."""


@hookspec(firstresult=True)
def mediagen_result_parser(provider: Provider) -> ResultParser | None:
    """How to turn a finished result payload into artifacts."""


@hookspec(firstresult=True)
def mediagen_error_classifier(provider: Provider) -> ErrorClassifier | None:
    """How to tell success from failure and map failures to the error tree."""


@hookspec(firstresult=True)
def mediagen_emulator_profile(provider: Provider) -> EmulatorProfile | None:
    """How the local emulator speaks this provider's wire protocol."""


@hookspec
def mediagen_event(event: TaskEvent) -> None:
    """Broadcast to every plugin: a task was submitted, changed state, or finished."""
