"""Client CPU per call (submit + one poll that finds the task done), mediagen against raw aiohttp.

Peers, in this process, against the same emulator process (so its CPU is not counted):
  raw          aiohttp: POST the submit, POST the poll, read the URLs out of the answer
  mediagen     AsyncClient: submit, then `task.result()` (one poll, the parsed Result), journal off
  +journal     the same with a task journal in a temporary SQLite file

Each peer runs warm (after a warm-up), sequentially and with 64 calls at once, in interleaved
rounds; the median CPU per call is compared with raw aiohttp's.

    python bench/percall.py [calls per round] [rounds]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
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


async def cpu_per_call(call: Call, calls: int, concurrency: int) -> float:
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
        for call in peers.values():  # warm-up: connections, caches, imports
            await cpu_per_call(call, 30, 1)
        for _ in range(rounds):
            for concurrency in (1, CONCURRENCY):
                for name, call in peers.items():
                    cost = await cpu_per_call(call, calls, concurrency)
                    results.setdefault((name, concurrency), []).append(cost)
    print(f"client CPU per call (submit + one poll), median of {rounds} rounds of {calls} calls")
    for concurrency in (1, CONCURRENCY):
        label = "sequential" if concurrency == 1 else f"{concurrency} concurrent"
        raw = _common.median(results[("raw aiohttp", concurrency)])
        off = _common.median(results[("mediagen", concurrency)])
        on = _common.median(results[("mediagen +journal", concurrency)])
        print(
            f"  {label:<14} raw {raw * 1e3:.3f} ms | mediagen {off * 1e3:.3f} ms"
            f" ({_common.ratio(off, raw)} raw) | +journal {on * 1e3:.3f} ms"
            f" ({_common.ratio(on, raw)} raw, {_common.ratio(on, off)} journal off)"
        )


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with _common.server() as server, tempfile.TemporaryDirectory() as folder:
        asyncio.run(measure(server, calls, rounds, Path(folder)))


if __name__ == "__main__":
    main()
