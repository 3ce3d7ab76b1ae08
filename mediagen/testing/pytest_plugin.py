"""pytest fixture `mediagen_emulator`: a running emulator, torn down after the test.

def test_my_app(mediagen_emulator):
    with mediagen.Client(**mediagen_emulator.client_options()) as client:
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .emulator import Emulator


@pytest.fixture
def mediagen_emulator() -> Iterator[Emulator]:
    # Imported here, not when pytest loads its plugins: a test run that never asks for the
    # fixture does not import aiohttp and mediagen for it.
    from .thread import EmulatorThread

    with EmulatorThread() as emulator:
        yield emulator
