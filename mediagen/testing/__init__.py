"""Test helpers for code that uses mediagen: a local emulator of every provider.

    from mediagen.testing import Emulator

    async with Emulator() as emu:
        async with mediagen.AsyncClient(**emu.client_options()) as client:
            ...

Blocking code and pytest users: `EmulatorThread`, or the `mediagen_emulator` fixture
(enabled automatically when mediagen is installed). What the emulator is told to do (outcomes,
faults, durations, status words) is one `Scenario`, also set by a scenario file or the admin
HTTP API under `/__mediagen__/` (docs/emulator.md).
"""

from typing import Any

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
    "Scenario",
    "ScenarioError",
    "emulator_credentials",
]
