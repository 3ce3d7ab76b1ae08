"""Test helpers for code that uses mediagen: a local emulator of every provider.

    from mediagen.testing import Emulator

    async with Emulator() as emu:
        async with mediagen.AsyncClient(**emu.client_options()) as client:
            ...

Blocking code and pytest users: `EmulatorThread`, or the `mediagen_emulator` fixture
(enabled automatically when mediagen is installed). What the emulator is told to do (outcomes,
faults, durations, status words) is one `Scenario`, also set by a scenario file or the admin
HTTP API under `/__mediagen__/` (docs/emulator.md).

Plugin authors trying strategies without installing anything: `Registry(entry_points=False)`
holds the built-in providers only; `registry.register(plugin, name=...)` adds a plugin, and
`AsyncClient(registry=registry)` or `Emulator(registry=registry)` uses it
(docs/writing-a-plugin.md, section 4).
"""

from typing import Any

from ..registry import Registry
from .emulator import FAST_POLLING, Emulator, Fault, RecordedRequest, emulator_credentials
from .scenario import Outcome, Scenario
from .scenario_file import ScenarioError
from .thread import EmulatorThread


def __getattr__(name: str) -> Any:
    # EMULATOR_CREDENTIALS loads the shipped catalog: only when someone asks for it.
    if name == "EMULATOR_CREDENTIALS":
        from . import emulator

        return emulator.EMULATOR_CREDENTIALS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EMULATOR_CREDENTIALS",
    "FAST_POLLING",
    "Emulator",
    "EmulatorThread",
    "Fault",
    "Outcome",
    "RecordedRequest",
    "Registry",
    "Scenario",
    "ScenarioError",
    "emulator_credentials",
]
