"""Client CPU per call (submit + one poll that finds the task done), mediagen against raw aiohttp.

Peers, in this process, against the same emulator process (so its CPU is not counted):
  raw          aiohttp: POST the submit, POST the poll, read the URLs out of the answer
  mediagen     AsyncClient: submit, then `task.result()` (one poll, the parsed Result), journal off
  +journal     the same with a task journal in a temporary SQLite file

Each peer runs warm (after a warm-up), sequentially and with 64 calls at once, in interleaved
rounds: in each round the three peers run back to back, so a busy moment on a shared machine
falls on all of them alike. The ratios are the medians of the per-round ratios (many short
rounds: one round's ratio is noisy, their median is not); the times are the median CPU per call.
The journal peer's timed part ends once its journal has committed everything its calls queued
(`Journal.flush` inside the clock): its batches, committed up to JOURNAL_FLUSH_DELAY after the
last call, are charged to it, not to the peer whose clock runs next (CPU is the process's,
every thread's).

    python bench/percall.py [calls per round] [rounds]
    python bench/percall.py --count [calls]

`--count` measures what does not depend on the machine's load instead of CPU time: Python
function calls per call (cProfile; a coroutine's every resumption counts), by where they run,
and young garbage collections per 1000 calls (gc.callbacks), raw aiohttp against mediagen,
journal off. The event loop's own share varies by a few calls with timing; the 64-concurrent
collections vary with the interleaving (run it more than once).
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import pstats
import sys
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import _common
import aiohttp

import mediagen
from mediagen.testing import EMULATOR_CREDENTIALS

CONCURRENCY = 64
Call = Callable[[int], Awaitable[None]]


def raw_peer(server: _common.Server, session: aiohttp.ClientSession) -> Call:
    url = server.base_urls()["mediaio"]
    headers = {"X-API-KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"]}

    async def call(i: int) -> None:
        async with session.post(
            f"{url}/generation/imagen/t2i-imagen-4",
            headers=headers,
            json={"data": {"prompt": f"cat {i}"}},
        ) as resp:
            task_id = (await resp.json())["data"]["task_id"]
        async with session.post(
            f"{url}/generation/result/{task_id}", headers=headers, json={}
        ) as resp:
            data = (await resp.json())["data"]
        assert data["status"] == "completed" and data["result"]

    return call


def mediagen_peer(client: mediagen.AsyncClient) -> Call:
    async def call(i: int) -> None:
        task = await client.mediaio.imagen_4(prompt=f"cat {i}")
        result = await task.result()
        assert result.artifacts

    return call


async def cpu_per_call(
    call: Call, calls: int, concurrency: int, settle: Callable[[], None] | None = None
) -> float:
    start, _ = _common.cpu_wall()
    if concurrency == 1:
        for i in range(calls):
            await call(i)
    else:
        gate = asyncio.Semaphore(concurrency)

        async def gated(i: int) -> None:
            async with gate:
                await call(i)

        await asyncio.gather(*(gated(i) for i in range(calls)))
    if settle is not None:
        settle()  # work the peer deferred (the journal's batches) is charged to it
    end, _ = _common.cpu_wall()
    return (end - start) / calls


async def measure(server: _common.Server, calls: int, rounds: int, folder: Path) -> None:
    results: dict[tuple[str, int], list[float]] = {}
    async with (
        aiohttp.ClientSession() as session,
        mediagen.AsyncClient(**server.client_options()) as off,
        mediagen.AsyncClient(**server.client_options(journal=folder / "tasks.sqlite3")) as on,
    ):
        peers = {
            "raw aiohttp": raw_peer(server, session),
            "mediagen": mediagen_peer(off),
            "mediagen +journal": mediagen_peer(on),
        }
        journal = on.journal
        assert journal is not None
        settles = {"mediagen +journal": journal.flush}
        for name, call in peers.items():  # warm-up: connections, caches, imports
            await cpu_per_call(call, 30, 1, settles.get(name))
        for _ in range(rounds):
            for concurrency in (1, CONCURRENCY):
                for name, call in peers.items():
                    cost = await cpu_per_call(call, calls, concurrency, settles.get(name))
                    results.setdefault((name, concurrency), []).append(cost)
    print(f"client CPU per call (submit + one poll), medians of {rounds} rounds of {calls} calls")
    for concurrency in (1, CONCURRENCY):
        label = "sequential" if concurrency == 1 else f"{concurrency} concurrent"
        raw, off, on = (
            results[(name, concurrency)]
            for name in ("raw aiohttp", "mediagen", "mediagen +journal")
        )

        def per_round(a: list[float], b: list[float]) -> str:
            return f"{_common.median([x / y for x, y in zip(a, b, strict=True)]):.2f}x"

        print(
            f"  {label:<14} raw {_common.median(raw) * 1e3:.3f} ms"
            f" | mediagen {_common.median(off) * 1e3:.3f} ms ({per_round(off, raw)} raw)"
            f" | +journal {_common.median(on) * 1e3:.3f} ms"
            f" ({per_round(on, raw)} raw, {per_round(on, off)} journal off)"
        )


def _where(file: str, name: str) -> str:
    """A profile entry's group: mediagen (generated and attrs-made methods included), aiohttp
    (with yarl and multidict), asyncio, C (built-in functions and methods) or other."""
    if file == "~":
        return "C"
    for group, marks in _GROUPS:
        if any(mark in file for mark in marks):
            return group
    return "other"


_GROUPS = (
    ("aiohttp", ("/aiohttp/", "/yarl/", "/multidict/", "/aiosignal/", "/propcache/")),
    ("asyncio", ("/asyncio/", "selectors.py")),
    ("mediagen", ("mediagen", "/generated/", "<attrs generated")),
)


async def count(server: _common.Server, calls: int) -> None:
    async with (
        aiohttp.ClientSession() as session,
        mediagen.AsyncClient(**server.client_options()) as client,
    ):
        peers = {"raw aiohttp": raw_peer(server, session), "mediagen": mediagen_peer(client)}
        for call in peers.values():
            await cpu_per_call(call, 50, 1)
            await cpu_per_call(call, 128, CONCURRENCY)
        print(f"Python function calls per call (cProfile, {calls} sequential calls)")
        for name, call in peers.items():
            profile = cProfile.Profile()
            profile.enable()
            await cpu_per_call(call, calls, 1)
            profile.disable()
            groups: Counter[str] = Counter()
            stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
            for (file, _, function), (_, ncalls, *_rest) in stats.items():
                groups[_where(file, function)] += ncalls
            parts = ", ".join(f"{k} {v / calls:.0f}" for k, v in sorted(groups.items()))
            print(f"  {name:<12} {sum(groups.values()) / calls:.0f} ({parts})")
        print(f"young (generation 0) collections per 1000 calls ({calls} calls)")
        for concurrency in (1, CONCURRENCY):
            shown = []
            for name, call in peers.items():
                young = Counter[int]()

                def seen(phase: str, info: dict[str, int], young: Counter[int] = young) -> None:
                    if phase == "start":
                        young[info["generation"]] += 1

                gc.callbacks.append(seen)
                try:
                    await cpu_per_call(call, calls, concurrency)
                finally:
                    gc.callbacks.remove(seen)
                shown.append(f"{name} {young[0] * 1000 / calls:.0f}")
            label = "sequential" if concurrency == 1 else f"{concurrency} concurrent"
            print(f"  {label:<14} " + " | ".join(shown))


def main() -> None:
    if sys.argv[1:2] == ["--count"]:
        calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
        with _common.server() as server:
            asyncio.run(count(server, calls))
        return
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    with _common.server() as server, tempfile.TemporaryDirectory() as folder:
        asyncio.run(measure(server, calls, rounds, Path(folder)))


if __name__ == "__main__":
    main()
