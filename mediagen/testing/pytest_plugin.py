"""pytest fixture `mediagen_emulator`: a running emulator, torn down after the test.

def test_my_app(mediagen_emulator):
    with mediagen.Client(**mediagen_emulator.client_options()) as client:
        ...
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .emulator import Emulator
from .thread import EmulatorThread


@pytest.fixture
def mediagen_emulator() -> Iterator[Emulator]:
    with EmulatorThread() as emulator:
        yield emulator
