"""Test helpers for code that uses mediagen: a local emulator of every provider.

    from mediagen.testing import Emulator

    async with Emulator() as emu:
        async with mediagen.AsyncClient(**emu.client_options()) as client:
            ...

Blocking code and pytest users: `EmulatorThread`, or the `mediagen_emulator` fixture
(enabled automatically when mediagen is installed).
"""

from .emulator import (
    EMULATOR_CREDENTIALS,
    FAST_POLLING,
    Emulator,
    Fault,
    RecordedRequest,
    emulator_credentials,
)
from .thread import EmulatorThread

__all__ = [
    "EMULATOR_CREDENTIALS",
    "FAST_POLLING",
    "Emulator",
    "EmulatorThread",
    "Fault",
    "RecordedRequest",
    "emulator_credentials",
]
