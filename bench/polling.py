"""Polls per task and lag (task done -> the client knows), mediagen against fixed-interval loops.

200 tasks at once, each lasting U[10, 40] s, time-compressed: every duration and interval is
divided by SCALE (2 unless given) so a run takes minutes, not hours; lags are printed scaled
back to real seconds. Compressed alike: the emulator's durations, the fixed loops' intervals,
mediagen's `initial`, `maximum` and `first`, and the history (its tasks ran compressed, so the
journal holds compressed durations); quantiles, `factor` and `jitter` have no unit. What is
not compressed is the machine's own latency (answers, wake-ups), which so weighs SCALE times
more than in real use, for every peer alike. A stronger compression on a loaded machine mostly
measures how late the busy client wakes up, not the polling. The
emulator (its own process) counts each task's polls and measures its lag where it happens.

Three scenarios, each against its peers in the same run, on the same seeded durations:
  no history     Media.io imagen_4, a fresh client: the output kind's defaults
  history        Media.io imagen_4 with a real journal file that already holds 50 finished
                 tasks of the operation (run first through mediagen polling every second,
                 not counted)
  progress       Tomoviee text_to_video, whose polls report `progress`

Peers:
  fixed 5 s    the vendor docs' loop in plain aiohttp: sleep 5 s, poll, repeat until done
  fixed 10 s   the Tomoviee vendor scripts' loop
  mediagen     AsyncClient's own schedule for the operation (time-compressed likewise)

    python bench/polling.py [tasks] [scale] [scenario ...]
"""

from __future__ import annotations

import asyncio
import base64
import sys
import tempfile
from pathlib import Path
from typing import Any

import _common
import aiohttp
import attrs

import mediagen
from mediagen.testing import EMULATOR_CREDENTIALS

LOW, HIGH = 10.0, 40.0
OPERATIONS = {
    "mediaio": ("imagen_4", {"prompt": "a lighthouse"}),
    "tomoviee": ("text_to_video", {"prompt": "a paper boat"}),
}


async def run(
    server: _common.Server,
    provider: str,
    tasks: int,
    polling: Any,
    journal: Path | None = None,
    schedule: mediagen.PollSchedule | None = None,
) -> dict[str, Any]:
    operation, params = OPERATIONS[provider]
    if polling is not None:
        await asyncio.gather(*(fixed_loop(server, provider, polling) for _ in range(tasks)))
        return server.stats()
    options = server.client_options(journal=str(journal) if journal else False)
    async with mediagen.AsyncClient(**options) as client:
        if schedule is None:  # mediagen's own schedule, compressed like everything else
            schedule = client._engine.schedule(provider, operation)
            first = None if schedule.first is None else schedule.first / SCALE
            schedule = attrs.evolve(
                schedule,
                initial=schedule.initial / SCALE,
                maximum=schedule.maximum / SCALE,
                first=first,
            )
        client = client.with_options(polling=schedule)
        method = getattr(getattr(client, provider), operation)
        handles = await asyncio.gather(*(method(**params) for _ in range(tasks)))
        await asyncio.gather(*(h.wait(timeout=HIGH * 10) for h in handles))
    return server.stats()


SESSION: aiohttp.ClientSession | None = None


async def fixed_loop(server: _common.Server, provider: str, interval: float) -> None:
    """The vendor scripts' way: submit, then sleep `interval` and poll until a final state."""
    global SESSION
    if SESSION is None or SESSION.closed:
        SESSION = aiohttp.ClientSession()
    url = server.base_urls()[provider]
    if provider == "mediaio":
        headers = {"X-API-KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"]}
        submit = (f"{url}/generation/imagen/t2i-imagen-4", {"data": {"prompt": "a lighthouse"}})
        done = {"completed", "failed", "timeout"}
    else:
        creds = EMULATOR_CREDENTIALS["tomoviee"]
        token = base64.b64encode(f"{creds['app_key']}:{creds['app_secret']}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", "X-App-Key": creds["app_key"]}
        submit = (f"{url}/v1/open/capacity/application/tm_text2video_b", {"prompt": "a boat"})
        done = {3, 4, 5, 6, "3", "4", "5", "6"}
    async with SESSION.post(submit[0], headers=headers, json=submit[1]) as resp:
        task_id = (await resp.json())["data"]["task_id"]
    while True:
        await asyncio.sleep(interval)
        if provider == "mediaio":
            poll = SESSION.post(f"{url}/generation/result/{task_id}", headers=headers, json={})
        else:
            poll = SESSION.post(
                f"{url}/v1/open/pub/task", headers=headers, json={"task_id": task_id}
            )
        async with poll as resp:
            if (await resp.json())["data"]["status"] in done:
                return


def summary(stats: dict[str, Any]) -> tuple[float, float]:
    lags = [lag * SCALE for lag in stats["lags"]]
    assert len(lags) == stats["tasks"], "every task must have been seen finished"
    return stats["polls"] / stats["tasks"], _common.p95(lags)


SCENARIOS = {
    # name: (provider, peers' intervals, finished tasks seeded into the journal first)
    "no-history": ("mediaio", (5.0,), 0),
    "history": ("mediaio", (5.0,), 50),
    "progress": ("tomoviee", (5.0, 10.0), 0),
}


async def measure(server: _common.Server, tasks: int, folder: Path, scenarios: list[str]) -> None:
    print(f"polling: {tasks} tasks lasting U[{LOW:g}, {HIGH:g}] s, time compressed {SCALE:g}x")
    for scenario in scenarios:
        provider, intervals, seeded = SCENARIOS[scenario]
        journal = None
        if seeded:
            journal = folder / f"{scenario}.sqlite3"
            # Earlier work: tasks polled every second, which the journal keeps (not counted).
            every_second = mediagen.PollSchedule(1 / SCALE, 1 / SCALE, factor=1.0, learn=False)
            await run(server, provider, seeded, None, journal, every_second)
        rows = {
            f"fixed {interval:g} s": summary(await run(server, provider, tasks, interval / SCALE))
            for interval in intervals
        }
        rows["mediagen"] = summary(await run(server, provider, tasks, None, journal))
        base_polls, base_lag = rows["fixed 5 s"]
        for name, (polls, lag) in rows.items():
            print(
                f"  {scenario:<10} {provider:<9} {name:<11} polls/task {polls:5.2f}"
                f" ({_common.ratio(polls, base_polls)} the 5 s loop's)"
                f"  lag p95 {lag:5.2f} s ({_common.ratio(lag, base_lag)})"
            )


SCALE = 2.0


def main() -> None:
    global SCALE
    tasks = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    SCALE = float(sys.argv[2]) if len(sys.argv) > 2 else SCALE
    scenarios = sys.argv[3:] or list(SCENARIOS)
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        sys.exit(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)}")
    with _common.server(LOW / SCALE, HIGH / SCALE) as server:
        asyncio.run(measure_all(server, tasks, scenarios))


async def measure_all(server: _common.Server, tasks: int, scenarios: list[str]) -> None:
    try:
        # The journal in memory-backed storage where there is one: this measures polling, and
        # the disk of a shared machine would only add noise.
        shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
        with tempfile.TemporaryDirectory(prefix="mediagen-bench-", dir=shm) as folder:
            await measure(server, tasks, Path(folder), scenarios)
    finally:
        if SESSION is not None:
            await SESSION.close()


if __name__ == "__main__":
    main()
