"""Test helpers for code that uses mediagen: a local emulator of every provider.

    from mediagen.testing import Emulator

    async with Emulator() as emu:
        async with mediagen.AsyncClient(**emu.client_options()) as client:
            ...

Blocking code and pytest users: `EmulatorThread`, or the `mediagen_emulator` fixture
(enabled automatically when mediagen is installed).
"""

from typing import Any

from .emulator import FAST_POLLING, Emulator, Fault, RecordedRequest, emulator_credentials
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
    "RecordedRequest",
    "emulator_credentials",
]
