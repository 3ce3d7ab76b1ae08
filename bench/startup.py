"""Start-up: CLI commands that send no request, and import -> first finished call, cold.

Peers, in the same run, each a fresh interpreter (the median of REPEAT runs):
  python -c "import aiohttp"   against `mediagen --help`, `list`, `describe`, `tasks`, `plugins`
  import aiohttp + one call    against import mediagen + one call (submit, poll, Result), timed
                               inside the child from before its first import to the result

    python bench/startup.py [repeat]

The children write and read bytecode caches (an installed package has its bytecode compiled,
as aiohttp's is, whatever PYTHONDONTWRITEBYTECODE says here), and one untimed round runs first
to compile it: "cold" is a fresh interpreter, not a fresh install. `tasks` lists a journal
holding one finished task (made before the first round).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

from mediagen.testing import EMULATOR_CREDENTIALS

MEDIAGEN = shutil.which("mediagen", path=str(Path(sys.executable).parent)) or "mediagen"
API_KEY = EMULATOR_CREDENTIALS["mediaio"]["api_key"]

FIRST_CALL_AIOHTTP = """
import time; start = time.perf_counter()
import asyncio, json, sys, aiohttp
async def main(url, key):
    headers = {"X-API-KEY": key}
    async with aiohttp.ClientSession() as session:
        async with session.post(url + "/generation/imagen/t2i-imagen-4", headers=headers,
                                json={"data": {"prompt": "a cat"}}) as resp:
            task_id = (await resp.json())["data"]["task_id"]
        async with session.post(url + "/generation/result/" + task_id, headers=headers,
                                json={}) as resp:
            assert (await resp.json())["data"]["result"]
asyncio.run(main(sys.argv[1], sys.argv[2]))
print(time.perf_counter() - start)
"""

FIRST_CALL_MEDIAGEN = """
import time; start = time.perf_counter()
import asyncio, sys, mediagen
async def main(url, key):
    options = {"base_urls": {"mediaio": url}, "mediaio_api_key": key, "journal": False}
    async with mediagen.AsyncClient(**options) as client:
        task = await client.mediaio.imagen_4(prompt="a cat")
        assert (await task.result()).artifacts
asyncio.run(main(sys.argv[1], sys.argv[2]))
print(time.perf_counter() - start)
"""

# One finished task in a journal for `mediagen tasks` to list (run once, untimed).
JOURNALED_CALL = """
import asyncio, sys, mediagen
async def main(url, key, journal):
    options = {"base_urls": {"mediaio": url}, "mediaio_api_key": key, "journal": journal}
    async with mediagen.AsyncClient(**options) as client:
        task = await client.mediaio.imagen_4(prompt="a cat")
        await task.result()
asyncio.run(main(*sys.argv[1:]))
"""

ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "MEDIAGEN_JOURNAL": "off",
}


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - start


def inner(code: str, *args: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True, env=ENV
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    os.chdir("/")  # the installed package, never the checkout's folders
    peer = [sys.executable, "-c", "import aiohttp"]
    with tempfile.TemporaryDirectory(prefix="mediagen-bench-") as tmp, _common.server() as server:
        journal = str(Path(tmp) / "tasks.sqlite3")
        commands = {
            "mediagen --help": [MEDIAGEN, "--help"],
            "mediagen list": [MEDIAGEN, "list"],
            "mediagen describe": [MEDIAGEN, "describe", "mediaio", "imagen_4"],
            "mediagen tasks": [MEDIAGEN, "tasks", "--journal", journal],
            "mediagen plugins": [MEDIAGEN, "plugins"],
        }
        url = server.base_urls()["mediaio"]
        subprocess.run(
            [sys.executable, "-c", JOURNALED_CALL, url, API_KEY, journal], check=True, env=ENV
        )
        times: dict[str, list[float]] = {name: [] for name in ("import aiohttp", *commands)}
        calls: dict[str, list[float]] = {"aiohttp": [], "mediagen": []}
        for round_ in range(repeat + 1):  # interleaved, so a busy moment hits every peer alike
            timed = round_ > 0  # the first round compiles bytecode and warms the file cache
            for name, argv in {"import aiohttp": peer, **commands}.items():
                took = wall(argv)
                if timed:
                    times[name].append(took)
            for name, code in (("aiohttp", FIRST_CALL_AIOHTTP), ("mediagen", FIRST_CALL_MEDIAGEN)):
                took = inner(code, url, API_KEY)
                if timed:
                    calls[name].append(took)
    base = _common.median(times["import aiohttp"])
    print(f"start-up, median of {repeat} cold runs")
    for name, values in times.items():
        value = _common.median(values)
        print(f"  {name:<20} {value * 1e3:6.0f} ms ({_common.ratio(value, base)} import aiohttp)")
    raw, ours = _common.median(calls["aiohttp"]), _common.median(calls["mediagen"])
    print(
        f"  import -> first finished call: aiohttp {raw * 1e3:.0f} ms, mediagen {ours * 1e3:.0f} ms"
        f" ({_common.ratio(ours, raw)})"
    )


if __name__ == "__main__":
    main()
