"""What the benchmarks share: the emulator process, client options for it, a loop-stall probe,
and ratio formatting. Absolute numbers mean little on a shared machine; ratios are the result."""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mediagen.testing import EMULATOR_CREDENTIALS

HERE = Path(__file__).resolve().parent
PROVIDERS = ("mediaio", "tomoviee", "edrawmax")


class Server:
    """bench/_server.py in a child process (see its docstring)."""

    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def base_urls(self) -> dict[str, str]:
        return {name: f"{self.url}/{name}" for name in PROVIDERS}

    def client_options(self, **extra: Any) -> dict[str, Any]:
        """AsyncClient options for this server; the journal off unless `extra` says otherwise."""
        return {
            "base_urls": self.base_urls(),
            "credentials": EMULATOR_CREDENTIALS,
            "journal": False,
            **extra,
        }

    def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))


@contextmanager
def server(low: float = 0.0, high: float = 0.0, seed: int = 11) -> Iterator[Server]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "_server.py"),
            f"--low={low}",
            f"--high={high}",
            f"--seed={seed}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield Server(proc, int(proc.stdout.readline()))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class StallProbe:
    """The longest time the event loop was late waking a 5 ms sleeper: how long it was blocked."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.period)
            self.longest = max(self.longest, loop.time() - start - self.period)

    def __enter__(self) -> StallProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def ratio(ours: float, peer: float) -> str:
    return f"{ours / peer:.2f}x" if peer > 0 else "n/a"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def cpu_wall() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()
