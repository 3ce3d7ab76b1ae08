"""The emulator in its own process, so a benchmark's CPU time is the client's alone.

    python bench/_server.py [--low S --high S] [--seed N]

Each task lasts U[low, high] seconds (seeded, so every peer meets the same durations in the
same order). Prints the port on its first line, then serves. On stdin, `stats` prints one JSON
line about the tasks created since the last `stats` (then forgets them): tasks, polls, and for
each finished task its lag (seconds from the moment it was done to the first poll that told
the client so). `quit` (or end of input) stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from typing import Any

from aiohttp import web

from mediagen.catalog.ir import TERMINAL_STATES, Provider
from mediagen.testing import Emulator


class BenchEmulator(Emulator):
    """Random task durations, and per-task poll counts and lags measured where they happen."""

    def __init__(self, *, low: float, high: float, seed: int, **options: Any) -> None:
        super().__init__(duration=low, **options)
        self.poll_hint = None  # the real vendors send no Retry-After on polls: neither do we
        self.low, self.high = low, high
        self.rng = random.Random(seed)
        self.seed = seed
        self.polls: dict[str, int] = {}
        self.seen_done: dict[str, float] = {}

    # The emulator's private hooks; `*rest` takes the arguments newer versions add.
    def _create_task(self, provider: Provider, op: Any, task_id: str, *rest: Any) -> Any:
        created = super()._create_task(provider, op, task_id, *rest)
        self._tasks[task_id].duration = self.rng.uniform(self.low, self.high)
        self.polls[task_id] = 0
        return created

    def _make_files(self, profile: Any, op: Any, stem: str, params: Any) -> dict[str, str]:
        # URLs only: nothing here downloads them, and drawing a PNG per finished task would
        # load this process enough to delay the very polls being measured.
        urls: dict[str, str] = {}
        for index, kind in enumerate(profile.file_kinds(op, params)):
            key = kind if kind not in urls else f"{kind}-{index}"
            urls[key] = f"{self.url}/_files/{stem}-{index}.{kind}"
        return urls

    def _poll(self, route: Any, path_params: dict[str, str], body: Any, *rest: Any) -> web.Response:
        response = super()._poll(route, path_params, body, *rest)
        task_id = route.profile.poll_task_id(body, path_params, *rest)
        if task_id in self.polls:
            self.polls[task_id] += 1
            if task_id not in self.seen_done and self.tasks[task_id].state in TERMINAL_STATES:
                self.seen_done[task_id] = time.monotonic()
        return response

    def stats(self) -> dict[str, Any]:
        lags = [
            self.seen_done[t] - (self._tasks[t].created + self._tasks[t].duration)
            for t in self.seen_done
        ]
        out = {"tasks": len(self.polls), "polls": sum(self.polls.values()), "lags": lags}
        self.polls.clear()
        self.seen_done.clear()
        self._tasks.clear()
        self.tasks.clear()
        self.requests.clear()
        self.rng = random.Random(self.seed)  # the next peer meets the same durations
        return out


async def serve(args: argparse.Namespace) -> None:
    emulator = BenchEmulator(low=args.low, high=args.high, seed=args.seed)
    async with emulator:
        print(emulator.port, flush=True)
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            command = line.strip()
            if command == "stats":
                print(json.dumps(emulator.stats()), flush=True)
            elif not line or command == "quit":
                return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--low", type=float, default=0.0)
    parser.add_argument("--high", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=11)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
