"""Run an Emulator on its own thread, for blocking code and for the pytest fixture."""

from __future__ import annotations

from typing import Any

from ..loop import LoopThread
from .emulator import Emulator


class EmulatorThread:
    """`with EmulatorThread() as emu: ...` starts the emulator on a private loop thread."""

    def __init__(self, **options: Any) -> None:
        self._loop = LoopThread("mediagen-emulator")
        self.emulator: Emulator = self._loop.run(_make(options))

    def __enter__(self) -> Emulator:
        return self.emulator

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._loop.run(self.emulator.stop())
        finally:
            self._loop.close()


async def _make(options: dict[str, Any]) -> Emulator:
    return await Emulator(**options).start()
