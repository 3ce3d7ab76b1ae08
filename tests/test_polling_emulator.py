"""Polling that learns, end to end through the emulator (no Retry-After hints, as the real
vendors send none): progress sets the next poll, and a real journal's history moves the first.

Poll counts, not times, are asserted: a slow machine only makes each wait end later, which
never adds polls to a task that finishes on its own clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import mediagen
from mediagen.defaults import HISTORY_MIN
from mediagen.testing import Emulator


def polls(emulator: Emulator, task_id: str) -> int:
    return sum(
        1 for r in emulator.requests if r.phase == "poll" and task_id in repr(r.body) + repr(r.path)
    )


def test_vendor_progress_sends_the_next_poll_to_the_estimated_finish() -> None:
    # Before: initial 0.1 s backing off to 0.5 s polls a 1.2 s task about 5 times.
    schedule = mediagen.PollSchedule(initial=0.1, maximum=0.5, jitter=0.0, first=0.45)

    async def go() -> None:
        async with Emulator(poll_hint=None, duration=1.2) as emulator:
            options = emulator.client_options()
            async with mediagen.AsyncClient(**options, polling=schedule) as client:
                task = await client.tomoviee.text_to_video(prompt="a paper boat")
                seen: list[float | None] = []
                await task.wait(timeout=30, on_progress=lambda s: seen.append(s.progress))
            # First poll once it can be done: running, about 40% through; the next at its
            # estimated finish (capped at twice `maximum`, so at most one more on the way).
            assert seen[0] is not None and 0 < seen[0] < 100
            assert polls(emulator, task.task_id) <= 3

    asyncio.run(go())


def test_a_journal_with_history_moves_the_first_poll_to_the_plausible_finish(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    # Before: with no history, the first poll 0.05 s after the submit, then backing off.
    schedule = mediagen.PollSchedule(initial=0.05, maximum=0.4, jitter=0.0)
    seeding = mediagen.PollSchedule(initial=0.05, maximum=0.05, factor=1.0, learn=False)

    async def go() -> None:
        async with Emulator(poll_hint=None, duration=0.5) as emulator:
            options = {**emulator.client_options(), "journal": str(path)}
            async with mediagen.AsyncClient(**options, polling=seeding) as client:
                handles = [
                    await client.mediaio.imagen_4(prompt="a lighthouse") for _ in range(HISTORY_MIN)
                ]
                await asyncio.gather(*(h.wait(timeout=30) for h in handles))
            # A new client reads the journal: the history says half a second at least.
            async with mediagen.AsyncClient(**options, polling=schedule) as client:
                first = client._engine.first_poll_at("mediaio", "imagen_4", schedule)
                assert first is not None and first >= 0.5
                task = await client.mediaio.imagen_4(prompt="a lighthouse")
                await task.wait(timeout=30)
                # Learnt here too: the next task's estimate holds one more duration.
                recent = client._engine.durations.durations(
                    "mediaio", "imagen_4", client._engine.origin("mediaio")
                )
                assert len(recent) == HISTORY_MIN + 1
            assert polls(emulator, task.task_id) <= 2  # the backoff alone took 5

    asyncio.run(go())
