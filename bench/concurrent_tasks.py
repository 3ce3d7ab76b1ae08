"""N tasks waiting at once (default 10,000): mediagen's engine against a bare aiohttp loop.

Each peer runs in a fresh child process (so its peak RSS is its own) against the same emulator
process (so the emulator's CPU is not counted); all in the same run:
  bare aiohttp     submit, then poll every INTERVAL seconds until done
  mediagen         AsyncClient, the same fixed poll interval, journal off
  mediagen+journal the same with a task journal in a temporary SQLite file

Printed per peer: wall time, CPU time, peak RSS, the longest event-loop stall (how late a 5 ms
sleeper woke), and each against the bare loop.

Each peer opens and closes its client once before the clock starts, so what is measured is the
run, not the imports (the bare loop's aiohttp is imported before its clock too); the journal
peer opens its journal inside the round, and closes it there: closing commits what is queued
and joins the writer thread, so the journal's deferred batches are on its clock. mediagen's
request timeout is aiohttp's default, the
bare loop's (300 s): a submit waits for one of the POOL connections, and 10,000 of them queue.

    python bench/concurrent_tasks.py [N] [task seconds]
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _common
import aiohttp

import mediagen
from mediagen.defaults import PollSchedule, Timeouts
from mediagen.testing import EMULATOR_CREDENTIALS

INTERVAL = 5.0
POOL = 100
PEERS = ("bare aiohttp", "mediagen", "mediagen+journal")


async def bare(base_urls: dict[str, str], n: int, journal: str | None) -> None:
    url = base_urls["mediaio"]
    headers = {"X-API-KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"]}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=POOL)) as session:

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


async def with_mediagen(base_urls: dict[str, str], n: int, journal: str | None) -> None:
    options: dict[str, Any] = {
        "base_urls": base_urls,
        "credentials": EMULATOR_CREDENTIALS,
        "polling": PollSchedule(initial=INTERVAL, maximum=INTERVAL, factor=1.0, jitter=0.0),
        "timeouts": Timeouts(request=aiohttp.ClientTimeout().total or 300.0),
        "journal": journal or False,
    }
    async with mediagen.AsyncClient(**options) as client:

        async def one(i: int) -> None:
            task = await client.mediaio.imagen_4(prompt=f"cat {i}")
            await task.wait(timeout=3600)

        await asyncio.gather(*(one(i) for i in range(n)))


async def warm_up(peer: str, base_urls: dict[str, str]) -> None:
    """Open and close the peer's client: imports (and mediagen's catalog) before the clock."""
    if peer == "bare aiohttp":
        async with aiohttp.ClientSession():
            return
    async with mediagen.AsyncClient(base_urls=base_urls, journal=False) as client:
        client.mediaio  # noqa: B018 - the provider's generated module, imported on first use


async def child_run(peer: str, base_urls: dict[str, str], n: int, journal: str | None) -> None:
    runner = bare if peer == "bare aiohttp" else with_mediagen
    await warm_up(peer, base_urls)
    with _common.StallProbe() as probe:
        cpu, wall = _common.cpu_wall()
        await runner(base_urls, n, journal)
        cpu_end, wall_end = _common.cpu_wall()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux -> MiB
    row = {"wall": wall_end - wall, "cpu": cpu_end - cpu, "rss": rss, "stall": probe.longest}
    print(json.dumps(row))


def child(argv: list[str]) -> None:
    peer, urls, n, journal = argv[0], json.loads(argv[1]), int(argv[2]), argv[3] or None
    asyncio.run(child_run(peer, urls, n, journal))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    duration = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    rows: dict[str, dict[str, float]] = {}
    with _common.server(duration, duration) as server, tempfile.TemporaryDirectory() as tmp:
        for peer in PEERS:
            journal = str(Path(tmp) / "tasks.sqlite3") if peer.endswith("journal") else ""
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    peer,
                    json.dumps(server.base_urls()),
                    str(n),
                    journal,
                ],
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                sys.exit(f"{peer} failed:\n{out.stderr[-3000:]}")
            rows[peer] = json.loads(out.stdout.strip().splitlines()[-1])
            stats = server.stats()
            assert stats["tasks"] == n and len(stats["lags"]) == n, stats
            rows[peer]["polls"] = stats["polls"] / n
    base = rows["bare aiohttp"]
    print(f"{n} tasks of {duration:g} s waiting at once, polled every {INTERVAL:g} s")
    for peer, row in rows.items():
        print(
            f"  {peer:<17} wall {row['wall']:6.2f} s ({_common.ratio(row['wall'], base['wall'])})"
            f"  cpu {row['cpu']:6.2f} s ({_common.ratio(row['cpu'], base['cpu'])})"
            f"  rss {row['rss']:6.1f} MiB ({_common.ratio(row['rss'], base['rss'])})"
            f"  longest stall {row['stall'] * 1e3:6.1f} ms"
            f" ({_common.ratio(row['stall'], base['stall'])})  polls/task {row['polls']:.2f}"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
