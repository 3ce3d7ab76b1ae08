"""Start-up: CLI commands that send no request, and import -> first finished call, cold.

Peers, in the same run, each a fresh interpreter (the median of REPEAT runs):
  python -c "import aiohttp"   against `mediagen --help`, `mediagen list`, `mediagen describe`
  import aiohttp + one call    against import mediagen + one call (submit, poll, Result), timed
                               inside the child from before its first import to the result

    python bench/startup.py [repeat]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _common

MEDIAGEN = shutil.which("mediagen", path=str(Path(sys.executable).parent)) or "mediagen"
COMMANDS = {
    "mediagen --help": [MEDIAGEN, "--help"],
    "mediagen list": [MEDIAGEN, "list"],
    "mediagen describe": [MEDIAGEN, "describe", "mediaio", "imagen_4"],
}

FIRST_CALL_AIOHTTP = """
import time; start = time.perf_counter()
import asyncio, json, sys, aiohttp
async def main(url):
    headers = {"X-API-KEY": "emulator-mediaio-api_key"}
    async with aiohttp.ClientSession() as session:
        async with session.post(url + "/generation/imagen/t2i-imagen-4", headers=headers,
                                json={"data": {"prompt": "a cat"}}) as resp:
            task_id = (await resp.json())["data"]["task_id"]
        async with session.post(url + "/generation/result/" + task_id, headers=headers,
                                json={}) as resp:
            assert (await resp.json())["data"]["result"]
asyncio.run(main(sys.argv[1]))
print(time.perf_counter() - start)
"""

FIRST_CALL_MEDIAGEN = """
import time; start = time.perf_counter()
import asyncio, sys, mediagen
async def main(url):
    options = {"base_urls": {"mediaio": url}, "mediaio_api_key": "emulator-mediaio-api_key",
               "journal": False}
    async with mediagen.AsyncClient(**options) as client:
        task = await client.mediaio.imagen_4(prompt="a cat")
        assert (await task.result()).artifacts
asyncio.run(main(sys.argv[1]))
print(time.perf_counter() - start)
"""


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - start


def inner(code: str, url: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code, url], check=True, capture_output=True, text=True, env=ENV
    )
    return float(out.stdout.strip().splitlines()[-1])


ENV = {**os.environ, "MEDIAGEN_JOURNAL": "off"}


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    os.chdir("/")  # the installed package, never the checkout's folders
    peer = [sys.executable, "-c", "import aiohttp"]
    times: dict[str, list[float]] = {name: [] for name in ("import aiohttp", *COMMANDS)}
    calls: dict[str, list[float]] = {"aiohttp": [], "mediagen": []}
    with _common.server() as server:
        url = server.base_urls()["mediaio"]
        for _ in range(repeat):  # interleaved, so a busy moment hits every peer alike
            times["import aiohttp"].append(wall(peer))
            for name, argv in COMMANDS.items():
                times[name].append(wall(argv))
            calls["aiohttp"].append(inner(FIRST_CALL_AIOHTTP, url))
            calls["mediagen"].append(inner(FIRST_CALL_MEDIAGEN, url))
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
