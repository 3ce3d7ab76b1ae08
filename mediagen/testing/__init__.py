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

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..registry import Registry
    from .emulator import FAST_POLLING, Emulator, Fault, RecordedRequest, emulator_credentials
    from .scenario import Outcome, Scenario
    from .scenario_file import ScenarioError
    from .thread import EmulatorThread

# Where each name lives, imported on first use: pytest imports this package to load the
# `mediagen_emulator` plugin (`mediagen.testing.pytest_plugin`), and a test run that never
# uses the emulator should not import aiohttp, the emulator and the catalog for it.
# EMULATOR_CREDENTIALS also loads the shipped catalog.
_HOMES = {
    "EMULATOR_CREDENTIALS": ".emulator",
    "FAST_POLLING": ".emulator",
    "Emulator": ".emulator",
    "Fault": ".emulator",
    "RecordedRequest": ".emulator",
    "emulator_credentials": ".emulator",
    "Outcome": ".scenario",
    "Scenario": ".scenario",
    "ScenarioError": ".scenario_file",
    "EmulatorThread": ".thread",
    "Registry": "..registry",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home, __name__), name)
    if name != "EMULATOR_CREDENTIALS":  # computed by the emulator module on each access
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
