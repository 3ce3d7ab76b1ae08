"""How much does mediagen's engine cost over a bare aiohttp loop, with N tasks waiting at once?

Both sides run in this process against the same local emulator, in the same run:
  baseline  a hand-rolled aiohttp client: submit, then poll every `interval` seconds
  mediagen  AsyncClient: validation, plugins, journal off, the same fixed poll interval

Printed: wall time, CPU time and requests for each, and mediagen / baseline ratios. Absolute
times mean little on a shared machine; the ratios are the result.

    python bench/concurrent_tasks.py [N] [task seconds]
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp

import mediagen
from mediagen.defaults import PollSchedule
from mediagen.testing import Emulator

INTERVAL = 0.1


async def baseline(emu: Emulator, n: int) -> None:
    url = emu.base_urls["mediaio"]
    headers = {"X-API-KEY": emu.credentials["mediaio"]["api_key"]}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

        async def one(i: int) -> None:
            async with session.post(
                f"{url}/generation/imagen/t2i-imagen-4",
                headers=headers,
                json={"data": {"prompt": f"cat {i}"}},
            ) as resp:
                task_id = (await resp.json())["data"]["task_id"]
            while True:
                await asyncio.sleep(INTERVAL)
                async with session.post(
                    f"{url}/generation/result/{task_id}", headers=headers, json={}
                ) as resp:
                    if (await resp.json())["data"]["status"] == "completed":
                        return

        await asyncio.gather(*(one(i) for i in range(n)))


async def with_mediagen(emu: Emulator, n: int) -> None:
    fixed = PollSchedule(initial=INTERVAL, maximum=INTERVAL, factor=1.0, jitter=0.0)
    options = {**emu.client_options(), "polling": fixed, "journal": False}
    async with mediagen.AsyncClient(**options) as client:
        tasks = await asyncio.gather(
            *(client.mediaio.imagen_4(prompt=f"cat {i}") for i in range(n))
        )
        await asyncio.gather(*(t.wait(timeout=600) for t in tasks))


async def measure(label: str, runner, n: int, duration: float) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    async with Emulator(duration=duration) as emu:
        wall, cpu = time.perf_counter(), time.process_time()
        await runner(emu, n)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        requests = len(emu.requests)
    print(f"{label:<9} {n} tasks: wall {wall:7.2f}s  cpu {cpu:7.2f}s  requests {requests}")
    return wall, cpu, requests


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    duration = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    base = asyncio.run(measure("baseline", baseline, n, duration))
    ours = asyncio.run(measure("mediagen", with_mediagen, n, duration))
    print(
        f"ratio (mediagen / baseline): wall {ours[0] / base[0]:.2f}  cpu {ours[1] / base[1]:.2f}  "
        f"requests {ours[2] / base[2]:.2f}"
    )


if __name__ == "__main__":
    main()
